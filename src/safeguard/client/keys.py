"""Ed25519 keys for client bundles: the service signs, devices verify.

Private keys are PKCS#8 PEM files (unencrypted, written with mode 0600);
public keys are SubjectPublicKeyInfo PEM files. A key's ``key_id`` is the first
16 hex digits of the SHA-256 of its raw 32-byte public key: bundles carry it so
a device can tell "signed by another key" from "altered".
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from safeguard.errors import InputError

__all__ = ["create_key_pair", "key_id", "load_private_key", "load_public_key"]


def key_id(public_key: Ed25519PublicKey) -> str:
    """Short fingerprint of a public key (16 hex digits of SHA-256 of its raw bytes)."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def create_key_pair(out: str | os.PathLike[str], *, overwrite: bool = False) -> tuple[Path, Path]:
    """Write a new private key to ``out`` (mode 0600) and its public key to ``out.pub``."""
    private_path = Path(out)
    public_path = private_path.with_name(private_path.name + ".pub")
    if not overwrite and (private_path.exists() or public_path.exists()):
        raise InputError("refusing to overwrite an existing key (use --force)", path=str(private_path))
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    private_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    public_path.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return private_path, public_path


def _read(path: str | os.PathLike[str]) -> bytes:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise InputError("no such key file", path=str(path)) from None
    except OSError as exc:
        raise InputError(f"cannot read key file ({exc.strerror})", path=str(path)) from None


def load_private_key(path: str | os.PathLike[str]) -> Ed25519PrivateKey:
    """An Ed25519 private key from a PEM file; InputError if it is not one."""
    try:
        key = serialization.load_pem_private_key(_read(path), password=None)
    except (ValueError, TypeError) as exc:
        raise InputError(f"not an unencrypted PEM private key ({exc})", path=str(path)) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise InputError("not an Ed25519 private key", path=str(path))
    return key


def load_public_key(source: str | os.PathLike[str] | bytes | Ed25519PublicKey) -> Ed25519PublicKey:
    """An Ed25519 public key from a PEM file, PEM bytes, 32 raw bytes or a key object."""
    if isinstance(source, Ed25519PublicKey):
        return source
    label = None if isinstance(source, bytes) else str(source)
    data = source if isinstance(source, bytes) else _read(source)
    try:
        if len(data) == 32:
            return Ed25519PublicKey.from_public_bytes(data)
        key = serialization.load_pem_public_key(data)
    except ValueError as exc:
        raise InputError(f"not a PEM public key ({exc})", path=label) from None
    if not isinstance(key, Ed25519PublicKey):
        raise InputError("not an Ed25519 public key", path=label)
    return key
