"""Offline training for the sentiment models (never packaged into a Lambda layer or function).

Run ``python -m training --help``. One job per module: corpus (fetch, verify, decode),
dataset (normalise, de-duplicate, split), pipelines (the versioned scikit-learn pipelines),
evaluate (held-out metrics), bench/probe (fresh-process load and predict timing),
manifest, card (MODEL_CARD.md + confusion matrix), train (atomic publish), cli.

Training reuses the service's own loading contract (serving.artifacts, importable once the project is
installed: `pip install -e .`) so the two can never disagree about what a valid version folder is.
"""
