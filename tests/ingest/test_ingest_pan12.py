"""PAN 2012 XML reader: messages, bad input, XML attacks, control characters, memory."""

from __future__ import annotations

import io
import sys
import threading
import tracemalloc
from pathlib import Path

import pytest

from safeguard.errors import InputError
from safeguard.ingest import (
    MAX_TEXT_CHARS,
    BadInputReport,
    Message,
    read_messages,
    read_pan12,
    read_predator_ids,
)
from safeguard.ingest.pan12 import CleanXmlStream

FIXTURES = Path(__file__).parent / "fixtures"


def write(tmp_path: Path, body: bytes | str, name: str = "pan.xml") -> Path:
    path = tmp_path / name
    path.write_bytes(body.encode("utf-8") if isinstance(body, str) else body)
    return path


def only_error(path: Path) -> InputError:
    with pytest.raises(InputError) as info:
        list(read_pan12(path))
    return info.value


def test_reads_fixture_corpus() -> None:
    got = list(read_pan12(FIXTURES / "pan12_small.xml"))
    assert got[0] == Message(
        conversation_id="a1b2c3",
        message_id="a1b2c3:1",
        sender_id="f00dcafe01",
        text="hey how was school",
        sent_at="15:02",
        line=4,
    )
    assert [m.message_id for m in got] == [
        "a1b2c3:1", "a1b2c3:2", "a1b2c3:3", "a1b2c3:4", "d4e5f6:1", "d4e5f6:2",
    ]
    assert got[3].text == "add me on snap, and don't tell your mum"
    assert got[4].text == ""  # empty <text/>
    assert got[5].text == "" and got[5].sent_at is None  # no <text>, no <time>
    assert got[2].text == "ok\n  see you"  # multi-line text kept as written
    assert got[3].line == 8
    ids = read_predator_ids(FIXTURES / "pan12_predators.txt")
    assert ids == {"f00dcafe01", "beef0002"}
    assert list(read_messages(FIXTURES / "pan12_small.xml", "pan12")) == got


def test_predator_ids_whitespace_blank_lines_and_bad_utf8(tmp_path: Path) -> None:
    path = write(tmp_path, b"\xef\xbb\xbf  id1  \n\n\t\nid2\r\nid1\n", "ids.txt")
    assert read_predator_ids(str(path)) == {"id1", "id2"}
    bad = write(tmp_path, b"id1\nid\xff2\n", "bad.txt")
    with pytest.raises(InputError, match=r"bad\.txt, line 2: invalid UTF-8"):
        read_predator_ids(bad)
    assert read_predator_ids(write(tmp_path, b"", "empty.txt")) == set()


def test_missing_author_names_field_and_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '<conversations>\n<conversation id="c">\n'
        '<message line="1"><author>a</author><text>hi</text></message>\n'
        '<message line="2">\n<time>10:00</time><text>no author</text></message>\n'
        "</conversation>\n</conversations>\n",
    )
    error = only_error(path)
    assert (error.path, error.line, error.field, error.reason) == (str(path), 4, "author",
                                                                    "missing")
    assert str(error) == f"{path}, line 4, field 'author': missing"
    report = BadInputReport()
    got = list(read_pan12(path, skip_bad=True, report=report))
    assert [m.message_id for m in got] == ["c:1"]
    assert report.skipped == 1 and report.reasons == [str(error)]


@pytest.mark.parametrize(
    ("message", "field", "reason"),
    [
        ('<message line="1"><author>  </author><text>x</text></message>', "author", "is empty"),
        ("<message><author>a</author><text>x</text></message>", "line", "no 'line' attribute"),
    ],
)
def test_bad_message_fields(tmp_path: Path, message: str, field: str, reason: str) -> None:
    path = write(tmp_path, f'<conversations>\n<conversation id="c">\n{message}\n'
                           "</conversation></conversations>")
    error = only_error(path)
    assert (error.line, error.field) == (3, field) and reason in error.reason


