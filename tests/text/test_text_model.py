"""The trainable linear model: training on a small generated set, the safetensors
file (round trip, tampering, wrong header) and streaming vs batch scores."""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path

import numpy as np
import pytest

from safeguard.errors import InputError
from safeguard.ingest.records import Message, TextRecord
from safeguard.text import Detector
from safeguard.text.model import FORMAT_NAME, TrainedModel, train_model

# Leaflet-level tactic lines and ordinary chat, combined into small "conversations".
TACTICS = [
    "how old are you?",
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
    "ill send u robux",
    "send me a pic of you",
    "do u have a webcam",
    "have u ever had a boyfriend",
    "we should meet up",
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


def evidence_for(detector: Detector, texts: list[str]) -> tuple[list[dict[str, float]], list[float]]:
    evidences, contexts = [], []
    for i, text in enumerate(texts):
        state = detector.new_conversation(str(i))
        for line in text.split("\n"):
            state.add_message(line)
        evidences.append(state.evidence)
        contexts.append(state.child_context)
    return evidences, contexts


@pytest.fixture(scope="module")
def trained(fast_detector: Detector) -> TrainedModel:
    texts, labels = generate(16, 16, seed=1)
    evidences, contexts = evidence_for(fast_detector, texts)
    return train_model(texts, labels, evidences, contexts, c_grid=(4.0,), folds=3)


@pytest.fixture(scope="module")
def model_file(trained: TrainedModel, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("model") / "sub" / "model.safetensors"
    trained.save(path)
    return path


def test_trained_model_separates_held_out_data(trained: TrainedModel, fast_detector: Detector) -> None:
    texts, labels = generate(8, 8, seed=99)
    evidences, contexts = evidence_for(fast_detector, texts)
    scores = trained.score_texts(texts, evidences, contexts)
    pos = [s for s, y in zip(scores, labels, strict=True) if y == 1]
    neg = [s for s, y in zip(scores, labels, strict=True) if y == 0]
    assert min(pos) > max(neg)
    assert 0.05 <= trained.threshold <= 0.95
    assert trained.metadata["examples"] == 32 and trained.metadata["positives"] == 16
    assert trained.metadata["cv_f1"] > 0.8


def test_training_needs_both_labels(fast_detector: Detector) -> None:
    texts = ["hello", "hi there", "how are you"]
    evidences, contexts = evidence_for(fast_detector, texts)
    with pytest.raises(InputError, match="both labels"):
        train_model(texts, [0, 0, 0], evidences, contexts)
    with pytest.raises(InputError, match="at least two"):
        train_model(texts, [1, 0, 0], evidences, contexts)


def test_save_load_round_trip_gives_identical_scores(
    trained: TrainedModel, model_file: Path, fast_detector: Detector
) -> None:
    loaded = TrainedModel.load(model_file)
    assert loaded.threshold == trained.threshold
    assert loaded.intercept == trained.intercept
    assert loaded.metadata == trained.metadata
    for name in ("idf_word", "idf_char", "coef_word", "coef_char", "coef_dense"):
        assert np.array_equal(getattr(loaded, name), getattr(trained, name))
    texts, _ = generate(4, 4, seed=7)
    evidences, contexts = evidence_for(fast_detector, texts)
    assert loaded.score_texts(texts, evidences, contexts) == trained.score_texts(texts, evidences, contexts)


def test_model_file_is_safetensors_with_a_json_header(model_file: Path) -> None:
    raw = model_file.read_bytes()
    header_len = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8 : 8 + header_len])
    assert header["__metadata__"]["format"] == FORMAT_NAME
    assert set(header) - {"__metadata__"} == {"idf_word", "idf_char", "coef_word", "coef_char", "coef_dense"}


def _expect_input_error(path: Path) -> InputError:
    with pytest.raises(InputError) as info:
        TrainedModel.load(path)
    assert info.value.path == str(path)
    assert str(path) in str(info.value)
    return info.value


def test_missing_model_file(tmp_path: Path) -> None:
    assert "not found" in str(_expect_input_error(tmp_path / "nope.safetensors"))


