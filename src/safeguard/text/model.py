"""``safeguard train``: a linear grooming model chosen by cross-validation, saved as one
inspectable safetensors file.

Features are tf-idf (sublinear tf) word 1-2-grams and character 2-5-grams of the
*normalised* text, hashed, each block L2-normalised: evasions fold before the
model sees them, and nothing depends on English, so a platform in Germany trains
on German chat. Candidates, compared by stratified cross-validation on the
training data only (out-of-fold F1 at each candidate's best threshold):

- ``logistic``: logistic regression (the textbook baseline);
- ``svm``: a linear SVM, its decision values mapped to probabilities by Platt
  scaling fitted on out-of-fold values;
- ``nbsvm``: logistic regression on features scaled by their naive-Bayes
  log-count ratio (Wang and Manning, 2012), strong on short texts;
- ``logistic+lexicon``: logistic regression with the default detector's scores
  (its log-odds, child presence, tactic similarity) as three scaled extra
  features, for when the hand-written knowledge adds to the platform's data.

Each is tried over a small C grid; the winner is refit on all the data. Every
candidate is linear in the n-gram counts, so a conversation is scored as it
streams: the state keeps each block's running dot product and norm.

The file holds only arrays and a JSON header (``safetensors``): loading it
cannot execute code, unlike pickle/joblib. The header says which candidate won,
the cross-validated table and why.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import sparse

from safeguard.errors import InputError
from safeguard.text.normalize import normalize

if TYPE_CHECKING:
    from safeguard.text.state import ConversationState

FORMAT_NAME = "safeguard-grooming-linear"
FORMAT_VERSION = "2"
WORD_FEATURES = 2**19
CHAR_FEATURES = 2**20
LEXICON_NAMES: tuple[str, ...] = ("default_logit", "child_presence", "tactic_similarity")
CANDIDATES = ("logistic", "svm", "nbsvm", "logistic+lexicon")
C_GRID: dict[str, tuple[float, ...]] = {
    "logistic": (4.0, 16.0, 64.0),
    "svm": (0.1, 0.5, 2.0),
    "nbsvm": (1.0, 4.0, 16.0),
    "logistic+lexicon": (4.0, 16.0, 64.0),
}
NB_ALPHA = 1.0
LEXICON_SCALE = 0.25  # the lexicon scores' standard deviation once scaled


def _vectorizers() -> tuple[Any, Any]:
    from sklearn.feature_extraction.text import HashingVectorizer

    word = HashingVectorizer(
        analyzer="word",
        ngram_range=(1, 2),
        token_pattern=r"(?u)\b\w+\b",
        lowercase=False,
        n_features=WORD_FEATURES,
        alternate_sign=False,
        norm=None,
        dtype=np.float32,
    )
    char = HashingVectorizer(
        analyzer="char_wb",
        ngram_range=(2, 5),
        lowercase=False,
        n_features=CHAR_FEATURES,
        alternate_sign=False,
        norm=None,
        dtype=np.float32,
    )
    return word, char


_STREAMING: tuple[Any, Any] | None = None


def _streaming_vectorizers() -> tuple[Any, Any]:
    global _STREAMING
    if _STREAMING is None:
        _STREAMING = _vectorizers()
    return _STREAMING


def lexicon_features(state: ConversationState) -> list[float]:
    """The default detector's view of a state, in ``LEXICON_NAMES`` order."""
    from safeguard.text.scoring import author_logit

    authors = state.authors() or [""]
    logits = [
        author_logit(state.cues_of(a), state.context_of(a), 0.0, state.similarity_of(a)) for a in authors
    ]
    similarity = max((state.similarity_of(a) for a in authors), default=0.0)
    return [max(logits) / 5.0, state.child_context, similarity]


