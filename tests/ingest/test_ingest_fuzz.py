"""Fuzz the readers: any input either yields records or raises InputError, nothing else."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safeguard.errors import InputError
from safeguard.ingest import (
    AGE_BANDS,
    BadInputReport,
    detect_format,
    read_csv_records,
    read_jsonl,
    read_pan12,
    read_predator_ids,
)

FUZZ = settings(max_examples=200, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

_TMP = tempfile.TemporaryDirectory(prefix="safeguard-ingest-fuzz-")


def as_file(data: bytes, name: str) -> Path:
    path = Path(_TMP.name) / name
    path.write_bytes(data)
    return path


def drain(read: Callable[..., Iterator[Any]], path: Path, skip_bad: bool,
          **kwargs: Any) -> tuple[list[Any], BadInputReport]:
    """Run a reader to the end; only InputError may escape."""
    report = BadInputReport()
    try:
        records = list(read(path, skip_bad=skip_bad, report=report if skip_bad else None,
                            **kwargs))
    except InputError as error:
        assert error.path == str(path)
        assert str(error).startswith(str(path))
        return [], report
    return records, report


# --- random bytes -------------------------------------------------------------------------

@FUZZ
@given(data=st.binary(max_size=2000), skip_bad=st.booleans())
def test_jsonl_random_bytes(data: bytes, skip_bad: bool) -> None:
    drain(read_jsonl, as_file(data, "rand.jsonl"), skip_bad)


@FUZZ
@given(data=st.binary(max_size=2000), skip_bad=st.booleans())
def test_pan12_random_bytes(data: bytes, skip_bad: bool) -> None:
    drain(read_pan12, as_file(data, "rand.xml"), skip_bad)


@FUZZ
@given(data=st.binary(max_size=2000), skip_bad=st.booleans())
def test_csv_random_bytes(data: bytes, skip_bad: bool) -> None:
    drain(read_csv_records, as_file(data, "rand.csv"), skip_bad, text_column="text",
          label_column="label")


@FUZZ
@given(data=st.binary(max_size=500))
def test_predator_ids_and_detect_format_random_bytes(data: bytes) -> None:
    path = as_file(data, "rand.bin")
    try:
        ids = read_predator_ids(path)
        assert all(i and i == i.strip() for i in ids)
    except InputError:
        pass
    with contextlib.suppress(InputError):
        assert detect_format(path) in ("jsonl", "pan12", "csv")


# --- structured but wrong JSON ------------------------------------------------------------

json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False), st.text(max_size=30), st.sampled_from([*AGE_BANDS, "TEEN"]),
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=8,
)
field_names = st.sampled_from(
    ["conversation_id", "message_id", "sender_id", "sent_at", "text", "sender_age_band", "x"]
)
json_objects = st.dictionaries(field_names, json_values, max_size=7)
json_lines = st.one_of(
    json_objects.map(json.dumps),
    json_values.map(json.dumps),
    st.text(max_size=40),
    json_objects.map(lambda o: json.dumps(o)[:-1]),  # truncated
    st.just(""),
)


@FUZZ
@given(lines=st.lists(json_lines, max_size=12), skip_bad=st.booleans())
def test_jsonl_structured(lines: list[str], skip_bad: bool) -> None:
    body = "\n".join(line.replace("\n", " ").replace("\r", " ") for line in lines)
    path = as_file(body.encode("utf-8", "surrogatepass"), "struct.jsonl")
    records, report = drain(read_jsonl, path, skip_bad)
    if skip_bad:
        # nothing dropped silently: every non-blank line is a record or a counted skip
        non_blank = sum(1 for line in body.split("\n") if line.strip())
        assert len(records) + report.skipped == non_blank
    for message in records:
        assert message.sender_age_band in (None, *AGE_BANDS)
        assert isinstance(message.text, str) and message.conversation_id


# --- structured but wrong XML -------------------------------------------------------------

xml_text = st.lists(
    st.sampled_from([*"ab <>&;#x1\"'\n\t", "\x00", "\x01", "\x1f", "\ufffe", "é",
                     "&amp;", "&#1;", "&#x41;", "&#xFFFE;"]),
    max_size=20,
).map("".join)
xml_tags = st.sampled_from(["conversations", "conversation", "message", "author", "time",
                            "text", "other"])
xml_attrs = st.dictionaries(st.sampled_from(["id", "line"]), st.text(max_size=5), max_size=2)


@st.composite
def xml_elements(draw: st.DrawFn, depth: int = 0) -> str:
    tag = draw(xml_tags)
    attrs = "".join(f' {k}="{v}"' for k, v in draw(xml_attrs).items())
    if depth >= 3 or draw(st.booleans()):
        inner = draw(xml_text)
    else:
        inner = "".join(draw(st.lists(xml_elements(depth + 1), max_size=3)))
    close = draw(st.sampled_from([tag, tag, tag, "other"]))
    return f"<{tag}{attrs}>{inner}</{close}>"


@st.composite
def pan12_documents(draw: st.DrawFn) -> str:
    """Mostly well-formed PAN12 with random content, missing parts and stray elements."""

    def escaped(text: str) -> str:
        if draw(st.integers(0, 29)) == 0:
            return text  # sometimes unescaped: & and < become malformed XML
        return text.replace("&", "&amp;").replace("<", "&lt;")

    def rare() -> bool:
        """True except in about one draw in 20 (hypothesis favours small integers)."""
        return draw(st.integers(0, 19)) != 7

    parts = ["<conversations>\n"]
    for c in range(draw(st.integers(0, 3))):
        conv_id = f' id="c{c}"' if rare() else draw(st.sampled_from(["", ' id=""', ' id=" "']))
        parts.append(f"<conversation{conv_id}>\n")
        for m in range(draw(st.integers(0, 4))):
            line = f' line="{m + 1}"' if rare() else draw(st.sampled_from(["", ' line=""']))
            children = []
            if rare():
                children.append(f"<author>{escaped(draw(xml_text))}x</author>")
            if draw(st.booleans()):
                children.append(f"<time>{escaped(draw(xml_text))}</time>")
            if draw(st.integers(0, 5)):
                children.append(f"<text>{escaped(draw(xml_text))}</text>")
            if draw(st.integers(0, 15)) == 0:
                children.append(draw(xml_elements()))
            sep = draw(st.sampled_from(["", "\n"]))
            parts.append(f"<message{line}>{sep.join(children)}</message>\n")
        parts.append("</conversation>\n")
    parts.append("</conversations>\n")
    return "".join(parts)


@FUZZ
@given(
    prolog=st.sampled_from(["", '<?xml version="1.0" encoding="UTF-8"?>\n', "\ufeff",
                            '<!DOCTYPE x [<!ENTITY a "b">]>']),
    body=st.one_of(pan12_documents(), pan12_documents(), xml_elements()),
    cut=st.integers(min_value=0, max_value=400),
    junk=st.binary(max_size=4),
    skip_bad=st.booleans(),
)
def test_pan12_structured(prolog: str, body: str, cut: int, junk: bytes, skip_bad: bool) -> None:
    document = prolog + body
    if cut % 3 == 0:
        document = document[: len(document) - cut % (len(document) + 1)]
    data = document.encode("utf-8", "surrogatepass")
    if junk and cut % 2:
        at = cut % (len(data) + 1)
        data = data[:at] + junk + data[at:]
    path = as_file(data, "struct.xml")
    for message in drain(read_pan12, path, skip_bad)[0]:
        assert message.sender_id and message.message_id.startswith(message.conversation_id)
        assert "\x00" not in message.text and "\x01" not in message.text


# --- structured but wrong CSV -------------------------------------------------------------

csv_cells = st.lists(st.sampled_from([*'ab,"\t;\r\n 01', "true", "1.0", "é"]),
                     max_size=12).map("".join)


@st.composite
def csv_documents(draw: st.DrawFn) -> str:
    """Mostly well-quoted CSV (csv.writer) with random cells, labels, ragged rows and junk."""
    header = draw(st.permutations(["text", "label", "id", "other"]))
    if draw(st.integers(0, 9)) == 7:
        header = header[:2]  # sometimes without a wanted column
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=draw(st.sampled_from(["\n", "\r\n"])))
    writer.writerow(header)
    for _ in range(draw(st.integers(0, 6))):
        if draw(st.integers(0, 15)) == 0:
            out.write(draw(csv_cells) + "\n")  # a raw, possibly broken line
            continue
        row = []
        for column in header:
            if column == "label":
                row.append(draw(st.sampled_from(["0", "1", "1.0", "true", "FALSE", "0.0"] * 3
                                                 + ["", "2", "x"])))
            else:
                row.append(draw(csv_cells))
        if draw(st.integers(0, 15)) == 0:
            row = row[: draw(st.integers(0, len(row)))]
        writer.writerow(row)
    return out.getvalue()


@FUZZ
@given(
    body=st.one_of(csv_documents(), csv_documents(), st.lists(
        st.lists(csv_cells, max_size=5), max_size=8).map(
        lambda rows: "\n".join(",".join(r) for r in [["text", "label"], *rows]))),
    use_id=st.booleans(),
    skip_bad=st.booleans(),
    bom=st.booleans(),
    junk=st.binary(max_size=3),
    at=st.integers(min_value=0),
)
def test_csv_structured(body: str, use_id: bool, skip_bad: bool, bom: bool, junk: bytes,
                        at: int) -> None:
    data = body.encode("utf-8")
    if junk and at % 2:
        at %= len(data) + 1
        data = data[:at] + junk + data[at:]
    path = as_file((b"\xef\xbb\xbf" if bom else b"") + data, "struct.csv")
    records, _ = drain(read_csv_records, path, skip_bad, text_column="text",
                       label_column="label", id_column="id" if use_id else None)
    for record in records:
        assert record.label in (0, 1) and record.id