@pytest.mark.parametrize(
    "garbage",
    [b"", b"not a model at all", b"\x00" * 64, b"\xff" * 8 + b"{}", json.dumps({"a": 1}).encode()],
)
def test_garbage_file_is_an_input_error(tmp_path: Path, garbage: bytes) -> None:
    path = tmp_path / "garbage.safetensors"
    path.write_bytes(garbage)
    assert "not a Safeguard model file" in str(_expect_input_error(path))


def test_truncated_model_file_is_an_input_error(model_file: Path, tmp_path: Path) -> None:
    path = tmp_path / "truncated.safetensors"
    path.write_bytes(model_file.read_bytes()[:2000])
    _expect_input_error(path)


def test_tampered_header_is_an_input_error(model_file: Path, tmp_path: Path) -> None:
    raw = bytearray(model_file.read_bytes())
    raw[10:14] = b"\xff\xfe\xfd\xfc"  # corrupt the JSON header
    path = tmp_path / "tampered.safetensors"
    path.write_bytes(bytes(raw))
    _expect_input_error(path)


def test_wrong_format_header_is_an_input_error(trained: TrainedModel, tmp_path: Path) -> None:
    from safetensors.numpy import save_file

    path = tmp_path / "other.safetensors"
    save_file({"coef_dense": trained.coef_dense}, str(path), metadata={"format": "someone-elses-model"})
    error = _expect_input_error(path)
    assert "someone-elses-model" in str(error)


def test_wrong_version_and_shapes_are_input_errors(
    trained: TrainedModel, model_file: Path, tmp_path: Path
) -> None:
    from safetensors import safe_open
    from safetensors.numpy import save_file

    with safe_open(str(model_file), framework="numpy") as handle:
        header = dict(handle.metadata())
        arrays = {k: handle.get_tensor(k) for k in handle.keys()}  # noqa: SIM118
    newer = tmp_path / "newer.safetensors"
    save_file(arrays, str(newer), metadata={**header, "version": "99"})
    assert "version" in str(_expect_input_error(newer))
    short = tmp_path / "short.safetensors"
    save_file({**arrays, "coef_dense": arrays["coef_dense"][:3]}, str(short), metadata=header)
    assert "coef_dense" in str(_expect_input_error(short))


def test_streaming_score_is_close_to_the_batch_score(model_file: Path) -> None:
    """The streaming state sums each message's n-grams; the batch path vectorises the
    whole text at once. They differ only in word bigrams that span two messages (the
    last word of one and the first of the next), so the probabilities are close but not
    equal: a loose tolerance, not exact equality."""
    model = TrainedModel.load(model_file)
    detector = Detector(model=model)
    assert not detector.embeddings  # a trained model does without the embedding stage
    texts, _ = generate(3, 3, seed=5)
    records = [TextRecord(str(i), t) for i, t in enumerate(texts)]
    batch = {r.id: r.score for r in detector.score_records(records)}
    for record in records:
        state = detector.new_conversation(record.id)
        for i, line in enumerate(record.text.split("\n")):
            state.add_message(Message(record.id, str(i), "", line))
        assert state.risk == pytest.approx(batch[record.id], abs=0.05)  # observed < 0.005


def _round_trip(model_file: Path, through_json: bool) -> None:
    detector = Detector(model=TrainedModel.load(model_file))
    texts, _ = generate(1, 0, seed=3)
    lines = texts[0].split("\n")
    state = detector.new_conversation("m")
    for line in lines[:4]:
        state.add_message(line)
    data = state.to_dict()
    data = json.loads(json.dumps(data)) if through_json else copy.deepcopy(data)
    restored = detector.restore_conversation(data)
    for line in lines[4:]:
        assert state.add_message(line).conversation_risk == restored.add_message(line).conversation_risk
    assert restored.risk == pytest.approx(state.risk, abs=1e-6)


def test_streaming_state_with_a_model_restores(model_file: Path) -> None:
    _round_trip(model_file, through_json=False)


def test_streaming_state_with_a_model_round_trips_through_json(model_file: Path) -> None:
    _round_trip(model_file, through_json=True)