def _tfidf_rows(counts: sparse.csr_matrix, idf: np.ndarray) -> sparse.csr_matrix:
    """Sublinear tf times idf, each row L2-normalised."""
    out = counts.astype(np.float32).tocsr(copy=True)
    out.data = (1.0 + np.log(out.data)) * idf[out.indices]
    norms = np.sqrt(np.asarray(out.multiply(out).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return sparse.diags(1.0 / norms) @ out


def _idf(counts: sparse.csr_matrix) -> np.ndarray:
    n = counts.shape[0]
    df = np.bincount(counts.indices, minlength=counts.shape[1]).astype(np.float64)
    return (np.log((1.0 + n) / (1.0 + df)) + 1.0).astype(np.float32)


def _nb_ratio(x: sparse.csr_matrix, y: np.ndarray) -> np.ndarray:
    """Naive-Bayes log-count ratio of each feature (on binarised features)."""
    binary = x.copy()
    binary.data = np.ones_like(binary.data)
    p = np.asarray(binary[y == 1].sum(axis=0)).ravel() + NB_ALPHA
    q = np.asarray(binary[y == 0].sum(axis=0)).ravel() + NB_ALPHA
    return np.log((p / p.sum()) / (q / q.sum())).astype(np.float32)


@dataclass
class TrainedModel:
    """A linear model over hashed n-gram blocks (and, optionally, the lexicon's scores).

    ``probability = sigmoid(slope * z + offset)`` where ``z`` is the linear score;
    for logistic candidates ``slope`` is 1 and ``offset`` 0.
    """

    idf_word: np.ndarray
    idf_char: np.ndarray
    coef_word: np.ndarray
    coef_char: np.ndarray
    intercept: float
    threshold: float
    coef_lexicon: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float32))
    lexicon_mean: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float32))
    lexicon_scale: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float32))
    slope: float = 1.0
    offset: float = 0.0
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def uses_lexicon(self) -> bool:
        """Whether the model reads the default detector's scores (it needs them computed)."""
        return self.coef_lexicon.size > 0

    def _probability(self, z: float) -> float:
        v = self.slope * z + self.offset
        return 1.0 / (1.0 + math.exp(-v)) if v > -500 else 0.0

    def _lexicon_term(self, values: Sequence[float]) -> float:
        if not self.uses_lexicon:
            return 0.0
        scaled = (np.asarray(values, dtype=np.float32) - self.lexicon_mean) / self.lexicon_scale
        return float(scaled @ self.coef_lexicon)

    # -- batch -----------------------------------------------------------------
    def score_texts(
        self, texts: Sequence[str], lexicon: Sequence[Sequence[float]] | None = None
    ) -> list[float]:
        """Probability of grooming for whole texts (CSV rows, full conversations)."""
        word, char = _vectorizers()
        normalised = [normalize(t) for t in texts]
        z = _tfidf_rows(word.transform(normalised), self.idf_word) @ self.coef_word
        z = z + _tfidf_rows(char.transform(normalised), self.idf_char) @ self.coef_char
        out = []
        for i, value in enumerate(np.asarray(z).ravel()):
            extra = self._lexicon_term(lexicon[i]) if lexicon is not None and self.uses_lexicon else 0.0
            out.append(self._probability(float(value) + self.intercept + extra))
        return out

    # -- streaming -------------------------------------------------------------
    def update_state(self, state: dict[str, Any], text: str) -> None:
        """Add one message's n-gram counts to a conversation's running sums.

        Keeps, per block, the counts and the running dot product and squared
        norm of the tf-idf vector, so each message costs only its own n-grams.
        """
        word, char = _streaming_vectorizers()
        normalised = normalize(text)
        for block, vec, idf, coef in (
            ("w", word, self.idf_word, self.coef_word),
            ("c", char, self.idf_char, self.coef_char),
        ):
            row = vec.transform([normalised])
            counts = state.setdefault(block, {"counts": {}, "dot": 0.0, "sq": 0.0})
            table = counts["counts"]
            for index, added in zip(row.indices.tolist(), row.data.tolist(), strict=True):
                key = str(index)
                old = table.get(key, 0.0)
                new = old + added
                table[key] = new
                weight = float(idf[index])  # Python floats keep the state JSON-serialisable
                v_old = (1.0 + math.log(old)) * weight if old else 0.0
                v_new = (1.0 + math.log(new)) * weight
                counts["dot"] += float(coef[index]) * (v_new - v_old)
                counts["sq"] += v_new * v_new - v_old * v_old

    def score_state(self, state: dict[str, Any], lexicon: Sequence[float] | None = None) -> float:
        """Probability of grooming for a streaming conversation state."""
        z = self.intercept + (self._lexicon_term(lexicon) if lexicon is not None else 0.0)
        for block in ("w", "c"):
            counts = state.get(block)
            if counts and counts["sq"] > 0:
                z += counts["dot"] / math.sqrt(counts["sq"])
        return self._probability(z)

    # -- persistence -------------------------------------------------------------
    def save(self, path: Path) -> None:
        """Write the model as a safetensors file with a JSON header."""
        from safetensors.numpy import save_file

        header = {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "intercept": repr(float(self.intercept)),
            "threshold": repr(float(self.threshold)),
            "slope": repr(float(self.slope)),
            "offset": repr(float(self.offset)),
            "lexicon_names": json.dumps(LEXICON_NAMES if self.uses_lexicon else ()),
            "info": json.dumps(self.metadata),
        }
        tensors = {
            "idf_word": self.idf_word.astype(np.float32),
            "idf_char": self.idf_char.astype(np.float32),
            "coef_word": self.coef_word.astype(np.float32),
            "coef_char": self.coef_char.astype(np.float32),
        }
        if self.uses_lexicon:
            tensors |= {
                "coef_lexicon": self.coef_lexicon.astype(np.float32),
                "lexicon_mean": self.lexicon_mean.astype(np.float32),
                "lexicon_scale": self.lexicon_scale.astype(np.float32),
            }
        path.parent.mkdir(parents=True, exist_ok=True)
        save_file(tensors, str(path), metadata=header)

    @classmethod
    def load(cls, path: Path) -> TrainedModel:
        """Load a model file written by ``save`` (no code is executed)."""
        from safetensors import SafetensorError, safe_open

        if not path.is_file():
            raise InputError("model file not found", path=str(path))
        try:
            with safe_open(str(path), framework="numpy") as handle:
                header = handle.metadata() or {}
                arrays = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118
        except (SafetensorError, OSError, ValueError) as exc:
            raise InputError(f"not a Safeguard model file ({exc})", path=str(path)) from exc
        if header.get("format") != FORMAT_NAME:
            raise InputError(f"not a Safeguard model file (format {header.get('format')!r})", path=str(path))
        if header.get("version") != FORMAT_VERSION:
            raise InputError(
                f"unsupported model version {header.get('version')!r} (retrain with this release)",
                path=str(path),
            )
        lexicon = json.loads(header.get("lexicon_names", "[]"))
        if lexicon and lexicon != list(LEXICON_NAMES):
            raise InputError("model was trained with a different feature set", path=str(path))
        expected = {
            "idf_word": WORD_FEATURES,
            "idf_char": CHAR_FEATURES,
            "coef_word": WORD_FEATURES,
            "coef_char": CHAR_FEATURES,
        }
        if lexicon:
            expected |= dict.fromkeys(("coef_lexicon", "lexicon_mean", "lexicon_scale"), len(LEXICON_NAMES))
        for key, size in expected.items():
            if key not in arrays or arrays[key].shape != (size,):
                raise InputError(f"model array {key!r} is missing or has the wrong shape", path=str(path))
        empty = np.zeros(0, dtype=np.float32)
        return cls(
            idf_word=arrays["idf_word"],
            idf_char=arrays["idf_char"],
            coef_word=arrays["coef_word"],
            coef_char=arrays["coef_char"],
            intercept=float(header["intercept"]),
            threshold=float(header["threshold"]),
            coef_lexicon=arrays.get("coef_lexicon", empty),
            lexicon_mean=arrays.get("lexicon_mean", empty),
            lexicon_scale=arrays.get("lexicon_scale", empty),
            slope=float(header.get("slope", "1.0")),
            offset=float(header.get("offset", "0.0")),
            metadata=json.loads(header.get("info", "{}")),
        )