def test_conversation_without_id(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "<conversations>\n<conversation>\n"
        '<message line="1"><author>a</author><text>x</text></message>\n'
        '<message line="2"><author>b</author><text>y</text></message>\n'
        '</conversation>\n<conversation id="ok">\n'
        '<message line="1"><author>a</author><text>z</text></message>\n'
        "</conversation></conversations>",
    )
    error = only_error(path)
    assert (error.line, error.field, error.reason) == (2, "id", "conversation id missing")
    report = BadInputReport()
    got = list(read_pan12(path, skip_bad=True, report=report))
    assert [m.message_id for m in got] == ["ok:1"]
    # each message of the conversation is counted: nothing dropped silently
    assert report.reasons == [
        f"{path}, line 3, field 'id': the conversation at line 2 has no id",
        f"{path}, line 4, field 'id': the conversation at line 2 has no id",
    ]


def test_text_over_limit(tmp_path: Path) -> None:
    big = "a" * (MAX_TEXT_CHARS + 5)
    path = write(
        tmp_path,
        f'<conversations><conversation id="c">\n<message line="1"><author>a</author>'
        f"<text>{big}</text></message>\n"
        '<message line="2"><author>a</author><text>fine</text></message>\n'
        "</conversation></conversations>",
    )
    error = only_error(path)
    assert (error.line, error.field) == (2, "text")
    assert error.reason == f"text is {MAX_TEXT_CHARS + 5} characters; the limit is 1000000"
    report = BadInputReport()
    assert [m.text for m in read_pan12(path, skip_bad=True, report=report)] == ["fine"]
    assert report.skipped == 1


@pytest.mark.parametrize(
    ("body", "line", "reason"),
    [
        ('<conversations>\n<conversation id="c">\n<message line="1">\n'
         "<author>a</author></mesage>", 4, "mismatched tag"),
        ("<conversations>\n<conversation id='c'>\n", 3, "no element found"),
        ("not xml at all", 1, "syntax error"),
        ("<conversations>&undefined;</conversations>", 1, "undefined entity"),
    ],
)
def test_malformed_xml_reports_parser_line(
    tmp_path: Path, body: str, line: int, reason: str
) -> None:
    path = write(tmp_path, body)
    error = only_error(path)
    assert error.path == str(path) and error.line == line
    assert error.reason.startswith("malformed XML") and reason in error.reason
    # malformed XML cannot be skipped past: it is raised even with skip_bad
    with pytest.raises(InputError):
        list(read_pan12(path, skip_bad=True, report=BadInputReport()))


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<conversations><conversation id="c"><message line="1"><author>a</author>
<text>&lol9;</text></message></conversation></conversations>
"""

EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE conversations [ <!ENTITY xxe SYSTEM "file:///etc/passwd"> ]>
<conversations><conversation id="c"><message line="1"><author>a</author>
<text>&xxe;</text></message></conversation></conversations>
"""

EXTERNAL_DTD = """<?xml version="1.0"?>
<!DOCTYPE conversations SYSTEM "http://example.invalid/evil.dtd">
<conversations/>
"""


@pytest.mark.parametrize("body", [BILLION_LAUGHS, EXTERNAL_ENTITY, EXTERNAL_DTD])
def test_xml_attacks_are_rejected_quickly(tmp_path: Path, body: str) -> None:
    path = write(tmp_path, body)
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            list(read_pan12(path, skip_bad=True, report=BadInputReport()))
            outcome.append(None)
        except BaseException as exc:  # recorded for the assertion below
            outcome.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(timeout=10)
    assert not worker.is_alive(), "the reader hung on an XML attack"
    [error] = outcome
    assert isinstance(error, InputError)
    assert error.path == str(path) and error.line == 2
    assert "not allowed" in error.reason


def test_control_characters_are_filtered(tmp_path: Path) -> None:
    raw = (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<conversations>\n<conversation id="c">\n'
        b'<message line="1"><author>a\x01</author><time>10:00</time>'
        b"<text>hi\x00 there\x08\x0b\x0c\x1f&#x1;&#2;&#x9;ok &#233;</text></message>\n"
        b'<message line="2"><author>b</author><text>sure \xef\xbf\xbe\xc3\xa9</text></message>\n'
        b'<message line="3"><author>c</author></message>\n'
        b"</conversation></conversations>\n"
    )
    path = write(tmp_path, raw)
    got = list(read_pan12(path))
    assert [(m.sender_id, m.text, m.line) for m in got] == [
        ("a", "hi there\tok é", 4),
        ("b", "sure é", 5),
        ("c", "", 6),
    ]


