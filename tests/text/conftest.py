"""Fixtures for the grooming-detector tests: the bundled demo conversations,
their expected labels (from the demo README) and shared detectors.

The built-in detector with the embedding stage loads the offline MiniLM model
(seconds), so it is built once per session, with SAFEGUARD_DATA_DIR pointed at
a session temp dir so that a developer's own example banks never leak in.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import pytest

from safeguard.ingest.records import Message
from safeguard.text import Detector, load_detector

_ROW = re.compile(r"^\|\s*(demo-\d+)\s*\|\s*[^|(]*\((\d)\)\s*\|", re.MULTILINE)


def _examples_dir() -> Path:
    return Path(str(resources.files("safeguard.data") / "examples"))


@pytest.fixture(scope="session")
def demo_path() -> Path:
    """The bundled demo conversations (JSONL)."""
    path = _examples_dir() / "conversations.jsonl"
    assert path.is_file()
    return path


@pytest.fixture(scope="session")
def demo_labels() -> dict[str, int]:
    """Expected label per demo conversation, read from the README's table."""
    readme = (_examples_dir() / "README.md").read_text(encoding="utf-8")
    labels = {cid: int(label) for cid, label in _ROW.findall(readme)}
    assert len(labels) == 12 and set(labels.values()) == {0, 1}
    return labels


@pytest.fixture(scope="session")
def demo_messages(demo_path: Path) -> dict[str, list[Message]]:
    """Demo messages grouped by conversation, in file order."""
    grouped: dict[str, list[Message]] = {}
    for line in demo_path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        grouped.setdefault(row["conversation_id"], []).append(
            Message(
                row["conversation_id"],
                row["message_id"],
                row["sender_id"],
                row["text"],
                row.get("sent_at"),
                row.get("sender_age_band"),
            )
        )
    return grouped


@pytest.fixture(scope="session")
def fast_detector() -> Detector:
    """The built-in detector as it ships: lexicon and tactic similarity, no embedding stage."""
    return Detector(embeddings=False)


@pytest.fixture(scope="session")
def embedding_detector(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Detector]:
    """The built-in detector with the nearest-example stage (loads MiniLM once)."""
    from safeguard.config import get_settings
    from safeguard.text.banks import ExampleBanks

    data_dir = tmp_path_factory.mktemp("sg-data")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SAFEGUARD_DATA_DIR", str(data_dir))
        mp.setenv("SAFEGUARD_CONFIG", str(data_dir / "absent.toml"))
        get_settings.cache_clear()
        ExampleBanks.cached.cache_clear()
        detector = load_detector(embeddings=True)
        assert detector.embeddings and detector.model is None
        ExampleBanks.cached()  # build the banks while the isolated data dir is set
        yield detector
    get_settings.cache_clear()
