"""Field-level encryption of connection secrets with AES-256-GCM.

A ciphertext is ``b"hw1" + key_id(4) + nonce(12) + ciphertext+tag``. The first key encrypts; every
key can decrypt, so rotating means putting the new key first and re-encrypting
(``headwater secrets rotate``), then dropping the old key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import secrets as pysecrets
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from headwater.errors import ConfigurationError

_MAGIC = b"hw1"


def _derive(material: str) -> bytes:
    """A 32-byte key from the configured text: base64url of 32 bytes, or any passphrase (HKDF)."""
    text = material.strip()
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) == 32:
        return raw
    if len(text) < 16:
        raise ConfigurationError("HEADWATER_SECRET_KEY must be at least 16 characters")
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"headwater", info=b"secrets").derive(
        text.encode()
    )


def generate_key() -> str:
    """A new random key, printable (base64url)."""
    return base64.urlsafe_b64encode(pysecrets.token_bytes(32)).decode().rstrip("=")


def load_key_material(*, configured: str | None, key_file: Path) -> str:
    """The configured key(s), else the key file, created with mode 0600 on first use."""
    if configured:
        return configured
    if key_file.exists():
        mode = key_file.stat().st_mode & 0o777
        if mode & 0o077:
            raise ConfigurationError(
                f"secret key file {key_file} is readable by others (mode {mode:o}); chmod 600 it"
            )
        return key_file.read_text().strip()
    key_file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(generate_key() + "\n")
    return key_file.read_text().strip()


def key_file_reader(key_file: Path, fallback: str) -> Callable[[], str]:
    """Reads the key file as it is now (for :class:`SecretBox` ``reload``); a missing file keeps
    ``fallback`` rather than creating a new key under a running process."""

    def read() -> str:
        if not key_file.exists():
            return fallback
        return load_key_material(configured=None, key_file=key_file)

    return read


def add_key_to_file(key_file: Path) -> str:
    """Put a new random key first in the key file (``new,old…``), atomically, mode 0600; returns
    the new key's id. Processes reading the file pick the keyring up within a second."""
    current = load_key_material(configured=None, key_file=key_file)
    new = generate_key()
    write_key_file(key_file, ",".join([new, *[k for k in current.split(",") if k.strip()]]))
    return _key_id(_derive(new)).hex()


def write_key_file(key_file: Path, material: str) -> None:
    """Replace the key file atomically (a reader sees the old or the new keyring, never half)."""
    SecretBox(material)  # refuse to write a keyring that cannot be loaded
    tmp = key_file.with_name(f".{key_file.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(material + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    tmp.replace(key_file)


def _key_id(key: bytes) -> bytes:
    return hashlib.sha256(key).digest()[:4]


class _Ring:
    """The loaded keys: every one decrypts, the first encrypts."""

    def __init__(self, material: str) -> None:
        keys = [_derive(part) for part in material.split(",") if part.strip()]
        if not keys:
            raise ConfigurationError("no secret key configured")
        self.material = material
        self.keys = {_key_id(k): AESGCM(k) for k in keys}
        self.order = [_key_id(k) for k in keys]
        self.primary = self.order[0]


class SecretBox:
    """Encrypts and decrypts small JSON documents of secrets with a keyring.

    With ``reload`` (the key file's reader), the keyring follows the file without a restart: it
    is re-read at most once a second before encrypting, and at once when a stored secret names a
    key this process does not know yet. That is what lets ``headwater secrets rotate`` put a new
    key first while ``serve`` keeps answering."""

    RELOAD_EVERY_S = 1.0

    def __init__(self, key_material: str, *, reload: Callable[[], str] | None = None) -> None:
        self._ring = _Ring(key_material)
        self._reload = reload
        self._checked = time.monotonic()
        self._lock = threading.Lock()

    def _refresh(self, *, force: bool = False) -> _Ring:
        ring = self._ring
        if self._reload is None:
            return ring
        now = time.monotonic()
        if not force and now - self._checked < self.RELOAD_EVERY_S:
            return ring
        with self._lock:
            self._checked = now
            material = self._reload()
            if material != self._ring.material:
                self._ring = _Ring(material)
            return self._ring

    @property
    def primary_key_id(self) -> str:
        return self._refresh().primary.hex()

    @property
    def key_ids(self) -> list[str]:
        """Every configured key id, the encrypting one first."""
        return [k.hex() for k in self._refresh().order]

    def key_id_of(self, blob: bytes) -> str:
        return blob[3:7].hex()

    def encrypt(self, values: dict[str, Any], *, context: bytes = b"") -> bytes:
        ring = self._refresh()
        nonce = os.urandom(12)
        plaintext = json.dumps(values, separators=(",", ":")).encode()
        ct = ring.keys[ring.primary].encrypt(nonce, plaintext, context)
        return _MAGIC + ring.primary + nonce + ct

    def decrypt(self, blob: bytes, *, context: bytes = b"") -> dict[str, Any]:
        if not blob.startswith(_MAGIC):
            raise ConfigurationError("stored secret has an unknown format")
        key = self._ring.keys.get(blob[3:7])
        if key is None and self._reload is not None:
            key = self._refresh(force=True).keys.get(blob[3:7])
        if key is None:
            raise ConfigurationError(
                "stored secret was encrypted with a key that is not configured "
                f"(key id {blob[3:7].hex()}); add the old key after the new one"
            )
        data = json.loads(key.decrypt(blob[7:19], blob[19:], context))
        if not isinstance(data, dict):
            raise ConfigurationError("stored secret is not an object")
        return data