def test_clean_stream_handles_chunk_boundaries() -> None:
    # control characters, split UTF-8 sequences and split character references at every
    # position across the wrapper's internal chunks
    body = ("é&#x1;\x02&#233;ü\n" * 20_000).encode("utf-8")
    stream = CleanXmlStream(io.BytesIO(body), "x.xml", strict=True)
    out = b""
    while chunk := stream.read(16 * 1024):
        out += chunk
    assert out.decode("utf-8") == "é&#233;ü\n" * 20_000


def test_invalid_utf8_names_the_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        b'<conversations>\n<conversation id="c">\n'
        b'<message line="1"><author>a</author><text>one</text></message>\n'
        b'<message line="2"><author>b</author>\n<text>caf\xe9</text></message>\n'
        b'<message line="3"><author>c</author><text>three</text></message>\n'
        b"</conversation>\n</conversations>\n",
    )
    error = only_error(path)
    assert (error.line, error.field) == (5, None) and "invalid UTF-8" in error.reason
    report = BadInputReport()
    got = list(read_pan12(path, skip_bad=True, report=report))
    assert [m.message_id for m in got] == ["c:1", "c:3"]
    assert report.skipped == 1 and f"{path}, line 5" in report.reasons[0]


def test_invalid_utf8_outside_messages_is_counted(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        b'<conversations>\n<conversation id="c" note="\xff">\n'
        b'<message line="1"><author>a</author><text>one</text></message>\n'
        b"</conversation>\n<!-- \xfe -->\n</conversations>\n",
    )
    report = BadInputReport()
    got = list(read_pan12(path, skip_bad=True, report=report))
    assert [m.text for m in got] == ["one"]
    assert report.skipped == 2
    assert "line 2" in report.reasons[0] and "line 5" in report.reasons[1]


def test_empty_file_yields_nothing(tmp_path: Path) -> None:
    assert list(read_pan12(write(tmp_path, b""))) == []
    assert list(read_pan12(write(tmp_path, b"  \n\n", "ws.xml"))) == []
    assert list(read_pan12(write(tmp_path, "<conversations/>", "none.xml"))) == []


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot open file"):
        list(read_pan12(tmp_path / "absent.xml"))


def test_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    body = (FIXTURES / "pan12_small.xml").read_bytes()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(body)))
    assert len(list(read_pan12("-"))) == 6


def test_other_declared_encoding_passes_through(tmp_path: Path) -> None:
    raw = (
        '<?xml version="1.0" encoding="ISO-8859-1"?>\n<conversations><conversation id="c">'
        '<message line="1"><author>a</author><text>café</text></message>'
        "</conversation></conversations>"
    ).encode("latin-1")
    [got] = list(read_pan12(write(tmp_path, raw)))
    assert got.text == "café"


def test_memory_stays_flat_on_a_large_file(tmp_path: Path) -> None:
    path = tmp_path / "big.xml"
    conversations, per_conversation = 400, 100
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("<conversations>\n")
        for c in range(conversations):
            handle.write(f'<conversation id="conv{c}">\n')
            for m in range(per_conversation):
                handle.write(
                    f'<message line="{m + 1}"><author>user{m % 7}</author><time>10:{m % 60:02d}'
                    f"</time><text>message {m} in conversation {c}: how was school today? "
                    f"{'lorem ipsum ' * 10}</text></message>\n"
                )
            handle.write("</conversation>\n")
        handle.write("</conversations>\n")
    size = path.stat().st_size
    tracemalloc.start()
    try:
        count = sum(1 for _ in read_pan12(path))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == conversations * per_conversation
    assert size > 8_000_000
    assert peak < size / 10, f"peak {peak} bytes for a {size}-byte file"


def test_message_outside_a_conversation(tmp_path: Path) -> None:
    path = write(tmp_path, '<conversations>\n<message line="1"><author>a</author></message>\n'
                           "</conversations>")
    error = only_error(path)
    assert error.line == 2 and "outside a <conversation>" in error.reason
