"""Capture files as `decode` and the simulator's replay read them: hex text or raw binary."""

from __future__ import annotations

import string
from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:
    from pathlib import Path

_HEX_TEXT = frozenset((string.hexdigits + string.whitespace).encode())


def read_capture(source: BinaryIO) -> bytes:
    """Bytes of a capture: hex text (whitespace ignored) or raw binary."""
    data = source.read()
    if data and all(byte in _HEX_TEXT for byte in data):
        text = b"".join(data.split())
        if len(text) % 2 == 0:
            return bytes.fromhex(text.decode())
    return data


def load_capture(path: Path) -> bytes:
    """Bytes of a capture file, read as `read_capture` reads a stream."""
    with path.open("rb") as source:
        return read_capture(source)
