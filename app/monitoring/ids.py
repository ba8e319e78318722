"""Inference ids that prove, with no state kept, that this service gave them, and for how many readings: ground
truth is taken only for readings the service answered, on any worker or Lambda instance that shares the secret."""

from __future__ import annotations

import hmac
import re
import secrets

NONCE_DIGITS, ROWS_DIGITS, MAC_DIGITS = 16, 8, 24
INFERENCE_ID = re.compile(f"[0-9a-f]{{{NONCE_DIGITS + ROWS_DIGITS + MAC_DIGITS}}}")
MOST_ROWS = 16**ROWS_DIGITS - 1


class InferenceIds:
    """Issues ids of 16 hex digits of chance, the request's count of readings in 8, then 24 digits of an
    HMAC-SHA256 of both under the secret; and reads back the count of an id it issued."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def _mac(self, signed: str) -> str:
        return hmac.digest(self._secret, signed.encode(), "sha256").hex()[:MAC_DIGITS]

    def issue(self, rows: int) -> str:
        """A new id for an answer to `rows` readings."""
        signed = f"{secrets.token_hex(NONCE_DIGITS // 2)}{min(rows, MOST_ROWS):0{ROWS_DIGITS}x}"
        return signed + self._mac(signed)

    def rows(self, inference_id: str) -> int | None:
        """How many readings the answer with this id held; None unless this service issued it."""
        if not INFERENCE_ID.fullmatch(inference_id):
            return None
        signed, mac = inference_id[: NONCE_DIGITS + ROWS_DIGITS], inference_id[NONCE_DIGITS + ROWS_DIGITS :]
        if not hmac.compare_digest(mac, self._mac(signed)):
            return None
        return int(signed[NONCE_DIGITS:], 16)
