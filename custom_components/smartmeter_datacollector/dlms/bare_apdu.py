"""Finding bare APDUs in a byte stream that has no transport framing (RS485 meters, bridges).

A bare APDU has no delimiter (protocol-notes §1): where one ends follows from its own structure
(the data-notification's A-XDR body, the ciphered APDU's length field). Where one starts is
known only at the start of the stream, right after the previous APDU, or after the line went
quiet. Every APDU must have a plausible header (reserved invoke-id bits clear, a real date-time
or none, a container body; or a ciphered header with an encrypting security control). After
garbage the stream is hunted for a start, and a candidate found that way must also be confirmed
by the next APDU starting right after it (or by the line going quiet there), so a 0x0F inside a
value is not taken for a message.
"""

from __future__ import annotations

from .apdu import DATA_NOTIFICATION, notification_end
from .axdr import AxdrError, NeedMoreDataError
from .cipher import CIPHERED_TAGS
from .cosem_time import DATE_TIME_LENGTH, parse_date_time
from .framing import FrameStatus
from .lengths import read_length

TAGS = frozenset((DATA_NOTIFICATION, *CIPHERED_TAGS))
# Stray bytes tolerated between two bare APDUs: a break (0x00) or noise on the idle-high line
# (0xFF), at most two. Other bytes there are the rest of a value the APDU was cut off from.
_MAX_STRAY_BYTES = 2
_STRAY_BYTES = frozenset((0x00, 0xFF))
# A bare APDU is never longer than this; waiting for more would let garbage grow the buffer.
MAX_LENGTH = 8192
_OCTET_STRING = 0x09
_CONTAINERS = (0x01, 0x02)
# Green Book long-invoke-id-and-priority: bits 24-27 are reserved (zero on every meter seen).
_RESERVED_INVOKE_BITS = 0x0F
_SYSTEM_TITLE_END = 10  # tag, 0x08, 8-byte system title
_ENCRYPTED, _COMPRESSED = 0x20, 0x80


def _plausible_notification_header(buf: bytes | bytearray, pos: int) -> FrameStatus:
    index = pos + 5
    if index + 1 >= len(buf):
        return FrameStatus.INCOMPLETE
    if buf[pos + 1] & _RESERVED_INVOKE_BITS:
        return FrameStatus.NOT_A_FRAME
    if buf[index] == _OCTET_STRING:
        index += 1
    if buf[index] == 0:
        body = index + 1
    elif buf[index] == DATE_TIME_LENGTH:
        body = index + 1 + DATE_TIME_LENGTH
        if body > len(buf):
            return FrameStatus.INCOMPLETE
        if parse_date_time(buf[index + 1 : body]) is None:
            return FrameStatus.NOT_A_FRAME
    else:
        return FrameStatus.NOT_A_FRAME
    if body + 1 >= len(buf):
        return FrameStatus.INCOMPLETE
    if buf[body] not in _CONTAINERS or buf[body + 1] == 0:
        return FrameStatus.NOT_A_FRAME
    return FrameStatus.FRAME


def _ciphered_end(buf: bytes | bytearray, pos: int) -> tuple[FrameStatus, int]:
    if len(buf) - pos < _SYSTEM_TITLE_END + 1:
        return FrameStatus.INCOMPLETE, pos + _SYSTEM_TITLE_END + 1
    parsed = read_length(buf, pos + _SYSTEM_TITLE_END)
    if parsed is None:
        if len(buf) - pos < _SYSTEM_TITLE_END + 5:
            return FrameStatus.INCOMPLETE, pos + _SYSTEM_TITLE_END + 5
        return FrameStatus.NOT_A_FRAME, pos
    length, start = parsed
    if buf[pos + 1] != 8 or length < 5 or start + length - pos > MAX_LENGTH:
        return FrameStatus.NOT_A_FRAME, pos
    if start < len(buf):
        security_control = buf[start]
        if security_control & _COMPRESSED or not security_control & _ENCRYPTED:
            return FrameStatus.NOT_A_FRAME, pos
    end = start + length
    if end > len(buf):
        return FrameStatus.INCOMPLETE, end
    return FrameStatus.FRAME, end


def probe(
    buf: bytes | bytearray, pos: int, *, strict: bool, at_gap: bool
) -> tuple[FrameStatus, int]:
    """Look for a bare APDU at `pos`: its status and end (for INCOMPLETE: the length needed).

    Every candidate needs a plausible header. `strict` is for a position found by hunting
    rather than known to start an APDU: such a candidate also needs the next APDU to start right
    after it, or `at_gap` (the line went quiet after the buffered bytes) to confirm its end.
    """
    tag = buf[pos]
    if tag == DATA_NOTIFICATION:
        header = _plausible_notification_header(buf, pos)
        if header is not FrameStatus.FRAME:
            return header, len(buf) + 1
        try:
            end = notification_end(buf, pos)
        except NeedMoreDataError:
            if len(buf) - pos >= MAX_LENGTH:
                return FrameStatus.NOT_A_FRAME, pos
            return FrameStatus.INCOMPLETE, len(buf) + 1
        except AxdrError:
            return FrameStatus.NOT_A_FRAME, pos
        if end - pos > MAX_LENGTH:
            return FrameStatus.NOT_A_FRAME, pos
        status = FrameStatus.FRAME
    elif tag in CIPHERED_TAGS:
        status, end = _ciphered_end(buf, pos)
        if status is not FrameStatus.FRAME:
            return status, end
    else:
        return FrameStatus.NOT_A_FRAME, pos
    if end == len(buf):
        if strict and not at_gap:
            return FrameStatus.INCOMPLETE, end + 1
        return status, end
    # The next APDU must start right after this one, give or take a stray byte or two (an idle
    # line glitch). Anything else means this APDU was not what was sent: cut short and read on
    # into its successor, or changed so that it ends early.
    for follower_at in range(end, min(end + 1 + _MAX_STRAY_BYTES, len(buf))):
        if follower_at > end and buf[follower_at - 1] not in _STRAY_BYTES:
            break
        if not strict and follower_at == end and buf[end] in TAGS:
            # Right after an APDU known to start where it did, the next one begins: even if that
            # one is damaged, this one ended where its structure says.
            return status, end
        follower = _plausible_start(buf, follower_at)
        if follower is FrameStatus.FRAME:
            return status, end
        if follower is FrameStatus.INCOMPLETE:
            # The next APDU has begun plausibly; a known start need not wait for all of its header.
            if at_gap or not strict:
                return status, end
            return FrameStatus.INCOMPLETE, len(buf) + 1
    if len(buf) <= end + _MAX_STRAY_BYTES and all(b in _STRAY_BYTES for b in buf[end:]):
        return (status, end) if at_gap else (FrameStatus.INCOMPLETE, len(buf) + 1)
    return FrameStatus.NOT_A_FRAME, pos


def _plausible_start(buf: bytes | bytearray, pos: int) -> FrameStatus:
    """Whether another APDU's header starts at `pos` (FRAME), may (INCOMPLETE) or cannot."""
    tag = buf[pos]
    if tag == DATA_NOTIFICATION:
        return _plausible_notification_header(buf, pos)
    if tag not in CIPHERED_TAGS:
        return FrameStatus.NOT_A_FRAME
    status, _ = _ciphered_end(buf, pos)
    return FrameStatus.FRAME if status is FrameStatus.INCOMPLETE else status
