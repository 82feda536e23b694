"""URL normalisation and URL-bank matching (plain URLs and MD5s, in text)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from safeguard.errors import InputError
from safeguard.media.banks import import_file
from safeguard.media.urls import extract_urls, match_urls_in_text, normalise_url, url_md5
from safeguard.store.db import session_scope


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("https://WWW.Example.COM:443/a%7eb/?z=1&a=2#top", "example.com/a~b?a=2&z=1"),
        ("http://example.com:80", "example.com"),
        ("example.com/", "example.com"),
        ("HTTP://Example.com:8080/Path//", "example.com:8080/Path"),
        ("http://example.com/a b/%2f%c3%a9?q=%e2%82%ac&b", "example.com/a%20b/%2F%C3%A9?b&q=%E2%82%AC"),
        ("https://bücher.example/x/", "xn--bcher-kva.example/x"),
        ("http://user:secret@www.example.com./p?b=2&a=1&", "example.com/p?a=1&b=2"),
        ("//cdn.example.org/file.png", "cdn.example.org/file.png"),
    ],
)
def test_normalise_url(raw: str, normal: str) -> None:
    assert normalise_url(raw) == normal


def test_equivalent_urls_share_one_form_and_md5() -> None:
    forms = [
        "https://www.example.com/gallery/?b=2&a=1",
        "http://EXAMPLE.com:80/gallery?a=1&b=2",
        "example.com/gallery/?a=%31&b=2",
        "HTTPS://example.com:443/gallery/?a=1&b=2#frag?x",
    ]
    assert len({normalise_url(f) for f in forms}) == 1
    assert len({url_md5(f) for f in forms}) == 1
    assert normalise_url("example.com/Gallery") != normalise_url("example.com/gallery")


@pytest.mark.parametrize(
    ("raw", "reason"), [("", "empty URL"), ("http://", "no host"), ("http://[::1", "malformed URL")]
)
def test_bad_urls(raw: str, reason: str) -> None:
    with pytest.raises(InputError, match=reason):
        normalise_url(raw)


def test_extract_urls_from_text() -> None:
    text = (
        "add me on snap! or go to www.chat-example.com/room/7, https://files.example/x?id=1. "
        "mail me at someone@mail.example (not a link); see bad.example/path)."
    )
    assert extract_urls(text) == [
        "www.chat-example.com/room/7",
        "https://files.example/x?id=1",
        "bad.example/path",
    ]


def test_url_bank_matching(media_db: str, tmp_path: Path) -> None:
    plain = tmp_path / "urls.txt"
    plain.write_text("# plain URLs\nhttps://files.example/x?id=1\nwhole-site.example\nhttp://\n", "utf-8")
    md5s = tmp_path / "md5s.txt"
    te_style = hashlib.md5(b"md5-listed.example/page").hexdigest()
    md5s.write_text(f"{url_md5('https://hashed.example/a/b')}\n{te_style}\n", "utf-8")
    with session_scope() as s:
        report = import_file(s, "urls", plain, fmt="urls", create=True, source="list-u")
        assert (report.added, report.rejected) == (2, [("line 4", "URL 'http://' has no host")])
        report = import_file(s, "urls", md5s, fmt="urls", source="list-m", category="c2")
        assert report.added == 2
        again = import_file(s, "urls", plain, fmt="urls", source="list-u")
        assert (again.added, again.duplicates) == (0, 2)
    text = (
        "hi, see HTTP://FILES.example/x/?id=1 and whole-site.example/any/page, "
        "then hashed.example/a/b/ and https://md5-listed.example/page, nothing.example/else"
    )
    with session_scope() as s:
        found = match_urls_in_text(s, text)
    got = [(m.url, m.signal_type, m.exact, m.matched, m.source) for m in found]
    assert got == [
        ("HTTP://FILES.example/x/?id=1", "url", True, "files.example/x?id=1", "list-u"),
        ("hashed.example/a/b/", "url_md5", True, "hashed.example/a/b", "list-m"),
        ("https://md5-listed.example/page", "url_md5", True, "md5-listed.example/page", "list-m"),
        ("whole-site.example/any/page", "url", False, "whole-site.example", "list-u"),
    ]
    with session_scope() as s:
        assert match_urls_in_text(s, "nothing to see at clean.example") == []
        assert match_urls_in_text(s, text, banks=["urls"]) == found
