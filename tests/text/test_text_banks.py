"""Example banks: adding examples (dedup, errors) and contrastive scoring."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from safeguard.errors import InputError
from safeguard.text.banks import MAX_EXAMPLE_CHARS, add_examples, load_examples


@pytest.fixture
def data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """SAFEGUARD_DATA_DIR under tmp for one test; settings restored afterwards."""
    from safeguard.config import get_settings

    path = tmp_path / "data"
    monkeypatch.setenv("SAFEGUARD_DATA_DIR", str(path))
    monkeypatch.setenv("SAFEGUARD_CONFIG", str(tmp_path / "absent.toml"))
    get_settings.cache_clear()
    yield path
    monkeypatch.undo()
    get_settings.cache_clear()


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def bank_rows(path: Path) -> list[dict[str, str]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_add_positive_examples_and_dedup(data_dir: Path, tmp_path: Path) -> None:
    source = write_lines(
        tmp_path / "pos.txt",
        [
            "wanna chat on a different app",
            "",
            "WANNA CHAT ON A DIFFERENT APP",  # same after normalisation
            "w4nna ch4t on a d1fferent 4pp",  # same after leet folding
            "lets go somewhere more private to talk",
        ],
    )
    added, duplicates, bank = add_examples("platform_move", source, positive=True)
    assert (added, duplicates) == (2, 2)
    assert bank == data_dir / "example-banks" / "positive.jsonl"
    assert bank_rows(bank) == [
        {"category": "platform_move", "text": "wanna chat on a different app"},
        {"category": "platform_move", "text": "lets go somewhere more private to talk"},
    ]
    # Adding the same file again adds nothing.
    assert add_examples("platform_move", source, positive=True)[:2] == (0, 4)
    assert len(bank_rows(bank)) == 2
    loaded = [e for e in load_examples() if e.text == "wanna chat on a different app"]
    assert loaded and loaded[0].positive and loaded[0].category == "platform_move"


def test_add_negative_examples_go_to_their_own_bank(data_dir: Path, tmp_path: Path) -> None:
    source = write_lines(tmp_path / "neg.txt", ["add me on discord so we can plan the kitchen tiles"])
    added, duplicates, bank = add_examples("benign", source, positive=False)
    assert (added, duplicates) == (1, 0)
    assert bank == data_dir / "example-banks" / "negative.jsonl"
    assert not (data_dir / "example-banks" / "positive.jsonl").exists()
    # A negative example does not dedup against the positive bank, nor vice versa.
    assert add_examples("benign", source, positive=True)[:2] == (1, 0)


def test_dedup_is_per_category(data_dir: Path, tmp_path: Path) -> None:
    source = write_lines(tmp_path / "x.txt", ["keep this between us ok"])
    assert add_examples("secrecy", source, positive=True)[:2] == (1, 0)
    assert add_examples("isolation", source, positive=True)[:2] == (1, 0)


def test_packaged_examples_count_as_duplicates(data_dir: Path, tmp_path: Path) -> None:
    packaged = next(e for e in load_examples() if e.positive)
    source = write_lines(tmp_path / "dup.txt", [packaged.text])
    assert add_examples(packaged.category, source, positive=True)[:2] == (0, 1)


def test_unknown_category_is_an_input_error(data_dir: Path, tmp_path: Path) -> None:
    source = write_lines(tmp_path / "a.txt", ["hello"])
    with pytest.raises(InputError) as info:
        add_examples("grooming", source, positive=True)
    assert info.value.field == "category"
    assert "unknown category 'grooming'" in str(info.value) and "platform_move" in str(info.value)
    assert not (data_dir / "example-banks").exists()


def test_missing_source_is_an_input_error(data_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found") as info:
        add_examples("secrecy", tmp_path / "absent.txt", positive=True)
    assert info.value.path == str(tmp_path / "absent.txt")


def test_over_long_line_names_its_line(data_dir: Path, tmp_path: Path) -> None:
    source = write_lines(tmp_path / "long.txt", ["fine line", "", "x" * (MAX_EXAMPLE_CHARS + 1)])
    with pytest.raises(InputError) as info:
        add_examples("secrecy", source, positive=True)
    assert info.value.line == 3
    assert info.value.path == str(source)
    assert "line 3" in str(info.value) and str(MAX_EXAMPLE_CHARS) in str(info.value)
    # Nothing is written when the file is rejected.
    assert not (data_dir / "example-banks" / "positive.jsonl").exists()


def test_non_utf8_source_is_an_input_error(data_dir: Path, tmp_path: Path) -> None:
    source = tmp_path / "latin1.txt"
    source.write_bytes("caf\xe9 secret".encode("latin-1"))
    with pytest.raises(InputError, match="UTF-8"):
        add_examples("secrecy", source, positive=True)


def test_corrupt_user_bank_names_file_and_line(data_dir: Path) -> None:
    bank = data_dir / "example-banks" / "positive.jsonl"
    bank.parent.mkdir(parents=True)
    bank.write_text('{"category": "secrecy", "text": "ok"}\n{not json\n', encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_examples()
    assert info.value.path == str(bank) and info.value.line == 2


def test_contrastive_scores_prefer_tactics(embedding_detector: object) -> None:
    """Nearest-example scoring (MiniLM, offline): a tactic sits closer to the positive
    bank than ordinary chat does."""
    from safeguard.text.banks import ExampleBanks

    banks = ExampleBanks.cached()
    scores, nearest = banks.scores(
        [
            "dont tell ur mum about us, its our secret",
            "send me a pic of you",
            "what time is the match on saturday",
        ]
    )
    assert len(scores) == 3 and len(nearest) == 3
    assert scores[0] > scores[2] and scores[1] > scores[2]
    assert nearest[0] in {"secrecy", "isolation"}
    empty, cats = banks.scores([])
    assert len(empty) == 0 and cats == []
