"""Personal data at rest: Fernet encryption plus a keyed hash (HMAC-SHA256) per field.

The key comes from TOUSU_KEY or a key file (created 0600 on first use). The hash key is
derived from the same secret so that a copied database file reveals no complainant and
matching (repeat detection, lookup by phone) still works without decrypting.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
from pathlib import Path


class Vault:
    def __init__(self, key: bytes) -> None:
        from cryptography.fernet import Fernet  # imported here: only writers and unmaskers pay

        self._fernet = Fernet(key)
        self._hash_key = hashlib.sha256(b"tousu-match:" + base64.urlsafe_b64decode(key)).digest()

    def encrypt(self, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        return self._fernet.encrypt(value.encode()).decode()

    def decrypt(self, token: str | None) -> str | None:
        if not token:
            return None
        return self._fernet.decrypt(token.encode()).decode()

    def seal(self, data: bytes) -> bytes:
        """A file's bytes encrypted and authenticated (evidence at rest)."""
        return self._fernet.encrypt(data)

    def unseal(self, token: bytes) -> bytes:
        """The bytes `seal` encrypted; cryptography's InvalidToken when changed or foreign."""
        return self._fernet.decrypt(token)

    def match_hash(self, kind: str, value: str | None) -> str | None:
        """Keyed hash of a normalised identifier (kind separates phone from ID number)."""
        if not value:
            return None
        normal = normalize(value)
        digest = hmac.new(self._hash_key, f"{kind}:{normal}".encode(), hashlib.sha256)
        return digest.hexdigest()[:40]


def normalize(value: str) -> str:
    return re.sub(r"[\s\-()（）]", "", value).upper()


def load_key(key_file: Path, key: str = "") -> bytes:
    """The given key (TOUSU_KEY), else the key file, created with mode 0600 on first use."""
    if key:
        return key.encode()
    if key_file.exists():
        return key_file.read_bytes().strip()
    key_file.parent.mkdir(parents=True, exist_ok=True)
    new = base64.urlsafe_b64encode(os.urandom(32))
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(new + b"\n")
    return new
