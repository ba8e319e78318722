"""Inference ids that prove, with no state kept, that this service gave them, and for how many readings: ground
truth is taken only for readings the service answered, on any worker or Lambda instance that shares the secret."""

from __future__ import annotations

import hashlib
import hmac
import os
import re

NONCE_DIGITS, ROWS_DIGITS, MAC_DIGITS = 16, 8, 24
INFERENCE_ID = re.compile(f"[0-9a-f]{{{NONCE_DIGITS + ROWS_DIGITS + MAC_DIGITS}}}")
MOST_ROWS = 16**ROWS_DIGITS - 1


class InferenceIds:
    """Issues ids of 16 hex digits of chance, the request's count of readings in 8, then 24 digits of a keyed
    BLAKE2b of both (a MAC by its own keyed mode, a quarter of HMAC-SHA256's cost per answer); and reads back the
    count of an id it issued."""

    def __init__(self, secret: bytes) -> None:
        self._key = hashlib.blake2b(secret, digest_size=32).digest()  # any secret's length fits BLAKE2b's key

    def _mac(self, signed: str) -> str:
        return hashlib.blake2b(signed.encode(), key=self._key, digest_size=MAC_DIGITS // 2).hexdigest()

    def issue(self, rows: int) -> str:
        """A new id for an answer to `rows` readings."""
        signed = f"{os.urandom(NONCE_DIGITS // 2).hex()}{min(rows, MOST_ROWS):0{ROWS_DIGITS}x}"
        return signed + self._mac(signed)

    def rows(self, inference_id: str) -> int | None:
        """How many readings the answer with this id held; None unless this service issued it."""
        if not INFERENCE_ID.fullmatch(inference_id):
            return None
        signed, mac = inference_id[: NONCE_DIGITS + ROWS_DIGITS], inference_id[NONCE_DIGITS + ROWS_DIGITS :]
        if not hmac.compare_digest(mac, self._mac(signed)):
            return None
        return int(signed[NONCE_DIGITS:], 16)
