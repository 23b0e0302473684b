"""What the bytes themselves show, for judging a reading: checked frames, cuttable APDUs.

The fuzz judge (`fuzz_judge`) asks these questions of the bytes it fed, never of the decoder
under test: which frames in a stream pass their own checks, whether a bare APDU ends in a number
that garbage could have completed, and what a fresh decoder reads from some bytes alone.
"""

from __future__ import annotations

from collections.abc import Iterable

from ._decoder import (
    DATA_NOTIFICATION,
    ETX,
    HDLC_FLAG,
    HDLC_FORMAT_TYPE_3,
    MBUS_START,
    MBUS_STOP,
    STX,
    axdr_leaves,
    body_start,
    crc16_x25,
    hdlc_frame_length,
    iec_bcc,
)
from .fuzz_corpus import Stream
from .fuzz_guard import ReadingKey, fresh_feed

# A-XDR numbers that can be a reading's value and their sizes (IEC 62056-6-2: double-long
# (-unsigned), long, unsigned, long-unsigned, long64(-unsigned), float32, float64); enums and
# integer8 scalers are not.
_VALUE_SIZES = {0x05: 4, 0x06: 4, 0x10: 2, 0x11: 1, 0x12: 2, 0x14: 8, 0x15: 8, 0x17: 4, 0x18: 8}


def ends_in_value(apdu: bytes | None) -> bool:
    """Whether a plaintext data-notification's last A-XDR leaf is a number a reading may take."""
    if not apdu or apdu[0] != DATA_NOTIFICATION:
        return False
    try:
        found, end = axdr_leaves(apdu, body_start(apdu, 0)[0])
    except Exception:  # noqa: BLE001  (no plain A-XDR value: see below)
        found, end = [], 0
    if end == len(apdu) and found:
        return found[-1].tag in _VALUE_SIZES
    # Sagemcom's untagged descriptors are no plain A-XDR value: it ends in its last tagged value.
    return any(len(apdu) > size and apdu[-size - 1] == tag for tag, size in _VALUE_SIZES.items())


def decode_alone(stream: Stream, data: bytes) -> list[ReadingKey]:
    """What a fresh decoder gives for these bytes fed at once (an exception gives nothing)."""
    try:
        return fresh_feed(stream, data)
    except (Exception, MemoryError, RecursionError):  # noqa: BLE001  (reported where it raised)
        return []


def valid_frames(data: bytes) -> Iterable[bytes]:
    """Every HDLC frame, M-Bus long frame and IEC 62056-21 block in `data` that passes its check."""
    for start, end in valid_frame_spans(data):
        yield data[start:end]


def valid_frame_spans(data: bytes) -> Iterable[tuple[int, int]]:
    """(start, end) of each frame `valid_frames` finds, in order of their starts."""
    for pos, byte in enumerate(data):
        if byte == HDLC_FLAG and pos + 3 < len(data):
            length = hdlc_frame_length(data, pos)
            end = pos + 1 + length
            if (
                data[pos + 1] >> 4 == HDLC_FORMAT_TYPE_3
                and length >= 7
                and end < len(data)
                and data[end] == HDLC_FLAG
                and crc16_x25(data[pos + 1 : end - 2])
                == int.from_bytes(data[end - 2 : end], "little")
            ):
                yield pos, end + 1
        elif byte == MBUS_START and pos + 5 < len(data):
            size = data[pos + 1]
            end = pos + 4 + size + 2
            if (
                data[pos + 2] == size
                and data[pos + 3] == MBUS_START
                and end <= len(data)
                and data[end - 1] == MBUS_STOP
                and sum(data[pos + 4 : end - 2]) & 0xFF == data[end - 2]
            ):
                yield pos, end
        elif byte == STX:
            etx = data.find(ETX, pos + 1)
            if 0 < etx < len(data) - 1 and iec_bcc(data[pos + 1 : etx + 1]) == data[etx + 1]:
                yield pos, etx + 2
