"""Grooming detector benchmark: quality on the synthetic evaluation set, a trained
model on split halves, early detection, and throughput of ``scan``'s library path.

Usage::

    .venv/bin/python benchmarks/bench_text.py [--quick]

Writes ``benchmarks/results/text.md`` and prints it. Every figure is measured in
the same run on the same machine. Throughput runs each configuration in its own
child process (clean peak RSS) and reports medians over repeats; the
configurations are interleaved repeat by repeat so background load hits them
alike. ``--quick`` is a smoke run (a subset of the evaluation set, 20,000
messages, one repeat): its figures are not comparable with a full run's.

The evaluation set (``benchmarks/evalset/``) is synthetic, written independently
of the detector; read its README's limitations before quoting a number.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import csv
import json
import multiprocessing
import os
import random
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
EVALSET = HERE / "evalset"
RESULTS = HERE / "results" / "text.md"
for _path in (HERE, EVALSET):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

import common  # noqa: E402

SEED = 20251122
FULL_MESSAGES = 200_000
FULL_CONVERSATIONS = 2_000
QUICK_MESSAGES = 20_000
QUICK_CONVERSATIONS = 200
FULL_SLICE = 10_000  # messages the embedding cascade is timed on
QUICK_SLICE = 2_000
QUICK_EVAL_CONVERSATIONS = 120  # per clean/evasion set, half grooming
TACTIC_SHARE = 0.03  # leaflet-level tactic lines in the throughput corpus
CHILD_SHARE = 0.015  # child-context lines (stated age, school year)
FAST_TARGET = 20_000  # messages per CPU-second, the default scan's target
SEGMENT_COLUMNS = {"text_column": "segment", "id_column": "id", "label_column": "label"}


@dataclass(frozen=True, slots=True)
class Settings:
    """Sizes of one run."""

    quick: bool
    messages: int
    conversations: int
    repeats: int
    slice_messages: int


# =========================================================================== quality


@dataclass
class Scored:
    """One scored conversation or segment."""

    id: str
    label: int
    score: float
    flagged: bool
    first_flagged_index: int | None
    message_count: int


def read_kinds() -> dict[str, str]:
    """conversation_id -> kind, for clean and evasion ids (from labels.csv)."""
    with open(EVALSET / "labels.csv", newline="", encoding="utf-8") as handle:
        return {row["conversation_id"]: row["kind"] for row in csv.DictReader(handle)}


def base_id(cid: str) -> str:
    """The clean conversation an id belongs to (evasion copies share it)."""
    return cid.removesuffix("-evasion")


def quick_subset(kinds: dict[str, str], per_set: int) -> set[str]:
    """A deterministic, label-balanced subset of base conversation ids (for --quick)."""
    bases = sorted({base_id(c) for c in kinds})
    rng = random.Random(SEED)
    rng.shuffle(bases)
    grooming = [b for b in bases if kinds[b].startswith("grooming")][: per_set // 2]
    negative = [b for b in bases if not kinds[b].startswith("grooming")][: per_set // 2]
    return set(grooming + negative)


def subset_files(tmp: Path, keep: set[str]) -> dict[str, Path]:
    """Copies of the evaluation files holding only the ``keep`` conversations."""
    out: dict[str, Path] = {}
    for name in ("conversations.jsonl", "conversations_evasion.jsonl"):
        target = tmp / name
        with open(EVALSET / name, encoding="utf-8") as src, open(target, "w", encoding="utf-8") as dst:
            for line in src:
                if base_id(json.loads(line)["conversation_id"]) in keep:
                    dst.write(line)
        out[name] = target
    target = tmp / "segments.csv"
    with open(EVALSET / "segments.csv", newline="", encoding="utf-8") as src, \
            open(target, "w", newline="", encoding="utf-8") as dst:
        reader = csv.DictReader(src)
        writer = csv.DictWriter(dst, fieldnames=reader.fieldnames or [])
        writer.writeheader()
        for row in reader:
            if base_id(row["id"]) in keep:
                writer.writerow(row)
    out["segments.csv"] = target
    out["labels.csv"] = EVALSET / "labels.csv"
    return out


def scan(detector: Any, spec: Any) -> list[Scored]:
    """Score every conversation/row of an input with ``pipeline.scan_input``."""
    from safeguard.text.pipeline import scan_input

    out = []
    for r in scan_input(detector, spec):
        if r.label is None:
            raise RuntimeError(f"{r.id}: no label")
        out.append(Scored(r.id, r.label, r.score, r.flagged, r.first_flagged_index, r.message_count))
    return out


def metrics_of(rows: Sequence[Scored], threshold: float) -> Any:
    """``compute_metrics`` on scored rows."""
    from safeguard.eval.metrics import compute_metrics

    return compute_metrics([r.label for r in rows], [r.score for r in rows], threshold)


def mean(values: Sequence[float]) -> float:
    """Arithmetic mean (0 for no values)."""
    return sum(values) / len(values) if values else 0.0


def metric_row(name: str, m: Any) -> list[str]:
    """One Markdown row of ``Metrics``."""
    return [name, str(m.examples), common.fmt(m.roc_auc), common.fmt(m.pr_auc), common.fmt(m.precision),
            common.fmt(m.recall), common.fmt(m.f1), common.fmt(m.f05),
            f"{m.tp} / {m.fp} / {m.fn} / {m.tn}"]


METRIC_HEADERS = ["set", "n", "ROC-AUC", "PR-AUC", "precision", "recall", "F1", "F0.5", "TP / FP / FN / TN"]


def run_quality(files: dict[str, Path], say: Callable[[str], None]) -> dict[str, Any]:
    """Score (a) clean JSONL, (b) evasion JSONL, (c) segments CSV with both detector paths."""
    from safeguard.text import load_detector
    from safeguard.text.pipeline import InputSpec

    out: dict[str, Any] = {}
    for config, embeddings in (("cascade", True), ("fast", None)):
        detector = load_detector(embeddings=embeddings)
        res: dict[str, Any] = {"threshold": detector.threshold, "embeddings": detector.embeddings}
        for key, name in (("clean", "conversations.jsonl"), ("evasion", "conversations_evasion.jsonl")):
            started = time.perf_counter()
            res[key] = scan(detector, InputSpec(path=str(files[name]), labels=str(files["labels.csv"])))
            res[f"{key}_seconds"] = time.perf_counter() - started
            say(f"  {config} {key}: {len(res[key])} conversations in {res[f'{key}_seconds']:.1f}s")
        started = time.perf_counter()
        res["segments"] = scan(detector, InputSpec(path=str(files["segments.csv"]), fmt="csv",
                                                   **SEGMENT_COLUMNS))
        res["segments_seconds"] = time.perf_counter() - started
        say(f"  {config} segments: {len(res['segments'])} rows in {res['segments_seconds']:.1f}s")
        out[config] = res
    return out


def early_stats(rows: Sequence[Scored]) -> dict[str, float | int | None]:
    """How early flagged grooming conversations were flagged (share of their messages read)."""
    flagged = [r for r in rows if r.label == 1 and r.flagged and r.first_flagged_index is not None]
    shares = [(r.first_flagged_index + 1) / r.message_count for r in flagged]  # type: ignore[operator]
    indices = [float(r.first_flagged_index) for r in flagged]  # type: ignore[arg-type]
    transient = [r for r in rows if not r.flagged and r.first_flagged_index is not None]
    return {
        "grooming": sum(r.label == 1 for r in rows),
        "flagged": len(flagged),
        "median_share": common.median(shares) if shares else None,
        "p90_share": common.percentile(shares, 90) if shares else None,
        "median_index": common.median(indices) if indices else None,
        "p90_index": common.percentile(indices, 90) if indices else None,
        "transient_pos": sum(r.label == 1 for r in transient),
        "transient_neg": sum(r.label == 0 for r in transient),
    }


def quality_markdown(q: dict[str, Any], kinds: dict[str, str]) -> str:
    """The quality, evasion, per-kind and early-detection tables."""
    parts: list[str] = []
    names = {"cascade": "built-in detector with the embedding stage (opt-in)",
             "fast": "built-in detector, default settings (lexicon + tactic similarity)"}
    for config in ("cascade", "fast"):
        res = q[config]
        seg = res["segments"]
        rows = [
            metric_row("(a) conversations.jsonl + labels.csv", metrics_of(res["clean"], res["threshold"])),
            metric_row("(b) conversations_evasion.jsonl", metrics_of(res["evasion"], res["threshold"])),
            metric_row("(c) segments.csv, all rows", metrics_of(seg, res["threshold"])),
            metric_row("(c) segments.csv, clean rows",
                       metrics_of([r for r in seg if not r.id.endswith("-evasion")], res["threshold"])),
            metric_row("(c) segments.csv, evasion rows",
                       metrics_of([r for r in seg if r.id.endswith("-evasion")], res["threshold"])),
        ]
        seconds = res["clean_seconds"] + res["evasion_seconds"] + res["segments_seconds"]
        parts.append(f"#### {names[config]}\n\nThreshold {res['threshold']:.2f}; scoring the three "
                     f"inputs took {seconds:.0f} s.\n\n" + common.md_table(METRIC_HEADERS, rows))

    # Evasion: clean vs evasion copy, same conversations.
    rows = []
    for config in ("cascade", "fast"):
        res = q[config]
        for label, clean, evasion in (
            ("messages (JSONL)", res["clean"], res["evasion"]),
            ("segments (CSV)", [r for r in res["segments"] if not r.id.endswith("-evasion")],
             [r for r in res["segments"] if r.id.endswith("-evasion")]),
        ):
            mc, me = metrics_of(clean, res["threshold"]), metrics_of(evasion, res["threshold"])
            gc = mean([r.score for r in clean if r.label == 1])
            ge = mean([r.score for r in evasion if r.label == 1])
            nc = mean([r.score for r in clean if r.label == 0])
            ne = mean([r.score for r in evasion if r.label == 0])
            rows.append([f"{config}, {label}", common.fmt(mc.roc_auc), common.fmt(me.roc_auc),
                         f"{(me.roc_auc or 0) - (mc.roc_auc or 0):+.3f}", common.fmt(gc), common.fmt(ge),
                         f"{ge - gc:+.3f}", common.fmt(nc), common.fmt(ne),
                         f"{mc.recall:.3f} → {me.recall:.3f}", f"{mc.fp} → {me.fp}"])
    parts.append("#### Score drop under evasion (clean → evasion copy of the same conversations)\n\n" +
                 common.md_table(["detector, input", "ROC-AUC clean", "ROC-AUC evasion", "Δ ROC-AUC",
                                  "mean grooming score clean", "evasion", "Δ", "mean negative score clean",
                                  "evasion", "recall", "FP"], rows))

    # Per kind.
    by_kind: dict[str, dict[str, list[Scored]]] = defaultdict(lambda: defaultdict(list))
    for config in ("cascade", "fast"):
        for key in ("clean", "evasion"):
            for r in q[config][key]:
                by_kind[kinds[r.id]][f"{config}_{key}"].append(r)

    def kind_order(kind: str) -> tuple[int, float]:
        scores = [r.score for r in by_kind[kind]["cascade_clean"]]
        return (0 if kind.startswith("grooming") else 1, -mean(scores))

    rows = []
    for kind in sorted(by_kind, key=kind_order):
        d = by_kind[kind]
        cells: list[str] = [kind, str(d["cascade_clean"][0].label), str(len(d["cascade_clean"]))]
        for config in ("cascade", "fast"):
            cells += [common.fmt(mean([r.score for r in d[f"{config}_clean"]])),
                      common.fmt(mean([r.score for r in d[f"{config}_evasion"]])),
                      f"{100 * mean([float(r.flagged) for r in d[f'{config}_clean']]):.0f}%",
                      f"{100 * mean([float(r.flagged) for r in d[f'{config}_evasion']]):.0f}%"]
        rows.append(cells)
    parts.append(
        "#### Mean score per kind (JSONL; kinds from labels.csv)\n\nNegatives are sorted hardest first "
        "(highest mean score with the cascade). `flagged` = share of the kind's conversations at or "
        "above the threshold.\n\n" + common.md_table(
            ["kind", "label", "n", "cascade clean", "cascade evasion", "flagged clean", "flagged evasion",
             "fast clean", "fast evasion", "flagged clean", "flagged evasion"], rows))

    # Early detection.
    rows = []
    for config in ("cascade", "fast"):
        for key in ("clean", "evasion"):
            e = early_stats(q[config][key])
            rows.append([f"{config}, {'(a) clean' if key == 'clean' else '(b) evasion'}",
                         f"{e['flagged']} / {e['grooming']}",
                         common.fmt(e["median_share"], 2), common.fmt(e["p90_share"], 2),
                         common.fmt(e["median_index"], 0), common.fmt(e["p90_index"], 0),
                         f"{e['transient_pos']} / {e['transient_neg']}"])
    parts.append(
        "#### Early detection (streaming, JSONL)\n\nFor grooming conversations flagged at the end, the "
        "share of the conversation read when the running risk first reached the threshold, "
        "`(first_flagged_index + 1) / messages` (lower = earlier), and the message index itself. "
        "`transient` counts conversations whose running risk crossed the threshold at some message but "
        "ended below it (grooming / negative): a streaming deployment would have alerted on them.\n\n"
        + common.md_table(["detector, input", "flagged grooming", "median share", "p90 share",
                           "median index", "p90 index", "transient (pos / neg)"], rows))
    return "\n\n".join(parts)


# =========================================================================== trained model


def split_segments(path: Path, tmp: Path, seed: int) -> tuple[Path, Path, int, int]:
    """Two CSV halves of segments.csv, split by base conversation and stratified by label."""
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        fields = reader.fieldnames or []
        rows = list(reader)
    label_of = {base_id(r["id"]): r["label"] for r in rows}
    rng = random.Random(seed)
    side: dict[str, int] = {}
    for label in sorted(set(label_of.values())):
        bases = sorted(b for b, lab in label_of.items() if lab == label)
        rng.shuffle(bases)
        for i, b in enumerate(bases):
            side[b] = i % 2
    paths = (tmp / "half_a.csv", tmp / "half_b.csv")
    counts = [0, 0]
    for half, target in enumerate(paths):
        with open(target, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=fields)
            writer.writeheader()
            for r in rows:
                if side[base_id(r["id"])] == half:
                    writer.writerow(r)
                    counts[half] += 1
    # Leakage check: no base conversation on both sides.
    a = {base_id(r["id"]) for r in rows if side[base_id(r["id"])] == 0}
    b = {base_id(r["id"]) for r in rows if side[base_id(r["id"])] == 1}
    assert not a & b
    return paths[0], paths[1], counts[0], counts[1]


def run_trained(segments: Path, tmp: Path, say: Callable[[str], None]) -> list[dict[str, Any]]:
    """Train on one half, score the other, both ways (as ``safeguard train`` would)."""
    from safeguard.text import Detector, load_detector
    from safeguard.text.model import train_model
    from safeguard.text.pipeline import InputSpec, load_training_set

    half_a, half_b, n_a, n_b = split_segments(segments, tmp, SEED)
    say(f"  halves: {n_a} and {n_b} rows")
    folds = []
    for name, train_path, test_path in (("train A → test B", half_a, half_b),
                                        ("train B → test A", half_b, half_a)):
        started = time.perf_counter()
        data = load_training_set(InputSpec(path=str(train_path), fmt="csv", **SEGMENT_COLUMNS),
                                 load_detector(embeddings=False))
        model = train_model(data.texts, data.labels, data.lexicon)
        train_seconds = time.perf_counter() - started
        detector = Detector(model=model)
        rows = scan(detector, InputSpec(path=str(test_path), fmt="csv", **SEGMENT_COLUMNS))
        folds.append({"name": name, "train_rows": len(data.labels), "threshold": detector.threshold,
                      "embeddings": detector.embeddings, "cv_f1": model.metadata.get("cv_f1"),
                      "C": model.metadata.get("C"), "train_seconds": train_seconds,
                      "all": metrics_of(rows, detector.threshold),
                      "clean": metrics_of([r for r in rows if not r.id.endswith("-evasion")],
                                          detector.threshold),
                      "evasion": metrics_of([r for r in rows if r.id.endswith("-evasion")],
                                            detector.threshold)})
        say(f"  {name}: trained in {train_seconds:.1f}s, ROC-AUC {folds[-1]['all'].roc_auc:.3f}")
    return folds


def trained_markdown(folds: list[dict[str, Any]]) -> str:
    """The trained-model table (both splits and their mean)."""
    rows = []
    for f in folds:
        rows.append(metric_row(f"{f['name']} (all test rows)", f["all"]))
        rows.append(metric_row(f"{f['name']} (clean rows)", f["clean"]))
        rows.append(metric_row(f"{f['name']} (evasion rows)", f["evasion"]))
    keys = ("roc_auc", "pr_auc", "precision", "recall", "f1", "f05")
    avg = {k: mean([getattr(f["all"], k) or 0.0 for f in folds]) for k in keys}
    rows.append(["**mean of the two splits** (all test rows)", str(sum(f["all"].examples for f in folds)),
                 *(common.fmt(avg[k]) for k in keys), "-"])
    info = "; ".join(f"{f['name']}: {f['train_rows']} training rows, C={f['C']}, threshold "
                     f"{f['threshold']:.2f}, cross-validated F1 {f['cv_f1']}, trained in "
                     f"{f['train_seconds']:.1f} s" for f in folds)
    return (
        "segments.csv split into two halves by base conversation (`-evasion` suffix stripped, so a "
        "conversation and its evasion copy always fall on the same side; stratified by label, seed "
        f"{SEED}). `load_training_set` with the fast-path detector and `train_model` on one half, as "
        "`safeguard train` does; the other half scored with `Detector(model=...)` (embedding stage off, "
        "the default with a model) at the model's own threshold.\n\n"
        + common.md_table(METRIC_HEADERS, rows) + f"\n\n{info}.\n\n"
        "**Caveat:** both halves are built from the same hand-written phrase pools, so the model sees "
        "the test half's lines (with other placeholders) during training. These figures measure how "
        "well the model fits this generator, not how it would generalise to real chat; the evaluation "
        "set's README says the same (a bag-of-words model reaches ~0.997 accuracy on it)."
    )


# =========================================================================== throughput corpus


def make_corpus(path: Path, messages: int, conversations: int, seed: int) -> dict[str, float | int]:
    """Write a deterministic JSONL of ordinary two-person chat with a few tactic lines.

    Small talk comes from the evaluation set's hand-written pools (some lines
    joined in pairs, all with chat noise), ``TACTIC_SHARE`` of lines from the
    leaflet-level tactic pools and ``CHILD_SHARE`` child-context lines (stated
    age or school year). Messages of all conversations are interleaved in time
    order, as in a platform's export.
    """
    import generate as gen
    import phrases as ph

    small_talk = ph.FILLER_GENERIC + ph.FILLER_KID + ph.FILLER_ADULT + ph.FILLER_GAME
    tactic_pools = [pool for pool, _, _, _ in gen.TACTICS.values()]
    child_lines = [line for line in ph.C_AGE if "{age}" in line or "{year}" in line]
    bands = [("adult", "adult"), ("teen", "teen"), ("adult", "child"), ("adult", "teen"),
             ("unknown", "unknown"), ("unknown", "teen"), ("adult", "unknown")]
    rng = random.Random(seed)
    lengths = [rng.randint(20, 180) for _ in range(conversations)]
    scale = messages / sum(lengths)
    lengths = [max(2, round(n * scale)) for n in lengths]
    lengths[-1] += messages - sum(lengths)
    assert lengths[-1] >= 2 and sum(lengths) == messages
    start = datetime(2025, 3, 1, tzinfo=UTC)
    rows: list[tuple[str, dict[str, str]]] = []
    kinds = {"tactic": 0, "child": 0}
    for index, length in enumerate(lengths):
        crng = random.Random(f"{seed}-{index}")
        cid = f"tp-{index:05d}"
        people = [gen.make_handle(crng).lower(), gen.make_handle(crng).lower()]
        pair = crng.choice(bands)
        ctx = gen.make_ctx(crng, crng.randint(10, 16), crng.randint(13, 45))
        when = start + timedelta(seconds=crng.randint(0, 30 * 86400))
        who = crng.randrange(2)
        for m in range(length):
            r = crng.random()
            if r < TACTIC_SHARE:
                template = crng.choice(crng.choice(tactic_pools))
                kinds["tactic"] += 1
            elif r < TACTIC_SHARE + CHILD_SHARE:
                template = crng.choice(child_lines)
                kinds["child"] += 1
            elif m == 0:
                template = crng.choice(ph.GREETINGS)
            elif (u := crng.random()) < 0.10:
                template = " ".join(crng.choice(small_talk) for _ in range(3))
            elif u < 0.50:
                template = f"{crng.choice(small_talk)} {crng.choice(small_talk)}"
            else:
                template = crng.choice(small_talk)
            text = gen.chatify(gen.fill(template, ctx), crng)
            when += timedelta(seconds=crng.choice((3, 8, 15, 30, 60, 240, 900, 3600)) + crng.randint(0, 20))
            stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
            rows.append((stamp, {"conversation_id": cid, "message_id": f"{cid}-m{m:04d}",
                                 "sender_id": people[who], "sent_at": stamp, "text": text,
                                 "sender_age_band": pair[who]}))
            if crng.random() < 0.8:
                who = 1 - who
    rows.sort(key=lambda item: item[0])
    distinct = len({row["text"] for _, row in rows})
    with open(path, "w", encoding="utf-8") as handle:
        for _, row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    return {"messages": len(rows), "conversations": conversations, "tactic": kinds["tactic"],
            "child": kinds["child"], "distinct": distinct, "bytes": path.stat().st_size}


# =========================================================================== throughput worker


def worker(mode: str, input_path: str) -> None:
    """Child process: scan ``input_path`` with ``scan_input`` and print timings as JSON."""
    setup_started = time.perf_counter()
    from safeguard.text.detector import Detector
    from safeguard.text.pipeline import InputSpec, scan_input

    # default: as shipped (lexicon + tactic similarity); lexicon: the similarity stage
    # off; cascade: the sentence-model embedding stage on as well.
    detector = Detector(similarity=mode != "lexicon", embeddings=mode == "cascade")
    detector.extractor.extract("warm up the compiled patterns")
    detector.warm()
    embed = {"texts": 0, "calls": 0, "wall": 0.0, "cpu": 0.0}
    if detector.embeddings:
        detector.embedding_scores(["warm up the encoder and banks"])  # loads the model once
        original = detector.embedding_scores

        def timed(texts: list[str]) -> list[float]:
            w, c = time.perf_counter(), time.process_time()
            values = original(texts)
            embed["wall"] += time.perf_counter() - w
            embed["cpu"] += time.process_time() - c
            embed["texts"] += len(texts)
            embed["calls"] += 1
            return values

        detector.embedding_scores = timed  # type: ignore[method-assign]
    setup = time.perf_counter() - setup_started
    threads = None
    if detector.embeddings:
        import torch

        threads = torch.get_num_threads()
    wall, cpu = time.perf_counter(), time.process_time()
    conversations = flagged = messages = 0
    for result in scan_input(detector, InputSpec(path=input_path, fmt="jsonl")):
        conversations += 1
        flagged += result.flagged
        messages += result.message_count
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(json.dumps({"mode": mode, "messages": messages, "conversations": conversations,
                      "flagged": flagged, "wall": wall, "cpu": cpu, "setup": setup,
                      "embedded": embed["texts"], "embed_calls": embed["calls"],
                      "embed_wall": embed["wall"], "embed_cpu": embed["cpu"],
                      "torch_threads": threads, "affinity": sorted(os.sched_getaffinity(0))}))


@dataclass(frozen=True, slots=True)
class Config:
    """A throughput configuration run in its own child process."""

    name: str
    mode: str
    pinned: bool
    sliced: bool  # the first ``Settings.slice_messages`` messages instead of the whole corpus


DEFAULT_PINNED = Config("default settings, 1 core (pinned to CPU 0)", "default", True, False)
LEXICON_PINNED = Config("lexicon only (similarity off), 1 core (pinned)", "lexicon", True, False)
DEFAULT_SLICE = Config("default settings, unpinned, slice", "default", False, True)
CASCADE_SLICE = Config("with the embedding stage, unpinned, slice", "cascade", False, True)
CONFIGS = (DEFAULT_PINNED, LEXICON_PINNED, DEFAULT_SLICE, CASCADE_SLICE)


def conversation_slice(corpus: Path, target: Path, messages: int) -> dict[str, int]:
    """Every message of the first conversations (by id) until ``messages`` are reached.

    Whole conversations, still interleaved in time order, so the slice has the
    same mix of lines as the full corpus.
    """
    sizes: dict[str, int] = defaultdict(int)
    with open(corpus, encoding="utf-8") as src:
        for line in src:
            sizes[json.loads(line)["conversation_id"]] += 1
    keep: set[str] = set()
    total = 0
    for cid in sorted(sizes):
        if total >= messages:
            break
        keep.add(cid)
        total += sizes[cid]
    with open(corpus, encoding="utf-8") as src, open(target, "w", encoding="utf-8") as dst:
        for line in src:
            if json.loads(line)["conversation_id"] in keep:
                dst.write(line)
    return {"messages": total, "conversations": len(keep)}


def run_throughput(
    corpus: Path, sliced: Path, settings: Settings, say: Callable[[str], None]
) -> dict[str, Any]:
    """Median-of-N throughput per configuration, plus one CLI end-to-end run."""
    pin = common.pin_prefix(0)
    runs: dict[str, list[dict[str, Any]]] = defaultdict(list)
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    for repeat in range(settings.repeats):
        for config in CONFIGS:
            cmd = [common.python_exe(), str(Path(__file__).resolve()), "--worker", config.mode,
                   "--input", str(sliced if config.sliced else corpus)]
            if config.pinned:
                cmd = pin + cmd if pin else [*cmd, "--pin"]
            run = common.measure_peak_rss(cmd, cwd=REPO, env=env, timeout=1800)
            if run.returncode != 0:
                raise RuntimeError(f"worker {config.name} failed ({run.returncode}): {run.stderr[-2000:]}")
            data = json.loads(run.stdout.strip().splitlines()[-1])
            data["rss"] = run.max_rss_mib
            data["process_wall"] = run.wall_s
            runs[config.name].append(data)
            say(f"  repeat {repeat + 1}/{settings.repeats} {config.name}: "
                f"{data['messages'] / data['wall']:,.0f} msg/s, RSS {run.max_rss_mib:.0f} MiB")
    cli = common.measure_peak_rss([str(REPO / ".venv" / "bin" / "safeguard"), "scan", str(corpus), "--json"],
                                  cwd=REPO, env=env, timeout=1800, stdout_path=os.devnull)
    if cli.returncode != 0:
        raise RuntimeError(f"safeguard scan failed ({cli.returncode}): {cli.stderr[-2000:]}")
    say(f"  CLI scan --json: {cli.wall_s:.1f}s")
    return {"runs": dict(runs), "cli": cli, "pinned_with": "taskset -c 0" if pin else "sched_setaffinity"}


def throughput_markdown(t: dict[str, Any], corpus: dict[str, Any], settings: Settings) -> str:
    """The throughput tables."""
    med = common.median
    summary: dict[str, dict[str, float]] = {}
    rows = []
    for config in CONFIGS:
        runs = t["runs"][config.name]
        rates = [r["messages"] / r["wall"] for r in runs]
        s = {"rate": med(rates), "cpu_rate": med([r["messages"] / r["cpu"] for r in runs]),
             "rss": med([r["rss"] for r in runs]), "wall": med([r["wall"] for r in runs]),
             "setup": med([r["setup"] for r in runs]), "min": min(rates), "max": max(rates),
             "messages": runs[0]["messages"], "flagged": med([r["flagged"] for r in runs]),
             "conversations": runs[0]["conversations"]}
        summary[config.name] = s
        rows.append([config.name, common.fmt_int(s["messages"]), common.fmt_int(s["rate"]),
                     f"{common.fmt_int(s['min'])}-{common.fmt_int(s['max'])}", common.fmt_int(s["cpu_rate"]),
                     f"{s['wall']:.1f}", f"{s['setup']:.1f}", f"{s['rss']:.0f}"])
    fast1, fast, fslice, cascade = (summary[c.name] for c in CONFIGS)  # default, lexicon, slices
    cruns = t["runs"][CASCADE_SLICE.name]
    embedded = med([r["embedded"] for r in cruns])
    share = embedded / cascade["messages"]
    per_msg_wall = med([1000 * r["embed_wall"] / max(r["embedded"], 1) for r in cruns])
    per_msg_cpu = med([1000 * r["embed_cpu"] / max(r["embedded"], 1) for r in cruns])
    embed_share_time = med([r["embed_wall"] / r["wall"] for r in cruns])
    calls = med([r["embed_calls"] for r in cruns])
    threads = cruns[0].get("torch_threads")
    cli = t["cli"]
    verdict = "meets" if fast1["rate"] >= FAST_TARGET else "**misses**"
    verdict_cpu = "meets" if fast1["cpu_rate"] >= FAST_TARGET else "**misses**"
    table = common.md_table(
        ["configuration", "messages", "messages/s (median)", "range", "messages per CPU-second", "scan s",
         "start-up s (excluded)", "peak RSS MiB"], rows)
    return (
        f"Input: {common.fmt_int(corpus['messages'])} messages in {common.fmt_int(corpus['conversations'])} "
        f"two-person conversations ({corpus['bytes'] / 1e6:.1f} MB JSONL, seed {SEED}, generated in a "
        f"temporary directory and deleted): small talk from the evaluation set's hand-written pools with "
        f"chat noise, {100 * corpus['tactic'] / corpus['messages']:.1f}% leaflet-level tactic lines and "
        f"{100 * corpus['child'] / corpus['messages']:.1f}% child-context lines (stated age or school year); "
        f"messages of all conversations interleaved in time order; "
        f"{100 * corpus['distinct'] / corpus['messages']:.0f}% of message texts are distinct. The embedding "
        f"cascade is too slow on this 2-core machine to scan all of it {settings.repeats} time(s) within the "
        f"run's time budget, so it is measured on a **slice**: all "
        f"{common.fmt_int(cascade['messages'])} messages of the first "
        f"{common.fmt_int(corpus['slice']['conversations'])} conversations of the same file (whole "
        f"conversations, same mix of lines), and the fast path is also measured on that slice for the "
        f"ratio. Library path: `pipeline.scan_input(detector, "
        f"InputSpec(path, fmt='jsonl'))`, all results consumed, each run in a fresh child process; median of "
        f"{settings.repeats} run(s) per configuration, configurations interleaved. `messages/s` is wall "
        f"clock over the scan (reading, parsing, scoring); start-up (imports, pattern compilation, encoder "
        f"and bank loading) is timed separately and excluded. `messages per CPU-second` is the same work "
        f"over the process's CPU time (all threads), steadier than wall clock on a shared machine. Peak "
        f"RSS is the child's `ru_maxrss`.\n\n"
        + table + "\n\n"
        f"- **Default settings** (regex screen + lexicon + tactic similarity from static token vectors; "
        f"no sentence model): single-threaded, measured pinned to CPU 0 with `{t['pinned_with']}`: "
        f"**{common.fmt_int(fast1['rate'])} messages/s/core** by wall clock "
        f"(**{common.fmt_int(fast1['cpu_rate'])} per CPU-second**). Target ≥ {common.fmt_int(FAST_TARGET)} "
        f"messages per CPU-second: {verdict} it by wall clock, {verdict_cpu} it by CPU time. "
        f"{common.fmt_int(fast1['flagged'])} of "
        f"{common.fmt_int(fast1['conversations'])} conversations were flagged (every conversation carries a "
        f"few tactic lines by construction, so this is not a false-positive rate).\n"
        f"- **Lexicon only** (similarity off, pinned): {common.fmt_int(fast['rate'])} messages/s "
        f"({common.fmt_int(fast['cpu_rate'])} per CPU-second): the similarity stage costs "
        f"{1e6 / fast1['cpu_rate'] - 1e6 / fast['cpu_rate']:.0f} µs of CPU per message.\n"
        f"- **With the embedding stage** (opt-in, `embeddings=True`): "
        f"{common.fmt_int(cascade['rate'])} messages/s unpinned "
        f"(torch threads: {threads}); at that rate the whole {common.fmt_int(corpus['messages'])}-message "
        f"file would take ~{corpus['messages'] / cascade['rate'] / 60:.0f} min. "
        f"{common.fmt_int(embedded)} of {common.fmt_int(cascade['messages'])} messages "
        f"(**{100 * share:.1f}%**) passed the cascade rule (`needs_embedding`: a signal or child context "
        f"found by the fast path) and reached the embedding stage, which cost **{per_msg_wall:.1f} ms wall "
        f"({per_msg_cpu:.1f} ms CPU) per message reaching it**, in {common.fmt_int(calls)} encoder calls "
        f"(one per 512-message input batch that has any message to embed: "
        f"~{embedded / max(calls, 1):.0f} texts per call on this input) and "
        f"took {100 * embed_share_time:.0f}% of the cascade's scan time.\n"
        f"- **Ratio default / with the embedding stage** (both unpinned, same slice, same run): "
        f"**{fslice['rate'] / cascade['rate']:.1f}×** by wall clock, "
        f"{fslice['cpu_rate'] / cascade['cpu_rate']:.1f}× by CPU time.\n"
        f"- **CLI end to end**, once, whole file: `safeguard scan FILE --json > /dev/null` took "
        f"{cli.wall_s:.1f} s including interpreter start-up and JSON output "
        f"({common.fmt_int(corpus['messages'] / cli.wall_s)} messages/s overall, "
        f"{cli.user_s + cli.sys_s:.1f} s CPU, peak RSS {cli.max_rss_mib:.0f} MiB)."
    )


# =========================================================================== main


def build_report(settings: Settings, say: Callable[[str], None]) -> str:
    """Run every part and return the Markdown section."""
    started = time.perf_counter()
    machine = common.machine_line()
    date = common.utc_now()
    load_before = common.load_average()
    kinds = read_kinds()
    with tempfile.TemporaryDirectory(prefix="bench-text-") as tmpdir:
        tmp = Path(tmpdir)
        if settings.quick:
            files = subset_files(tmp, quick_subset(kinds, QUICK_EVAL_CONVERSATIONS))
        else:
            files = {name: EVALSET / name for name in ("conversations.jsonl", "conversations_evasion.jsonl",
                                                        "segments.csv", "labels.csv")}
        # The trained-model part times nothing that is reported as a rate, so it
        # runs in a second process alongside the quality part (the throughput
        # part below runs alone).
        say("quality on the evaluation set, and (in parallel) the trained model on split halves")
        context = multiprocessing.get_context("spawn")
        with concurrent.futures.ProcessPoolExecutor(1, mp_context=context) as pool:
            trained = pool.submit(run_trained, files["segments.csv"], tmp, say)
            quality = run_quality(files, say)
            folds = trained.result()
        say(f"throughput corpus: {settings.messages:,} messages")
        corpus_path = tmp / "throughput.jsonl"
        corpus = make_corpus(corpus_path, settings.messages, settings.conversations, SEED)
        sliced = tmp / "throughput_slice.jsonl"
        corpus["slice"] = conversation_slice(corpus_path, sliced, settings.slice_messages)
        say("throughput")
        throughput = run_throughput(corpus_path, sliced, settings, say)
    total = time.perf_counter() - started
    n_clean = len(quality["fast"]["clean"])
    scope = (f"**Quick smoke run** (`--quick`): {n_clean} of the 400 conversations, "
             f"{settings.messages:,} messages, {settings.repeats} repeat; not comparable with a full run.\n\n"
             if settings.quick else "")
    return (
        "## Grooming detector (text)\n\n"
        f"{scope}{machine}\n\nDate: {date}. Written by `benchmarks/bench_text.py"
        f"{' --quick' if settings.quick else ''}` in {total / 60:.1f} min; load average at start "
        f"{load_before}, at end {common.load_average()} (1/5/15 min; other work was running on this "
        "2-core machine, so wall-clock figures are noisy: medians are reported).\n\n"
        "### Quality on the synthetic evaluation set\n\n"
        "`benchmarks/evalset/`: 400 synthetic conversations (200 grooming, 200 hard negatives) plus an "
        "evasion-rewritten copy of each, written independently of the detector. It checks that the "
        "detector picks up safeguarding-leaflet tactics against look-alike negatives; it is not real "
        "data and says nothing about real-world precision (see its README). Every input goes through "
        "`pipeline.scan_input`, as `safeguard scan`/`eval` do: (a) and (b) as JSONL messages with "
        "`labels.csv`, (c) as CSV rows `id,segment,label` (one run of text per conversation, no speaker "
        "markers). Precision, recall, F1 and F0.5 are at the detector's threshold.\n\n"
        + quality_markdown(quality, kinds) + "\n\n"
        "### Trained model (segments.csv, two halves)\n\n" + trained_markdown(folds) + "\n\n"
        "### Throughput of `scan`'s library path\n\n" + throughput_markdown(throughput, corpus, settings)
        + "\n"
    )


def log(message: str) -> None:
    """Progress on stderr (the report goes to stdout)."""
    print(f"[bench_text {datetime.now(UTC):%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments; run the benchmark (or, internally, one throughput worker)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small smoke run")
    parser.add_argument("--worker", choices=("default", "lexicon", "cascade"), help=argparse.SUPPRESS)
    parser.add_argument("--input", help=argparse.SUPPRESS)
    parser.add_argument("--pin", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        if args.pin:
            common.pin_self(0)
        worker(args.worker, args.input)
        return 0
    os.chdir(REPO)  # the detector's data dir (bank cache) is relative to the repository
    settings = (Settings(True, QUICK_MESSAGES, QUICK_CONVERSATIONS, 1, QUICK_SLICE) if args.quick
                else Settings(False, FULL_MESSAGES, FULL_CONVERSATIONS, 3, FULL_SLICE))
    report = build_report(settings, log)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(report, encoding="utf-8")
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