def _f1_at(y: np.ndarray, p: np.ndarray, threshold: float) -> float:
    predicted = p >= threshold
    tp = float(np.sum(predicted & (y == 1)))
    denominator = float(np.sum(predicted)) + float(np.sum(y == 1))
    return 2 * tp / denominator if denominator else 0.0


def _best_f1_threshold(y: np.ndarray, p: np.ndarray) -> tuple[float, float]:
    """A threshold that maximises F1 on held-out predictions, robustly.

    F1 is averaged over a +-0.05 window around each candidate and the centre of
    the best window wins: the sharp F1 peak of cross-validation sits at the
    edge of a plateau when near-duplicate rows (segments of one chat) fall in
    different folds, and the plateau's centre transfers better to new data.
    Returns (threshold, F1 at that threshold).
    """
    grid = np.round(np.arange(0.05, 0.951, 0.01), 2)
    f1 = np.array([_f1_at(y, p, t) for t in grid])
    window = 5
    padded = np.pad(f1, window, mode="edge")
    smoothed = np.convolve(padded, np.ones(2 * window + 1) / (2 * window + 1), mode="valid")
    best = int(np.argmax(smoothed))
    return float(grid[best]), float(f1[best])


@dataclass
class _Design:
    """The training matrices of one fold (or of all the data)."""

    idf_w: np.ndarray
    idf_c: np.ndarray
    x: sparse.csr_matrix
    ratio: np.ndarray | None = None
    mean: np.ndarray | None = None
    scale: np.ndarray | None = None


