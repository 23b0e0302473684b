"""HDLC frame parsing for DLMS push meters (IEC 62056-46, frame format type 3).

Frames are cut by their length field, never by splitting on 0x7E: meters do not byte-stuff, and
0x7E occurs unescaped inside real E450/E570/Kamstrup frames.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from .crc import crc16_x25

FLAG = 0x7E
# Largest length the 11-bit field can express; real push frames are 25-581 bytes long.
MAX_FRAME_LENGTH = 0x7FF
# Format (2) + dest (1) + src (1) + control (1) + FCS (2): the shortest frame that can exist.
_MIN_FRAME_LENGTH = 7
_MAX_ADDRESS_BYTES = 4


class HdlcStatus(Enum):
    """Outcome of looking for a frame at a flag."""

    FRAME = "frame"
    INCOMPLETE = "incomplete"  # plausible start, more bytes needed
    NOT_A_FRAME = "not_a_frame"  # wrong type, length or closing flag: resynchronise
    BAD_CHECKSUM = "bad_checksum"  # structure fits, HCS or FCS does not


@dataclass(frozen=True, slots=True)
class HdlcFrame:
    """One checked frame: its information field and whether more segments follow."""

    information: bytes
    segmented: bool
    control: int
    raw: bytes


def _address_end(buf: bytes | bytearray, start: int, end: int) -> int:
    """Index after an HDLC address (LSB 1 marks its last byte), or -1 when malformed."""
    for offset in range(_MAX_ADDRESS_BYTES):
        index = start + offset
        if index >= end:
            return -1
        if buf[index] & 0x01:
            return index + 1
    return -1


def parse_frame(buf: bytes | bytearray, start: int) -> tuple[HdlcStatus, HdlcFrame | None, int]:
    """Parse the frame whose opening flag is at `start`.

    Returns the status, the frame when there is one, and the index just past the frame's last
    content byte (its closing flag stays in the buffer, since it may open the next frame).
    """
    available = len(buf) - start
    if available < 3:
        return HdlcStatus.INCOMPLETE, None, start
    format_high = buf[start + 1]
    if format_high >> 4 != 0xA:
        return HdlcStatus.NOT_A_FRAME, None, start
    length = ((format_high & 0x07) << 8) | buf[start + 2]
    if length < _MIN_FRAME_LENGTH:
        return HdlcStatus.NOT_A_FRAME, None, start
    closing = start + 1 + length
    if closing >= len(buf):
        return HdlcStatus.INCOMPLETE, None, start
    if buf[closing] != FLAG:
        return HdlcStatus.NOT_A_FRAME, None, start

    content_start = start + 1
    dest_end = _address_end(buf, start + 3, closing)
    src_end = _address_end(buf, dest_end, closing) if dest_end > 0 else -1
    if src_end < 0:
        return HdlcStatus.NOT_A_FRAME, None, start
    control_index = src_end
    header_end = control_index + 1
    fcs_start = closing - 2
    if header_end > fcs_start:
        return HdlcStatus.NOT_A_FRAME, None, start
    if crc16_x25(buf[content_start:fcs_start]) != buf[fcs_start] | (buf[fcs_start + 1] << 8):
        return HdlcStatus.BAD_CHECKSUM, None, start
    information = b""
    if header_end < fcs_start:
        # An information field follows, so the header carries its own check sequence.
        hcs_end = header_end + 2
        if hcs_end > fcs_start:
            return HdlcStatus.NOT_A_FRAME, None, start
        if crc16_x25(buf[content_start:header_end]) != buf[header_end] | (buf[header_end + 1] << 8):
            return HdlcStatus.BAD_CHECKSUM, None, start
        information = bytes(buf[hcs_end:fcs_start])
    frame = HdlcFrame(
        information=information,
        segmented=bool(format_high & 0x08),
        control=buf[control_index],
        raw=bytes(buf[start : closing + 1]),
    )
    return HdlcStatus.FRAME, frame, closing
