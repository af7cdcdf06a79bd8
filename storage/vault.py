"""Personal data at rest: Fernet encryption plus a keyed hash (HMAC-SHA256) per field.

The keys come from TOUSU_KEY or the key file (services/keys.py reads and checks them; nothing
creates one silently). The first key encrypts, every key decrypts (MultiFernet, so values
written before a rotation stay readable while it runs). The hash key is kept in the database
encrypted with the key (`key_check`), so that a copied database file reveals no complainant,
matching (repeat detection, lookup by phone) works without decrypting, and a rotation of the
encryption key leaves every stored hash valid.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Sequence


class Vault:
    def __init__(self, keys: bytes | Sequence[bytes], *, hash_key: bytes | None = None) -> None:
        # imported here: only writers and unmaskers pay
        from cryptography.fernet import Fernet, MultiFernet

        keys = [keys] if isinstance(keys, bytes) else list(keys)
        self._fernet = MultiFernet([Fernet(k) for k in keys])
        self._hash_key = (
            hash_key or hashlib.sha256(b"tousu-match:" + base64.urlsafe_b64decode(keys[0])).digest()
        )

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

    def rotate(self, token: str) -> str:
        """A token re-encrypted with the first key (key rotation)."""
        return self._fernet.rotate(token.encode()).decode()

    def match_hash(self, kind: str, value: str | None) -> str | None:
        """Keyed hash of a normalised identifier (kind separates phone from ID number)."""
        if not value:
            return None
        normal = normalize(value)
        digest = hmac.new(self._hash_key, f"{kind}:{normal}".encode(), hashlib.sha256)
        return digest.hexdigest()[:40]


def normalize(value: str) -> str:
    return re.sub(r"[\s\-()（）]", "", value).upper()
