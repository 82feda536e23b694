"""``safeguard train``'s model: candidates chosen by cross-validation, the safetensors
file (round trip, tampering, wrong header) and streaming vs batch scores."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from safeguard.errors import InputError
from safeguard.ingest.records import Message, TextRecord
from safeguard.text import Detector
from safeguard.text.model import CANDIDATES, FORMAT_NAME, TrainedModel, lexicon_features, train_model

# Leaflet-level tactic lines and ordinary chat, combined into small "conversations".
TACTICS = [
    "r u home alone",
    "whats ur address",
    "what school do you go to",
    "add me on snap",
    "lets talk on whatsapp instead",
    "dont tell ur mum about me",
    "this is our secret",
    "delete the chat after",
    "ur so mature for ur age",
    "ur friends dont get u like i do",
    "ill buy u a gift card",
    "send me a pic of you",
    "do u have a webcam",
    "have u ever had a boyfriend",
    "ill pick u up after school",
    "if u tell anyone ill show everyone",
]
CHILD_LINES = ["im 13", "year 8", "my mum wont let me", "im only 12", "ok", "idk", "lol"]
NEUTRAL = [
    "what did u have for lunch",
    "pasta lol",
    "that film was so good",
    "did u finish the book",
    "running late sorry",
    "traffic is awful",
    "see u at the match",
    "the weather is grim today",
    "happy friday",
    "my cat knocked my tea over",
    "which bus is quicker into town",
    "can you send the slides from the meeting",
    "gg that round was close",
    "the new album is decent",
    "lets get pizza tonight",
    "did u watch the game",
    "my phone is on 2 percent",
    "thanks for the help",
]
QUICK_GRID = {kind: (4.0,) for kind in CANDIDATES} | {"svm": (0.5,)}


def generate(n_pos: int, n_neg: int, seed: int) -> tuple[list[str], list[int]]:
    rng = random.Random(seed)
    rows: list[tuple[str, int]] = []
    for _ in range(n_pos):
        lines = rng.sample(TACTICS, 4) + rng.sample(CHILD_LINES, 2) + rng.sample(NEUTRAL, 2)
        rng.shuffle(lines)
        rows.append(("\n".join(lines), 1))
    for _ in range(n_neg):
        rows.append(("\n".join(rng.sample(NEUTRAL, 6)), 0))
    rng.shuffle(rows)
    return [t for t, _ in rows], [y for _, y in rows]


def lexicon_for(detector: Detector, texts: list[str]) -> list[list[float]]:
    rows = []
    for i, text in enumerate(texts):
        state = detector.new_conversation(str(i))
        for line in text.split("\n"):
            state.add_message(line)
        rows.append(lexicon_features(state))
    return rows


@pytest.fixture(scope="module")
def trained(fast_detector: Detector) -> TrainedModel:
    texts, labels = generate(16, 16, seed=1)
    return train_model(texts, labels, lexicon_for(fast_detector, texts), c_grid=QUICK_GRID, folds=3)


@pytest.fixture(scope="module")
def with_lexicon(fast_detector: Detector) -> TrainedModel:
    texts, labels = generate(16, 16, seed=1)
    lexicon = lexicon_for(fast_detector, texts)
    return train_model(texts, labels, lexicon, candidates=("logistic+lexicon",), c_grid=QUICK_GRID, folds=3)


@pytest.fixture(scope="module")
def model_file(with_lexicon: TrainedModel, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("model") / "sub" / "model.safetensors"
    with_lexicon.save(path)
    return path


def test_candidates_are_compared_and_the_choice_explained(trained: TrainedModel) -> None:
    table = trained.metadata["candidates"]
    assert {row["candidate"] for row in table} == set(CANDIDATES)
    best = max(table, key=lambda row: row["cv_f1"])
    assert trained.metadata["candidate"] == best["candidate"]
    assert trained.metadata["cv_f1"] == pytest.approx(best["cv_f1"], abs=1e-4)
    assert "cross-validated F1" in trained.metadata["why"]
    assert 0.05 <= trained.threshold <= 0.95
    assert trained.metadata["examples"] == 32 and trained.metadata["positives"] == 16


@pytest.mark.parametrize("kind", CANDIDATES)
def test_every_candidate_separates_held_out_data(kind: str, fast_detector: Detector) -> None:
    texts, labels = generate(16, 16, seed=1)
    model = train_model(
        texts, labels, lexicon_for(fast_detector, texts), candidates=(kind,), c_grid=QUICK_GRID, folds=3
    )
    held_out, held_labels = generate(8, 8, seed=99)
    scores = model.score_texts(held_out, lexicon_for(fast_detector, held_out))
    pos = [s for s, y in zip(scores, held_labels, strict=True) if y == 1]
    neg = [s for s, y in zip(scores, held_labels, strict=True) if y == 0]
    assert min(pos) > max(neg), kind
    assert model.metadata["candidate"] == kind


def test_the_model_needs_no_lexicon_unless_it_was_trained_with_it(trained: TrainedModel) -> None:
    texts, _ = generate(4, 4, seed=5)
    if not trained.uses_lexicon:
        assert trained.score_texts(texts) == trained.score_texts(texts, [[0.0, 0.0, 0.0]] * len(texts))


def test_training_needs_both_labels() -> None:
    texts = ["hello", "hi there", "how are you"]
    with pytest.raises(InputError, match="both labels"):
        train_model(texts, [0, 0, 0])
    with pytest.raises(InputError, match="at least two"):
        train_model(texts, [1, 0, 0])
    with pytest.raises(InputError, match="unknown candidate"):
        train_model(texts * 2, [1, 0, 1, 0, 1, 0], candidates=("bert",))


def test_save_load_round_trip_gives_identical_scores(
    with_lexicon: TrainedModel, model_file: Path, fast_detector: Detector
) -> None:
    loaded = TrainedModel.load(model_file)
    assert loaded.threshold == with_lexicon.threshold
    assert loaded.intercept == with_lexicon.intercept
    assert loaded.metadata == with_lexicon.metadata
    assert loaded.uses_lexicon
    for name in ("idf_word", "idf_char", "coef_word", "coef_char", "coef_lexicon"):
        assert np.array_equal(getattr(loaded, name), getattr(with_lexicon, name))
    texts, _ = generate(4, 4, seed=7)
    lexicon = lexicon_for(fast_detector, texts)
    assert loaded.score_texts(texts, lexicon) == with_lexicon.score_texts(texts, lexicon)


def test_model_file_is_safetensors_with_a_json_header(model_file: Path) -> None:
    raw = model_file.read_bytes()
    size = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8 : 8 + size])
    assert header["__metadata__"]["format"] == FORMAT_NAME
    assert set(header) - {"__metadata__"} == {
        "idf_word",
        "idf_char",
        "coef_word",
        "coef_char",
        "coef_lexicon",
        "lexicon_mean",
        "lexicon_scale",
    }
    info = json.loads(header["__metadata__"]["info"])
    assert info["candidate"] == "logistic+lexicon" and info["candidates"]


def _expect_input_error(path: Path) -> InputError:
    with pytest.raises(InputError) as caught:
        TrainedModel.load(path)
    return caught.value


def test_missing_model_file(tmp_path: Path) -> None:
    assert "not found" in str(_expect_input_error(tmp_path / "nope.safetensors"))


@pytest.mark.parametrize("garbage", [b"", b"not a model", b"\x00" * 64])
def test_garbage_file_is_an_input_error(tmp_path: Path, garbage: bytes) -> None:
    path = tmp_path / "bad.safetensors"
    path.write_bytes(garbage)
    _expect_input_error(path)


def test_truncated_model_file_is_an_input_error(model_file: Path, tmp_path: Path) -> None:
    path = tmp_path / "truncated.safetensors"
    path.write_bytes(model_file.read_bytes()[: len(model_file.read_bytes()) // 2])
    _expect_input_error(path)


def test_wrong_format_and_version_are_input_errors(with_lexicon: TrainedModel, tmp_path: Path) -> None:
    from safetensors.numpy import save_file

    path = tmp_path / "other.safetensors"
    save_file({"x": np.zeros(3, dtype=np.float32)}, str(path), metadata={"format": "someone-elses-model"})
    assert "not a Safeguard model" in str(_expect_input_error(path))
    old = tmp_path / "old.safetensors"
    save_file(
        {"x": np.zeros(3, dtype=np.float32)}, str(old), metadata={"format": FORMAT_NAME, "version": "1"}
    )
    assert "retrain" in str(_expect_input_error(old))


def test_wrong_shapes_are_input_errors(model_file: Path, tmp_path: Path) -> None:
    from safetensors import safe_open
    from safetensors.numpy import save_file

    with safe_open(str(model_file), framework="numpy") as handle:
        header = handle.metadata()
        arrays = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118
    short = tmp_path / "short.safetensors"
    save_file({**arrays, "coef_lexicon": arrays["coef_lexicon"][:2]}, str(short), metadata=header)
    assert "coef_lexicon" in str(_expect_input_error(short))


def _stream(detector: Detector, text: str) -> float:
    state = detector.new_conversation("c")
    for index, line in enumerate(text.split("\n")):
        state.add_message(Message("c", str(index), "", line))
    return state.risk


def test_streaming_score_is_close_to_the_batch_score(model_file: Path) -> None:
    detector = Detector(model=TrainedModel.load(model_file), embeddings=False)
    texts, _ = generate(4, 4, seed=11)
    batch = [r.score for r in detector.score_records([TextRecord(str(i), t) for i, t in enumerate(texts)])]
    for text, expected in zip(texts, batch, strict=True):
        # The stream's risk is the highest reached; the last message's state is the whole text.
        assert _stream(detector, text) >= expected - 0.15


def test_streaming_state_with_a_model_round_trips_through_json(model_file: Path) -> None:
    detector = Detector(model=TrainedModel.load(model_file), embeddings=False)
    state = detector.new_conversation("c")
    state.add_message("ur so mature for ur age")
    restored = detector.restore_conversation(json.loads(json.dumps(state.to_dict())))
    state.add_message("dont tell ur mum")
    restored.add_message("dont tell ur mum")
    assert restored.risk == pytest.approx(state.risk)
