"""URL lists: normalise URLs, find them in text, and match them against URL banks.

The normal form drops what does not change which resource is meant, so that
list entries and observed links compare equal: scheme (http and https alike),
case of the host, a leading ``www.``, default ports, user info, fragments,
trailing slashes, needless percent-encoding (unreserved characters decoded,
other escapes upper-cased, spaces and non-ASCII encoded as UTF-8) and the
order of query parameters. Internationalised host names become punycode.

``https://WWW.Example.com:443/a%7eb/?z=1&a=2#top`` -> ``example.com/a~b?a=2&z=1``

URL banks hold ``url`` entries (normalised URLs) and ``url_md5`` entries (MD5
of the normalised URL; the MD5 of threatexchange's normalisation is checked
too, so its ``url_md5`` lists match). An entry also matches URLs below it at
a path boundary (an entry for a host matches every page on it).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from safeguard.errors import InputError
from safeguard.media.models import HashBank, HashBankEntry
from safeguard.media.signals import lookup_key

__all__ = [
    "UrlMatch",
    "extract_urls",
    "match_urls",
    "match_urls_in_text",
    "normalise_url",
    "url_md5",
]

_DEFAULT_PORTS = {"http": "80", "https": "443", "ftp": "21"}
_UNRESERVED = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")
# Characters left as they are in a path or query (RFC 3986 pchar, '/' and '?').
_SAFE = set("!$&'()*+,;=:@/?") | _UNRESERVED
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def _normalise_escapes(part: str) -> str:
    """Decode escaped unreserved characters, upper-case other escapes, encode the rest."""
    out: list[str] = []
    i = 0
    while i < len(part):
        ch = part[i]
        if ch == "%" and _ESCAPE.match(part, i):
            code = int(part[i + 1 : i + 3], 16)
            decoded = chr(code)
            out.append(decoded if decoded in _UNRESERVED else f"%{code:02X}")
            i += 3
            continue
        if ch in _SAFE:
            out.append(ch)
        else:
            out.extend(f"%{b:02X}" for b in ch.encode("utf-8"))
        i += 1
    return "".join(out)


def normalise_url(url: str) -> str:
    """The normal form of ``url`` (no scheme): ``host[:port]/path?sorted-query``.

    Raises :class:`InputError` when there is no host to normalise.
    """
    text = (url or "").strip()
    if not text:
        raise InputError("empty URL")
    if not _SCHEME.match(text):
        text = "http://" + text.lstrip("/")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise InputError(f"malformed URL {url!r} ({exc})") from None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise InputError(f"URL {url!r} has no host")
    try:
        host = host.encode("idna").decode("ascii") if not host.isascii() else host
    except UnicodeError:
        raise InputError(f"URL {url!r} has an invalid international host name") from None
    host = host.lower()
    if host.startswith("www."):
        host = host[4:]
    if ":" in host:
        host = f"[{host}]"
    if port is not None and str(port) != _DEFAULT_PORTS.get(scheme):
        host = f"{host}:{port}"
    path = _normalise_escapes(parts.path).rstrip("/")
    query = "&".join(sorted(_normalise_escapes(p) for p in parts.query.split("&") if p))
    return host + path + (f"?{query}" if query else "")


def url_md5(url: str) -> str:
    """MD5 (hex) of the normalised URL: the ``url_md5`` signal."""
    return hashlib.md5(normalise_url(url).encode("utf-8")).hexdigest()


def _threatexchange_md5(url: str) -> str | None:
    try:
        from threatexchange.common import normalize_url as te_normalize
    except ImportError:
        return None
    try:
        return hashlib.md5(te_normalize(url)).hexdigest()
    except ValueError:
        return None


def _prefixes(normalised: str) -> list[str]:
    """The URL itself, without its query, then each parent path up to the host."""
    base, _, query = normalised.partition("?")
    out = [normalised] + ([base] if query else [])
    while "/" in base:
        base = base.rsplit("/", 1)[0]
        out.append(base)
    return out


_URL_IN_TEXT = re.compile(
    r"""(?ix)
    \b(?:
        [a-z][a-z0-9+.-]*://[^\s<>"'`]+                          # scheme://...
      | www\d{0,3}\.[^\s<>"'`]+                                   # www.example...
      | (?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,24}    # bare host.tld
        (?::\d{1,5})?(?:/[^\s<>"'`]*)?
    )
    """
)
_TRAILING = ".,;:!?)]}'\""


def extract_urls(text: str) -> list[str]:
    """URL-looking substrings of ``text`` (with or without scheme), in order, unique."""
    found: dict[str, None] = {}
    text = text or ""
    for match in _URL_IN_TEXT.finditer(text):
        candidate = match.group(0).rstrip(_TRAILING)
        if match.start() > 0 and text[match.start() - 1] in "@.-":
            continue  # the domain of an e-mail address, or a fragment of a word
        if candidate:
            found.setdefault(candidate, None)
    return list(found)


@dataclass(frozen=True)
class UrlMatch:
    """A URL (as found) that matched a URL-bank entry, with the entry's metadata."""

    url: str
    normalised: str
    matched: str  # the normal form (or prefix) that matched
    exact: bool
    bank: str
    entry_id: int
    signal_type: str
    category: str
    source: str
    external_id: str

    def to_dict(self) -> dict[str, object]:
        """JSON-ready fields."""
        return asdict(self)


def match_urls(session: Session, urls: list[str], banks: list[str] | None = None) -> list[UrlMatch]:
    """URL-bank entries matching any of ``urls`` (exact or at a path boundary)."""
    bank_rows = session.scalars(
        select(HashBank).where(HashBank.name.in_(banks)) if banks else select(HashBank)
    ).all()
    if banks:
        missing = sorted(set(banks) - {b.name for b in bank_rows})
        if missing:
            raise InputError(f"no bank named {', '.join(repr(m) for m in missing)}")
    by_id = {b.id: b for b in bank_rows}
    if not by_id:
        return []
    wanted: dict[tuple[str, str], list[tuple[str, str, str]]] = {}
    for url in urls:
        try:
            normalised = normalise_url(url)
        except InputError:
            continue
        for candidate in _prefixes(normalised):
            keys = {("url", lookup_key("url", candidate))}
            keys.add(("url_md5", hashlib.md5(candidate.encode("utf-8")).hexdigest()))
            for key in keys:
                wanted.setdefault(key, []).append((url, normalised, candidate))
        te_md5 = _threatexchange_md5(url)
        if te_md5:
            wanted.setdefault(("url_md5", te_md5), []).append((url, normalised, normalised))
    if not wanted:
        return []
    matches: list[UrlMatch] = []
    for signal_type in ("url", "url_md5"):
        lookups = [k[1] for k in wanted if k[0] == signal_type]
        for start in range(0, len(lookups), 500):
            query = select(HashBankEntry).where(
                HashBankEntry.signal_type == signal_type,
                HashBankEntry.lookup.in_(lookups[start : start + 500]),
                HashBankEntry.bank_id.in_(list(by_id)),
            )
            for entry in session.scalars(query):
                for url, normalised, candidate in wanted[(signal_type, entry.lookup)]:
                    matches.append(
                        UrlMatch(
                            url=url,
                            normalised=normalised,
                            matched=candidate,
                            exact=candidate == normalised,
                            bank=by_id[entry.bank_id].name,
                            entry_id=entry.id,
                            signal_type=signal_type,
                            category=entry.category,
                            source=entry.source,
                            external_id=entry.external_id,
                        )
                    )
    unique = {(m.url, m.entry_id): m for m in matches}
    return sorted(unique.values(), key=lambda m: (m.url, not m.exact, m.bank, m.entry_id))


def match_urls_in_text(session: Session, text: str, banks: list[str] | None = None) -> list[UrlMatch]:
    """Every URL in ``text`` that matches a URL-bank entry."""
    return match_urls(session, extract_urls(text), banks)
