"""Field-level encryption of connection secrets with AES-256-GCM.

A ciphertext is ``b"hw1" + key_id(4) + nonce(12) + ciphertext+tag``. The first key encrypts; every
key can decrypt, so rotating means putting the new key first and re-encrypting
(``headwater secrets rotate``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import secrets as pysecrets
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


class SecretBox:
    """Encrypts and decrypts small JSON documents of secrets."""

    def __init__(self, key_material: str) -> None:
        keys = [_derive(part) for part in key_material.split(",") if part.strip()]
        if not keys:
            raise ConfigurationError("no secret key configured")
        self._keys = {hashlib.sha256(k).digest()[:4]: AESGCM(k) for k in keys}
        self._primary_id = hashlib.sha256(keys[0]).digest()[:4]

    @property
    def primary_key_id(self) -> str:
        return self._primary_id.hex()

    def key_id_of(self, blob: bytes) -> str:
        return blob[3:7].hex()

    def encrypt(self, values: dict[str, Any], *, context: bytes = b"") -> bytes:
        nonce = os.urandom(12)
        plaintext = json.dumps(values, separators=(",", ":")).encode()
        ct = self._keys[self._primary_id].encrypt(nonce, plaintext, context)
        return _MAGIC + self._primary_id + nonce + ct

    def decrypt(self, blob: bytes, *, context: bytes = b"") -> dict[str, Any]:
        if not blob.startswith(_MAGIC):
            raise ConfigurationError("stored secret has an unknown format")
        key = self._keys.get(blob[3:7])
        if key is None:
            raise ConfigurationError(
                "stored secret was encrypted with a key that is not configured "
                f"(key id {blob[3:7].hex()}); add the old key after the new one"
            )
        data = json.loads(key.decrypt(blob[7:19], blob[19:], context))
        if not isinstance(data, dict):
            raise ConfigurationError("stored secret is not an object")
        return data
