"""What looking for a transport frame at one position of the byte stream can find.

HDLC (IEC 62056-46) and wired M-Bus (EN 13757-2) parsers answer with the same four outcomes,
so the stream scanner treats every framing alike.
"""

from __future__ import annotations

from enum import Enum


class FrameStatus(Enum):
    """Outcome of looking for a frame at a start byte."""

    FRAME = "frame"
    INCOMPLETE = "incomplete"  # plausible start, more bytes needed
    NOT_A_FRAME = "not_a_frame"  # wrong type, length or closing byte: resynchronise
    BAD_CHECKSUM = "bad_checksum"  # structure fits, a check sequence does not
