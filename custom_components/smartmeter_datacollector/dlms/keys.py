"""Parsing the AES-128 keys users paste (hex, often with spaces or dashes between bytes)."""

from __future__ import annotations

import re

KEY_LENGTH = 16
_SEPARATORS = re.compile(r"[\s:\-]")


class KeyFormatError(ValueError):
    """The text is not 16 bytes of hex."""


def parse_key(key: str | bytes | bytearray | None) -> bytes | None:
    """Return the 16 key bytes; None stays None (no key configured)."""
    if key is None:
        return None
    if isinstance(key, (bytes, bytearray)):
        raw = bytes(key)
    else:
        text = _SEPARATORS.sub("", key)
        if not text:
            return None
        try:
            raw = bytes.fromhex(text)
        except ValueError as err:
            raise KeyFormatError("key must be 32 hexadecimal characters") from err
    if len(raw) != KEY_LENGTH:
        raise KeyFormatError(f"key must be {KEY_LENGTH} bytes (32 hex characters), got {len(raw)}")
    return raw