class _Trainer:
    """Cross-validates the candidates on one training set and fits the winner."""

    def __init__(self, texts: Sequence[str], y: np.ndarray, lexicon: np.ndarray | None) -> None:
        word, char = _vectorizers()
        normalised = [normalize(t) for t in texts]
        self.cw = word.transform(normalised).tocsr()
        self.cc = char.transform(normalised).tocsr()
        self.y = y
        self.lexicon = lexicon

    def design(self, kind: str, rows: np.ndarray, fitted: _Design | None = None) -> _Design:
        """Features of ``rows``; idf, NB ratios and scaling are fitted on them unless given."""
        idf_w = fitted.idf_w if fitted else _idf(self.cw[rows])
        idf_c = fitted.idf_c if fitted else _idf(self.cc[rows])
        x = sparse.hstack(
            [_tfidf_rows(self.cw[rows], idf_w), _tfidf_rows(self.cc[rows], idf_c)], format="csr"
        )
        design = _Design(idf_w, idf_c, x)
        if kind == "nbsvm":
            design.ratio = fitted.ratio if fitted else _nb_ratio(x, self.y[rows])
            design.x = x @ sparse.diags(design.ratio)
        if kind == "logistic+lexicon" and self.lexicon is not None:
            dense = self.lexicon[rows]
            design.mean = fitted.mean if fitted else dense.mean(axis=0)
            # Scaled to the size of a tf-idf block's values, so the three scores cannot
            # outweigh the text (unscaled extras carried the noise of the old model).
            design.scale = fitted.scale if fitted else (dense.std(axis=0) + 1e-6) / LEXICON_SCALE
            design.x = sparse.hstack(
                [x, sparse.csr_matrix((dense - design.mean) / design.scale)], format="csr"
            )
        return design

    @staticmethod
    def classifier(kind: str, c_value: float) -> Any:
        from sklearn.linear_model import LogisticRegression
        from sklearn.svm import LinearSVC

        if kind == "svm":
            return LinearSVC(C=c_value, class_weight="balanced", max_iter=5000)
        return LogisticRegression(C=c_value, class_weight="balanced", max_iter=2000, solver="liblinear")

    @staticmethod
    def decision(clf: Any, x: sparse.csr_matrix) -> np.ndarray:
        return clf.decision_function(x)

    def out_of_fold(
        self, grid: list[tuple[str, float]], splits: list[tuple[np.ndarray, np.ndarray]]
    ) -> dict[tuple[str, float], np.ndarray]:
        """Out-of-fold decision values of every (candidate, C): each fold's features are
        built once per candidate and shared by its C values."""
        scores = {key: np.zeros(len(self.y)) for key in grid}
        for train_rows, test_rows in splits:
            for kind in dict.fromkeys(k for k, _ in grid):
                fitted = self.design(kind, train_rows)
                held_out = self.design(kind, test_rows, fitted).x
                for key in (key for key in grid if key[0] == kind):
                    clf = self.classifier(kind, key[1]).fit(fitted.x, self.y[train_rows])
                    scores[key][test_rows] = self.decision(clf, held_out)
        return scores


