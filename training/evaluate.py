"""Held-out metrics, the manifest's ``metrics`` (floats kept exact so reruns compare equal)."""

from __future__ import annotations

from collections.abc import Sequence

from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

from serving.manifest import ClassMetrics, ConfusionMatrix, Metrics


def evaluate(y_true: Sequence[str], y_pred: Sequence[str], labels: Sequence[str]) -> Metrics:
    labels = tuple(labels)
    precision, recall, f1, support = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    matrix = confusion_matrix(y_true, y_pred, labels=labels).tolist()
    return Metrics(
        accuracy=float(accuracy_score(y_true, y_pred)),
        macro_f1=float(f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)),
        weighted_f1=float(f1_score(y_true, y_pred, labels=labels, average="weighted", zero_division=0)),
        per_class={
            label: ClassMetrics(
                precision=float(precision[i]), recall=float(recall[i]), f1=float(f1[i]), support=int(support[i])
            )
            for i, label in enumerate(labels)
        },
        # rows = true label, columns = predicted label, both in `labels` order
        confusion_matrix=ConfusionMatrix(labels=labels, matrix=tuple(tuple(row) for row in matrix)),
    )
