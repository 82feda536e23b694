"""The audit signing key: an Ed25519 key kept in a file, never in the database.

The service signs checkpoints of the chain's head with it; verifiers need only
the public key (``<key>.pub``). The private key file is created with mode 0600
on first use and refused when other users can read it.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import stat
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from safeguard.config import Settings
from safeguard.errors import InputError

SIGNING_DOMAIN = b"safeguard audit checkpoint v1\n"


def key_path(settings: Settings) -> Path:
    """Where the private signing key lives."""
    return settings.audit.key_path or settings.data_dir / "audit-key.pem"


def public_key_path(settings: Settings) -> Path:
    """Where the public key for verifiers is written."""
    if settings.audit.public_key_path is not None:
        return settings.audit.public_key_path
    path = key_path(settings)
    return path.with_name(path.name + ".pub")


def key_id(public_key: Ed25519PublicKey) -> str:
    """A short fingerprint of a public key: the first 16 hex digits of SHA-256 of its raw bytes."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def public_pem(public_key: Ed25519PublicKey) -> bytes:
    """The public key as PEM (SubjectPublicKeyInfo)."""
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _write_new(path: Path, data: bytes, mode: int) -> bool:
    """Write ``data`` to ``path`` only if it does not exist (atomic: a temp file, then a hard link)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(temp, path)
        return True
    except FileExistsError:
        return False
    finally:
        temp.unlink(missing_ok=True)


def ensure_signing_key(settings: Settings) -> tuple[Ed25519PrivateKey, bool]:
    """The signing key, created (mode 0600, with its ``.pub``) if missing; and whether it was created."""
    path = key_path(settings)
    created = False
    if not path.exists():
        new = Ed25519PrivateKey.generate()
        pem = new.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        created = _write_new(path, pem, 0o600)
    key = load_signing_key(path)
    pub = public_key_path(settings)
    if not pub.exists():
        _write_new(pub, public_pem(key.public_key()), 0o644)
    return key, created


def load_signing_key(path: Path) -> Ed25519PrivateKey:
    """The private key in ``path``; refused when group or others may read it."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read the audit signing key ({exc.strerror})", path=str(path)) from None
    if mode & 0o077:
        raise InputError(
            f"the audit signing key is accessible by other users (mode {mode:04o}); run chmod 600 on it",
            path=str(path),
        )
    key = _parse_pem(path, data)
    if not isinstance(key, Ed25519PrivateKey):
        raise InputError("not an Ed25519 private key (PEM)", path=str(path))
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    """The public key in ``path``: a PEM public key, or the private key it belongs to."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read the public key ({exc.strerror})", path=str(path)) from None
    key = _parse_pem(path, data)
    if isinstance(key, Ed25519PrivateKey):
        return key.public_key()
    if not isinstance(key, Ed25519PublicKey):
        raise InputError("not an Ed25519 key (PEM)", path=str(path))
    return key


def default_public_key(settings: Settings) -> Ed25519PublicKey | None:
    """The configured public key (``.pub``, else derived from the private key), or None if neither exists."""
    for path in (public_key_path(settings), key_path(settings)):
        if path.exists():
            return load_public_key(path)
    return None


def _parse_pem(path: Path, data: bytes) -> object:
    if b"PRIVATE KEY" in data:
        with contextlib.suppress(ValueError, TypeError):
            return serialization.load_pem_private_key(data, password=None)
    else:
        with contextlib.suppress(ValueError):
            return serialization.load_pem_public_key(data)
    raise InputError("not a PEM key (unencrypted PKCS8 private key or SubjectPublicKeyInfo)", path=str(path))


def sign(key: Ed25519PrivateKey, message: bytes) -> str:
    """Base64 Ed25519 signature of ``message`` under the checkpoint domain."""
    return base64.b64encode(key.sign(SIGNING_DOMAIN + message)).decode("ascii")


def signature_valid(public_key: Ed25519PublicKey, message: bytes, signature: str) -> bool:
    """True when ``signature`` (base64) signs ``message`` under the checkpoint domain."""
    try:
        raw = base64.b64decode(signature, validate=True)
        public_key.verify(raw, SIGNING_DOMAIN + message)
    except (InvalidSignature, ValueError):
        return False
    return True
