"""Captures for the simulator's --replay: files to bytes, bytes to the messages a meter sent."""

from __future__ import annotations

from ._decoder import (
    ETX,
    GBT_LAST_BLOCK,
    GBT_TAG,
    HDLC_FLAG,
    HDLC_FORMAT_TYPE_3,
    HDLC_SEGMENTED,
    LLC_SERVER_TO_CLIENT,
    MBUS_CI_FINAL,
    MBUS_START,
    STX,
    gbt_is_first_block,
    hdlc_frame_length,
)
from .framing_encode import iec62056_21_readout


def _hdlc_info(frame: bytes) -> bytes:
    pos = 3
    for _ in range(2):  # destination, then source address: LSB 1 ends each
        while pos < len(frame) and not frame[pos] & 1:
            pos += 1
        pos += 1
    info = frame[pos + 3 : -3]  # after control and HCS, before FCS and flag
    return info.removeprefix(LLC_SERVER_TO_CLIENT)


def split_messages(data: bytes) -> list[bytes]:
    """Group a capture's transport frames into messages, as the meter sent them one per push.

    HDLC: a message ends with a frame that is neither segmented nor a non-final GBT block; a
    GBT block 1 starts a new one. M-Bus: CI bit 0x10 marks the last frame. Anything else
    (raw APDUs, readout text, stray bytes) rides along with the message it sits in.
    """
    messages: list[bytes] = []
    current = bytearray()
    pos = 0
    while pos < len(data):
        end, last, first = pos + 1, False, False
        if (
            data[pos] == HDLC_FLAG
            and pos + 2 < len(data)
            and data[pos + 1] >> 4 == HDLC_FORMAT_TYPE_3
        ):
            end = pos + 2 + hdlc_frame_length(data, pos)
            info = _hdlc_info(data[pos:end])
            gbt = info[:1] == bytes((GBT_TAG,)) and len(info) >= 4
            first = gbt and gbt_is_first_block(info)
            last = not data[pos + 1] & HDLC_SEGMENTED and not (gbt and not info[1] & GBT_LAST_BLOCK)
        elif data[pos] == MBUS_START and pos + 6 < len(data) and data[pos + 1] == data[pos + 2]:
            end = pos + 6 + data[pos + 1]
            last = bool(data[pos + 6] & MBUS_CI_FINAL)
        else:
            while end < len(data) and data[end] not in (HDLC_FLAG, MBUS_START):
                end += 1
        if first and current:
            messages.append(bytes(current))
            current.clear()
        current += data[pos:end]
        if last:
            messages.append(bytes(current))
            current.clear()
        pos = end
    if current:
        messages.append(bytes(current))
    return messages


def readout_from_capture(data: bytes) -> bytes:
    """A readout block from captured IEC 62056-21 text, adding STX/ETX/BCC when absent."""
    if data[:1] == bytes((STX,)):
        return data
    lines = [ln for ln in data.decode("ascii", "replace").splitlines() if ln and ln != "!"]
    return iec62056_21_readout(lines)


def split_datasets(block: bytes) -> dict[str, list[str]]:
    """The TD-3511's datasets from a captured readout: registers (F001), then values (F009).

    F009 starts at the first instantaneous value (C.7.x), as in the meter's own readout.
    """
    text = block.strip(bytes((STX,))).split(bytes((ETX,)))[0].decode("ascii", "replace")
    lines = [ln for ln in text.splitlines() if ln and ln != "!"]
    first = next(
        (i for i, ln in enumerate(lines) if ln.split("(")[0].split(".")[1:2] == ["7"]),
        len(lines),
    )
    return {"F001": lines[:first], "F009": lines[first:]}
