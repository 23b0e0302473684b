"""HDLC frame parsing for DLMS push meters (IEC 62056-46, frame format type 3).

Frames are cut by their length field, never by splitting on 0x7E: meters do not byte-stuff, and
0x7E occurs unescaped inside real E450/E570/Kamstrup frames.
"""

from __future__ import annotations

from dataclasses import dataclass

from .crc import crc16_x25
from .framing import FrameStatus

FLAG = 0x7E
# Frame format field, high byte: type 3 in the upper nibble, the segmentation (S) bit below it
# (IEC 62056-46 6.4.1).
FORMAT_TYPE_3 = 0xA
SEGMENTED = 0x08
# LLC header before the APDU (IEC 62056-46 6.4.4.4.3.3): E6 E7 00 server to client; some meters
# send the client's E6 E6 00.
LLC_SERVER_TO_CLIENT = b"\xe6\xe7\x00"
LLC_HEADERS = (LLC_SERVER_TO_CLIENT, b"\xe6\xe6\x00")
# Largest length the 11-bit field can express; real push frames are 25-581 bytes long.
MAX_FRAME_LENGTH = 0x7FF
# Format (2) + dest (1) + src (1) + control (1) + FCS (2): the shortest frame that can exist.
_MIN_FRAME_LENGTH = 7
_MAX_ADDRESS_BYTES = 4


@dataclass(frozen=True, slots=True)
class HdlcFrame:
    """One checked frame: its information field and whether more segments follow."""

    information: bytes
    segmented: bool
    control: int
    raw: bytes


def frame_length(buf: bytes | bytearray, start: int) -> int:
    """The frame length field (11 bits after the format type and S bit, IEC 62056-46 6.4.1).

    `start` is the opening flag; the caller makes sure the two format bytes are there.
    """
    return ((buf[start + 1] & 0x07) << 8) | buf[start + 2]


def _address_end(buf: bytes | bytearray, start: int, end: int) -> int:
    """Index after an HDLC address (LSB 1 marks its last byte), or -1 when malformed."""
    for offset in range(_MAX_ADDRESS_BYTES):
        index = start + offset
        if index >= end:
            return -1
        if buf[index] & 0x01:
            return index + 1
    return -1


def parse_frame(buf: bytes | bytearray, start: int) -> tuple[FrameStatus, HdlcFrame | None, int]:
    """Parse the frame whose opening flag is at `start`.

    Returns the status, the frame when there is one, and an index: for a frame, the index just
    past its last content byte (its closing flag stays in the buffer, since it may open the next
    frame); for INCOMPLETE, how long the buffer must be before looking again is worthwhile; for
    BAD_CHECKSUM, where the frame ends when its header check passed (else `start`).
    """
    if len(buf) - start < 3:
        return FrameStatus.INCOMPLETE, None, start + 3
    format_high = buf[start + 1]
    if format_high >> 4 != FORMAT_TYPE_3:
        return FrameStatus.NOT_A_FRAME, None, start
    length = frame_length(buf, start)
    if length < _MIN_FRAME_LENGTH:
        return FrameStatus.NOT_A_FRAME, None, start
    closing = start + 1 + length
    if closing >= len(buf):
        return FrameStatus.INCOMPLETE, None, closing + 1
    if buf[closing] != FLAG:
        return FrameStatus.NOT_A_FRAME, None, start

    content_start = start + 1
    dest_end = _address_end(buf, start + 3, closing)
    src_end = _address_end(buf, dest_end, closing) if dest_end > 0 else -1
    if src_end < 0:
        return FrameStatus.NOT_A_FRAME, None, start
    control_index = src_end
    header_end = control_index + 1
    fcs_start = closing - 2
    if header_end > fcs_start:
        return FrameStatus.NOT_A_FRAME, None, start
    information = b""
    if header_end < fcs_start:
        # An information field follows, so the header carries its own check sequence. It is
        # checked first: a few bytes, where the FCS covers up to 2 KiB, so garbage that merely
        # looks like a long frame costs next to nothing.
        hcs_end = header_end + 2
        if hcs_end > fcs_start:
            return FrameStatus.NOT_A_FRAME, None, start
        if crc16_x25(buf[content_start:header_end]) != buf[header_end] | (buf[header_end + 1] << 8):
            return FrameStatus.BAD_CHECKSUM, None, start
        information = bytes(buf[hcs_end:fcs_start])
    if crc16_x25(buf[content_start:fcs_start]) != buf[fcs_start] | (buf[fcs_start + 1] << 8):
        # With a checked header the frame is real and its length right: say where it ends.
        return FrameStatus.BAD_CHECKSUM, None, closing if information else start
    frame = HdlcFrame(
        information=information,
        segmented=bool(format_high & SEGMENTED),
        control=buf[control_index],
        raw=bytes(buf[start : closing + 1]),
    )
    return FrameStatus.FRAME, frame, closing