def _platt(scores: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Slope and offset mapping decision values to probabilities (on out-of-fold values)."""
    from sklearn.linear_model import LogisticRegression

    fit = LogisticRegression(C=1e4, max_iter=1000).fit(scores.reshape(-1, 1), y)
    return float(fit.coef_[0, 0]), float(fit.intercept_[0])


def _sigmoid(values: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(values, -500, 500)))


def train_model(
    texts: Sequence[str],
    labels: Sequence[int],
    lexicon: Sequence[Sequence[float]] | None = None,
    *,
    candidates: Sequence[str] = CANDIDATES,
    c_grid: Mapping[str, Sequence[float]] | None = None,
    folds: int = 5,
    seed: int = 13,
    progress: Callable[[str], None] | None = None,
) -> TrainedModel:
    """Choose the candidate and C with the best cross-validated F1, refit it on everything.

    ``lexicon`` (``lexicon_features`` of each text's state) enables the
    ``logistic+lexicon`` candidate; ``c_grid`` overrides ``C_GRID`` per candidate.
    """
    from sklearn.model_selection import StratifiedKFold

    y = np.asarray(labels, dtype=np.int64)
    if len(set(y.tolist())) < 2:
        raise InputError("training needs both labels (1 = grooming, 0 = not); found only one")
    if int(min(y.sum(), len(y) - y.sum())) < 2:
        raise InputError("training needs at least two examples of each label")
    unknown = [c for c in candidates if c not in CANDIDATES]
    if unknown:
        raise InputError(f"unknown candidate(s) {', '.join(unknown)}; choose from {', '.join(CANDIDATES)}")
    say = progress or (lambda _msg: None)
    dense = np.asarray(lexicon, dtype=np.float32) if lexicon is not None else None
    tried = [c for c in candidates if c != "logistic+lexicon" or dense is not None]
    say("vectorising")
    trainer = _Trainer(texts, y, dense)
    k = max(2, min(folds, int(min(y.sum(), len(y) - y.sum()))))
    splits = list(StratifiedKFold(n_splits=k, shuffle=True, random_state=seed).split(np.zeros(len(y)), y))
    table: list[dict[str, Any]] = []
    best: dict[str, Any] | None = None
    grids = {**C_GRID, **(c_grid or {})}
    grid = [(kind, c_value) for kind in tried for c_value in grids[kind]]
    say(f"cross-validating {len(grid)} candidate settings over {k} folds")
    out_of_fold = trainer.out_of_fold(grid, splits)
    for kind, c_value in grid:
        scores = out_of_fold[(kind, c_value)]
        slope, offset = _platt(scores, y) if kind == "svm" else (1.0, 0.0)
        threshold, f1 = _best_f1_threshold(y, _sigmoid(slope * scores + offset))
        row = {"candidate": kind, "C": c_value, "cv_f1": round(f1, 4), "threshold": threshold}
        table.append(row)
        say(f"{kind} C={c_value:g}: cross-validated F1 {f1:.4f} at threshold {threshold:.2f}")
        if best is None or f1 > best["cv_f1"] + 1e-9:
            best = {**row, "cv_f1": f1, "slope": slope, "offset": offset}
    assert best is not None
    kind, c_value = best["candidate"], best["C"]
    say(f"fitting {kind} (C={c_value:g}) on all {len(y)} examples")
    design = trainer.design(kind, np.arange(len(y)))
    clf = trainer.classifier(kind, c_value).fit(design.x, y)
    coef = clf.coef_.ravel().astype(np.float32)
    text_coef = coef[: WORD_FEATURES + CHAR_FEATURES]
    if design.ratio is not None:  # NB scaling folded into the weights: still linear in the counts
        text_coef = text_coef * design.ratio
    runner_up = max((r for r in table if r["candidate"] != kind), key=lambda r: r["cv_f1"], default=None)
    why = f"highest cross-validated F1 ({best['cv_f1']:.4f})"
    if runner_up is not None:
        why += f"; next best {runner_up['candidate']} C={runner_up['C']:g} at {runner_up['cv_f1']:.4f}"
    return TrainedModel(
        idf_word=design.idf_w,
        idf_char=design.idf_c,
        coef_word=text_coef[:WORD_FEATURES],
        coef_char=text_coef[WORD_FEATURES:],
        intercept=float(np.ravel(clf.intercept_)[0]),
        threshold=float(best["threshold"]),
        coef_lexicon=coef[WORD_FEATURES + CHAR_FEATURES :]
        if kind == "logistic+lexicon"
        else np.zeros(0, np.float32),
        lexicon_mean=design.mean if design.mean is not None else np.zeros(0, np.float32),
        lexicon_scale=design.scale if design.scale is not None else np.zeros(0, np.float32),
        slope=float(best["slope"]),
        offset=float(best["offset"]),
        metadata={
            "examples": len(y),
            "positives": int(y.sum()),
            "candidate": kind,
            "C": c_value,
            "cv_f1": round(float(best["cv_f1"]), 4),
            "folds": k,
            "why": why,
            "candidates": table,
        },
    )
