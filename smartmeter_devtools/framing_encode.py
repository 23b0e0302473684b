"""Transport framing a meter puts around its APDUs.

HDLC (IEC 62056-46), wired M-Bus long frames (EN 13757-2) and the IEC 62056-21 readout block.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._decoder import (
    ETX,
    HDLC_FLAG,
    HDLC_FORMAT_TYPE_3,
    HDLC_MAX_LENGTH,
    HDLC_SEGMENTED,
    LLC_SERVER_TO_CLIENT,
    MBUS_CI_FINAL,
    MBUS_START,
    MBUS_STOP,
    STX,
    crc16_x25,
    iec_bcc,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

CONTROL_UI_FINAL = 0x13  # UI frame with the poll/final bit, what every observed push uses
CONTROL_UI = 0x03  # UI without P/F: Iskraemeco's segments before the final one

MBUS_SND_UD = 0x53
MBUS_BROADCAST = 0xFF
MBUS_MAX_DATA = 245  # L is one byte: C, A, CI, STSAP, DTSAP + 245 data bytes = 0xFA


def hdlc_address(value: int, size: int) -> bytes:
    """Encode an HDLC address of 1, 2 or 4 bytes: 7 bits per byte, LSB 1 marks the last byte."""
    if size not in (1, 2, 4):
        raise ValueError("HDLC addresses are 1, 2 or 4 bytes")
    out = bytearray()
    for index in range(size):
        shift = 7 * (size - 1 - index)
        out.append(((value >> shift) & 0x7F) << 1)
    out[-1] |= 1
    return bytes(out)


def hdlc_frame(
    info: bytes, *, dest: bytes, src: bytes, control: int, segmented: bool = False
) -> bytes:
    """One frame with opening and closing flag; HCS only when an information field follows."""
    for name, address in (("dest", dest), ("src", src)):
        if not address or not address[-1] & 1 or any(b & 1 for b in address[:-1]):
            raise ValueError(f"{name} address {address.hex()} is not HDLC-extended")
    header_len = 2 + len(dest) + len(src) + 1
    length = header_len + (2 + len(info) + 2 if info else 2)
    if length > HDLC_MAX_LENGTH:
        raise ValueError(f"HDLC frame too long ({length} bytes)")
    format_high = HDLC_FORMAT_TYPE_3 << 4 | (HDLC_SEGMENTED if segmented else 0)
    frame_format = format_high << 8 | length
    header = frame_format.to_bytes(2, "big") + dest + src + bytes((control,))
    body = header
    if info:
        body += crc16_x25(header).to_bytes(2, "little") + info
    body += crc16_x25(body).to_bytes(2, "little")
    return bytes((HDLC_FLAG,)) + body + bytes((HDLC_FLAG,))


def hdlc_frames_per_block(
    blocks: Sequence[bytes], *, dest: bytes, src: bytes, control: int = CONTROL_UI_FINAL
) -> list[bytes]:
    """One whole frame per unit (an APDU, or a GBT block); LLC only before the first one.

    This is how L+G E450/E570 send GBT: every frame complete (format A0), no HDLC segmentation.
    """
    return [
        hdlc_frame(
            (LLC_SERVER_TO_CLIENT if index == 0 else b"") + block,
            dest=dest,
            src=src,
            control=control,
        )
        for index, block in enumerate(blocks)
    ]


def hdlc_segmented(
    apdu: bytes,
    *,
    dest: bytes,
    src: bytes,
    max_info: int,
) -> list[bytes]:
    """HDLC segmentation (IEC 62056-46 6.4.4.4.3): S=1 frames of `max_info` bytes, then an S=0 frame.

    The LLC header travels only in the first segment, as Iskraemeco AM550 does it.
    """
    if max_info < 1:
        raise ValueError("max_info must be positive")
    payload = LLC_SERVER_TO_CLIENT + apdu
    pieces = [payload[i : i + max_info] for i in range(0, len(payload), max_info)]
    return [
        hdlc_frame(
            piece,
            dest=dest,
            src=src,
            control=CONTROL_UI_FINAL if index == len(pieces) - 1 else CONTROL_UI,
            segmented=index < len(pieces) - 1,
        )
        for index, piece in enumerate(pieces)
    ]


def mbus_frames(apdu: bytes, *, max_data: int = MBUS_MAX_DATA) -> list[bytes]:
    """Long frames `68 L L 68 53 FF CI 01 67 data CS 16` as Austrian Kaifa meters send one APDU.

    CI counts the segment in its low nibble and sets 0x10 on the last one (observed 00, 11).
    """
    if not 1 <= max_data <= MBUS_MAX_DATA:
        raise ValueError(f"max_data must be 1..{MBUS_MAX_DATA}")
    pieces = [apdu[i : i + max_data] for i in range(0, len(apdu), max_data)] or [b""]
    if len(pieces) > 16:
        raise ValueError("an APDU of more than 16 M-Bus segments cannot be numbered")
    frames = []
    for index, piece in enumerate(pieces):
        ci = index | (MBUS_CI_FINAL if index == len(pieces) - 1 else 0)
        body = bytes((MBUS_SND_UD, MBUS_BROADCAST, ci, 0x01, 0x67)) + piece
        length = len(body)
        frames.append(
            bytes((MBUS_START, length, length, MBUS_START))
            + body
            + bytes((sum(body) & 0xFF, MBUS_STOP))
        )
    return frames


def iec62056_21_block(start: int, body: bytes) -> bytes:
    """A message block (IEC 62056-21 6.3): SOH or STX, body, ETX, BCC.

    BCC is the XOR of every byte after SOH/STX up to and including ETX.
    """
    block = body + bytes((ETX,))
    return bytes((start,)) + block + bytes((iec_bcc(block),))


def iec62056_21_readout(lines: Sequence[str]) -> bytes:
    """Data readout block of mode C (IEC 62056-21 6.3.3): STX, data lines, "!", ETX, BCC."""
    text = "".join(f"{line}\r\n" for line in lines) + "!\r\n"
    return iec62056_21_block(STX, text.encode("ascii"))
