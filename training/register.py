"""Register a user's own scikit-learn pipeline (saved with joblib) as a new, immutable model version.

    python -m training register --artifact PATH.joblib --version vN [--models-dir DIR]

Everything that unpickles the file runs in a clean interpreter (training/inspect_pipeline.py):
it must load there, answer ``predict_proba`` on a list of strings with labels from ``classes_``,
and it gets the fast export (model.ltm) only when the exported file reproduces it. This process
only moves bytes: the folder is built in a staging directory, verified through the service's own
loader, and renamed into place. A refusal writes nothing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from serving.artifacts import ARTIFACT_FILE, PIPELINE_FILE, is_valid_version
from serving.linear_text import FORMAT
from serving.manifest import SCHEMA_VERSION, FastPath, KnownAnswers, Manifest, PipelineInfo, Runtime, Source
from serving.runtimes import SKLEARN_FORMAT
from training import bench, card, manifest
from training.inspect_pipeline import REFUSED

REPO_ROOT = Path(__file__).resolve().parents[1]
# Texts the pipeline must answer: real tweets, plus shapes the service lets through.
ODD_TEXTS = ["ok", "!!!", "ça va très bien 😀", "a" * 2000, "12345", "@user http://t.co/x #tag"]


class RegistrationError(RuntimeError):
    """The file cannot become a version; the message says why. Nothing was written."""


def _child(mode: str, request: dict[str, Any]) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-m", "training.inspect_pipeline", mode],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        check=False,
    )
    if result.returncode == REFUSED:
        raise RegistrationError(json.loads(result.stdout)["error"])
    if result.returncode != 0:
        tail = "\n".join(result.stderr.strip().splitlines()[-5:])
        raise RegistrationError(f"checking the file crashed the checking process:\n{tail}")
    answer: dict[str, Any] = json.loads(result.stdout)
    return answer


def _summary(pipeline: PipelineInfo) -> str:
    steps = " -> ".join(cls.rsplit(".", 1)[-1] for cls in pipeline.classes)
    return f"registered scikit-learn model: {steps}"


def register(artifact: Path, version: str, models_dir: Path, log: Any = print) -> Path:
    if not is_valid_version(version):
        raise RegistrationError(f"{version!r} is not a version like v3")
    target = models_dir / version
    if target.exists():
        raise RegistrationError(f"version {version} already exists in {models_dir}: a published version is immutable")
    if not artifact.is_file():
        raise RegistrationError(f"no file at {artifact}")
    models_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".staging-{version}-", dir=models_dir.parent))
    try:
        version_dir = staging / version
        version_dir.mkdir()
        pickled = version_dir / PIPELINE_FILE
        shutil.copyfile(artifact, pickled)  # byte for byte: the bytes checked are the bytes served
        texts = bench.bench_texts(200) + ODD_TEXTS
        facts = _child("inspect", {"artifact": str(pickled), "texts": texts, "out_dir": str(version_dir)})
        # The clean process's facts arrive as JSON: validated into the manifest's own sections here.
        runtime = Runtime.model_validate(facts["runtime"])
        pipeline = PipelineInfo.model_validate(facts["pipeline"])
        fast = FastPath.model_validate(facts["fast_path"])
        # The scikit-learn the file loaded with in the clean process, not this one's.
        pickle_ref = manifest.artifact_ref(pickled, SKLEARN_FORMAT, saved_with=runtime.scikit_learn)
        if fast.exported:
            primary, fallback = manifest.artifact_ref(version_dir / ARTIFACT_FILE, FORMAT), pickle_ref
        else:
            primary, fallback = pickle_ref, None
        document = Manifest(
            version=version,
            schema_version=SCHEMA_VERSION,
            created=manifest.utc_now(),
            summary=_summary(pipeline),
            artifact=primary,
            fallback_artifact=fallback,
            source=Source(registered_from=artifact.name, sha256=pickle_ref.sha256),
            runtime=runtime,
            labels=tuple(facts["labels"]),
            pipeline=pipeline,
            fast_path=fast,
            known_answers=KnownAnswers.model_validate(facts["known_answers"]),
            metrics=None,  # registration has no labelled data: evaluate before you route traffic to it
        )
        manifest.write_manifest(version_dir, document)
        (version_dir / card.CARD_FILE).write_text(card.render_registered_card(document), encoding="utf-8")
        checked = _child("verify", {"models_dir": str(staging), "version": version})
        if target.exists():
            raise RegistrationError(f"version {version} appeared in {models_dir} while registering")
        os.rename(version_dir, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    how = "fast path (model.ltm) with the pipeline as fallback" if fast.exported else "scikit-learn runtime"
    log(f"{version}: registered {artifact.name} as {target}, served by the {how}; verified: {checked['formats']}")
    if not fast.exported:
        log(f"{version}: no fast path: {fast.reason}")
    return target
