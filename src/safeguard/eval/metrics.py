"""Detection quality metrics shared by ``safeguard eval`` and the benchmarks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class Metrics:
    """Ranking quality and quality at one threshold."""

    examples: int
    positives: int
    threshold: float
    roc_auc: float | None
    pr_auc: float | None
    precision: float
    recall: float
    f1: float
    f05: float
    tp: int
    fp: int
    tn: int
    fn: int

    def to_dict(self) -> dict[str, float | int | None]:
        return asdict(self)


def _f_beta(precision: float, recall: float, beta: float) -> float:
    if precision == 0 and recall == 0:
        return 0.0
    b2 = beta * beta
    return (1 + b2) * precision * recall / (b2 * precision + recall)


def compute_metrics(labels: Sequence[int], scores: Sequence[float], threshold: float) -> Metrics:
    """ROC-AUC, PR-AUC (average precision), P/R/F1/F0.5 and the confusion matrix."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    y = np.asarray(labels, dtype=np.int64)
    s = np.asarray(scores, dtype=np.float64)
    both = len(set(y.tolist())) == 2
    predicted = s >= threshold
    tp = int(np.sum(predicted & (y == 1)))
    fp = int(np.sum(predicted & (y == 0)))
    tn = int(np.sum(~predicted & (y == 0)))
    fn = int(np.sum(~predicted & (y == 1)))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    return Metrics(
        examples=len(y),
        positives=int(y.sum()),
        threshold=threshold,
        roc_auc=float(roc_auc_score(y, s)) if both else None,
        pr_auc=float(average_precision_score(y, s)) if both else None,
        precision=precision,
        recall=recall,
        f1=_f_beta(precision, recall, 1.0),
        f05=_f_beta(precision, recall, 0.5),
        tp=tp,
        fp=fp,
        tn=tn,
        fn=fn,
    )
