"""Wired M-Bus long frames (EN 13757-2) as the Austrian Kaifa meters use them to carry DLMS.

`68 L L 68 | C A CI | STSAP DTSAP | data | CS 16`: CI's bit 4 marks the last segment and its low
nibble counts segments; every segment repeats the transport SAPs, the data slices join to one APDU.
"""

from __future__ import annotations

from dataclasses import dataclass

from .framing import FrameStatus

START = 0x68
STOP = 0x16
FINAL_SEGMENT = 0x10
# C, A, CI and the two SAP bytes precede the data.
_HEADER_LENGTH = 5


@dataclass(frozen=True, slots=True)
class MbusFrame:
    """One checked long frame: its data slice and segment position."""

    data: bytes
    segment: int
    final: bool
    raw: bytes


def parse_frame(buf: bytes | bytearray, start: int) -> tuple[FrameStatus, MbusFrame | None, int]:
    """Parse the long frame starting at `start`: status, frame and the index after it.

    For INCOMPLETE the index is how long the buffer must be before looking again is worthwhile.
    """
    if len(buf) - start < 4:
        return FrameStatus.INCOMPLETE, None, start + 4
    length = buf[start + 1]
    if buf[start + 2] != length or buf[start + 3] != START or length < _HEADER_LENGTH:
        return FrameStatus.NOT_A_FRAME, None, start
    end = start + 4 + length + 2
    if end > len(buf):
        return FrameStatus.INCOMPLETE, None, end
    if buf[end - 1] != STOP:
        return FrameStatus.NOT_A_FRAME, None, start
    body = buf[start + 4 : start + 4 + length]
    if sum(body) & 0xFF != buf[end - 2]:
        return FrameStatus.BAD_CHECKSUM, None, start
    control_information = body[2]
    frame = MbusFrame(
        data=bytes(body[_HEADER_LENGTH:]),
        segment=control_information & 0x0F,
        final=bool(control_information & FINAL_SEGMENT),
        raw=bytes(buf[start:end]),
    )
    return FrameStatus.FRAME, frame, end
