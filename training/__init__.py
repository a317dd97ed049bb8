"""Offline training for the sentiment models (never packaged into a Lambda layer or function).

Run ``python -m training --help``. One job per module: corpus (fetch, verify, decode),
dataset (normalise, de-duplicate, split), pipelines (the versioned scikit-learn pipelines),
evaluate (held-out metrics), bench/probe (fresh-process load and predict timing),
manifest, card (MODEL_CARD.md + confusion matrix), train (atomic publish), cli.
"""

import sys
from pathlib import Path

# Training reuses the service's own loading contract (serving.artifacts) so the two can never
# disagree about what a valid version folder is.
_INFERENCE = str(Path(__file__).resolve().parents[1] / "functions" / "inference")
if _INFERENCE not in sys.path:
    sys.path.insert(0, _INFERENCE)
