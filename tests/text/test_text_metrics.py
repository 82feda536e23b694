"""compute_metrics against values worked out by hand."""

from __future__ import annotations

import pytest

from safeguard.eval.metrics import compute_metrics


def test_confusion_matrix_and_rates_by_hand() -> None:
    labels = [1, 1, 1, 0, 0, 0, 0, 1]
    scores = [0.9, 0.8, 0.3, 0.7, 0.2, 0.1, 0.4, 0.6]
    m = compute_metrics(labels, scores, threshold=0.5)
    # predicted 1: 0.9(1) 0.8(1) 0.7(0) 0.6(1) -> tp 3, fp 1; predicted 0: 0.3(1) -> fn 1, tn 3
    assert (m.tp, m.fp, m.tn, m.fn) == (3, 1, 3, 1)
    assert (m.examples, m.positives, m.threshold) == (8, 4, 0.5)
    assert m.precision == pytest.approx(0.75)
    assert m.recall == pytest.approx(0.75)
    assert m.f1 == pytest.approx(0.75)
    assert m.f05 == pytest.approx(0.75)
    # ROC-AUC: of 16 (pos, neg) pairs the positive outranks the negative in 13:
    # pos 0.3 loses to neg 0.7 and 0.4, pos 0.6 loses to neg 0.7.
    assert m.roc_auc == pytest.approx(13 / 16)
    # Average precision: ranks 1 (0.9,+) 2 (0.8,+) 3 (0.7,-) 4 (0.6,+) 5 (0.4,-) 6 (0.3,+)
    # precision at each positive: 1, 1, 3/4, 4/6 -> mean over the 4 positives.
    assert m.pr_auc == pytest.approx((1 + 1 + 3 / 4 + 4 / 6) / 4)


def test_f_beta_weights_precision() -> None:
    # tp 1, fp 0, fn 3: precision 1, recall 0.25
    m = compute_metrics([1, 1, 1, 1, 0], [0.9, 0.1, 0.1, 0.1, 0.0], threshold=0.5)
    assert m.precision == 1.0 and m.recall == pytest.approx(0.25)
    assert m.f1 == pytest.approx(2 * 1 * 0.25 / 1.25)
    assert m.f05 == pytest.approx(1.25 * 0.25 / (0.25 * 1 + 0.25))
    assert m.f05 > m.f1


def test_threshold_is_inclusive() -> None:
    m = compute_metrics([1, 0], [0.5, 0.49], threshold=0.5)
    assert (m.tp, m.fp, m.tn, m.fn) == (1, 0, 1, 0)
    assert m.roc_auc == 1.0 and m.pr_auc == 1.0


def test_one_class_has_no_auc_and_nothing_predicted_is_zero() -> None:
    m = compute_metrics([0, 0, 0], [0.1, 0.2, 0.3], threshold=0.5)
    assert m.roc_auc is None and m.pr_auc is None
    assert m.precision == 0.0 and m.recall == 0.0 and m.f1 == 0.0 and m.f05 == 0.0
    assert m.tn == 3


def test_to_dict_keys() -> None:
    d = compute_metrics([1, 0], [0.9, 0.1], 0.5).to_dict()
    assert set(d) == {
        "examples",
        "positives",
        "threshold",
        "roc_auc",
        "pr_auc",
        "precision",
        "recall",
        "f1",
        "f05",
        "tp",
        "fp",
        "tn",
        "fn",
    }
