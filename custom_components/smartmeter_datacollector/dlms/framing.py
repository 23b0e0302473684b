"""The transports a meter wraps its messages in, and what looking for a frame can find.

HDLC (IEC 62056-46) and wired M-Bus (EN 13757-2) parsers answer with the same four outcomes,
so the stream scanner treats every framing alike.
"""

from __future__ import annotations

from enum import Enum, StrEnum


class Framing(StrEnum):
    """How a meter type delimits its messages on the line (protocol-notes §1)."""

    HDLC = "hdlc"  # IEC 62056-46 frames
    MBUS = "mbus"  # EN 13757-2 long frames
    APDU = "apdu"  # bare APDUs, delimited by their own structure
    IEC62056_21 = "iec62056-21"  # ASCII readout text


class FrameStatus(Enum):
    """Outcome of looking for a frame at a start byte."""

    FRAME = "frame"
    INCOMPLETE = "incomplete"  # plausible start, more bytes needed
    NOT_A_FRAME = "not_a_frame"  # wrong type, length or closing byte: resynchronise
    BAD_CHECKSUM = "bad_checksum"  # structure fits, a check sequence does not


class Shape(Enum):
    """What a bare APDU's content says about where it ends (it has no delimiter or check)."""

    UNKNOWN = "unknown"  # nothing learned about this meter's messages yet
    # Unlike every skeleton learned so far, none of which has repeated yet: one of them may be
    # a damaged message's rather than the meter's.
    UNPROVEN = "unproven"
    FOREIGN = "foreign"  # unlike every skeleton learned, one of which repeated: the meter's own
    KNOWN = "known"  # a learned skeleton, ending in a value (a cut value cannot be told)
    WHOLE = "whole"  # a learned skeleton ending in skeleton bytes, or a verified GCM tag
