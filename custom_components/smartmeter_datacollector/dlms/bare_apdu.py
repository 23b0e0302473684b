"""Finding bare APDUs in a byte stream that has no transport framing (RS485 meters, bridges).

A bare APDU has no delimiter (protocol-notes §1): where one ends follows from its own structure
(the data-notification's A-XDR body, the ciphered APDU's length field). Where one starts is
known only at the start of the stream, right after the previous APDU, or after the line went
quiet. Every APDU must have a plausible header (reserved invoke-id bits clear, a real date-time
or none, a container body; or a ciphered header with an encrypting security control). After
garbage the stream is hunted for a start, and a candidate found that way must also be confirmed
by the next APDU starting right after it (or by the line going quiet there), so a 0x0F inside a
value is not taken for a message.

An APDU's own structure can end early (a count or length hit by noise) or run on into the next
message (a message cut short). So even at a known start, an APDU is taken only when what follows
confirms its end: the next APDU's start, a quiet line, or, when neither is there, its content
vouching for itself (`Vouch`: a learned push-list skeleton it matches, or a verified GCM tag).
One unlike the meter's own skeleton (learned from it and repeated) is confirmed by a quiet line
only.
One that holds a whole other notification inside it ran on into that one and is never taken.
"""

from __future__ import annotations

from collections.abc import Callable

from .apdu import DATA_NOTIFICATION, notification_end
from .axdr import CONTAINERS, OCTET_STRING, AxdrError, NeedMoreDataError
from .cipher import CIPHERED_TAGS, COMPRESSED, ENCRYPTED
from .cosem_time import DATE_TIME_LENGTH, parse_date_time
from .framing import FrameStatus, Shape
from .lengths import read_length

TAGS = frozenset((DATA_NOTIFICATION, *CIPHERED_TAGS))
# Stray bytes tolerated between two bare APDUs: a break (0x00) or noise on the idle-high line
# (0xFF), at most two. Other bytes there are the rest of a value the APDU was cut off from.
_MAX_STRAY_BYTES = 2
_STRAY_BYTES = frozenset((0x00, 0xFF))
# A bare APDU is never longer than this; waiting for more would let garbage grow the buffer.
MAX_LENGTH = 8192
# Green Book long-invoke-id-and-priority: bits 24-27 are reserved (zero on every meter seen).
_RESERVED_INVOKE_BITS = 0x0F
_SYSTEM_TITLE_LENGTH = 8
_SYSTEM_TITLE_END = 10  # tag, 0x08, 8-byte system title
# A genuine push holds no plausible notification header of its own; past this many candidates
# inside one APDU, it is taken for a run of spliced messages (bounds the work per APDU).
_MAX_INNER_HEADERS = 4
_DATE_AND_TIME = 9  # year (2), month, day, weekday, hour, minute, second, hundredths
_NO_DEVIATION_NOR_STATUS = b"\x80\x00\x00"

# Shapes that do not vouch for where an APDU ends, or speak against it.
_UNLIKE = frozenset((Shape.UNPROVEN, Shape.FOREIGN))

Vouch = Callable[[bytes], Shape]
"""What an APDU's content shows about its end (step 3's knowledge of the meter)."""


def _plausible_notification_header(buf: bytes | bytearray, pos: int) -> FrameStatus:
    index = pos + 5
    if index + 1 >= len(buf):
        return FrameStatus.INCOMPLETE
    if buf[pos + 1] & _RESERVED_INVOKE_BITS:
        return FrameStatus.NOT_A_FRAME
    if buf[index] == OCTET_STRING:
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
    if buf[body] not in CONTAINERS or buf[body + 1] == 0:
        return FrameStatus.NOT_A_FRAME
    return FrameStatus.FRAME


def _ciphered_end(buf: bytes | bytearray, pos: int) -> tuple[FrameStatus, int]:
    if len(buf) - pos > 1 and buf[pos + 1] != _SYSTEM_TITLE_LENGTH:
        # The system title is always 8 bytes long: a tag byte followed by anything else is none.
        return FrameStatus.NOT_A_FRAME, pos
    if len(buf) - pos < _SYSTEM_TITLE_END + 1:
        return FrameStatus.INCOMPLETE, pos + _SYSTEM_TITLE_END + 1
    parsed = read_length(buf, pos + _SYSTEM_TITLE_END)
    if parsed is None:
        if len(buf) - pos < _SYSTEM_TITLE_END + 5:
            return FrameStatus.INCOMPLETE, pos + _SYSTEM_TITLE_END + 5
        return FrameStatus.NOT_A_FRAME, pos
    length, start = parsed
    if length < 5 or start + length - pos > MAX_LENGTH:
        return FrameStatus.NOT_A_FRAME, pos
    if start < len(buf):
        security_control = buf[start]
        if security_control & COMPRESSED or not security_control & ENCRYPTED:
            return FrameStatus.NOT_A_FRAME, pos
    end = start + length
    if end > len(buf):
        return FrameStatus.INCOMPLETE, end
    return FrameStatus.FRAME, end


def probe(
    buf: bytes | bytearray,
    pos: int,
    *,
    strict: bool,
    at_gap: bool,
    vouch: Vouch | None = None,
) -> tuple[FrameStatus, int]:
    """Look for a bare APDU at `pos`: its status and end (for INCOMPLETE: the length needed).

    Every candidate needs a plausible header. `strict` is for a position found by hunting
    rather than known to start an APDU: such a candidate also needs the next APDU to start right
    after it, or `at_gap` (the line went quiet after the buffered bytes) to confirm its end.
    At a known start, `vouch` may confirm the end when other bytes follow.
    """
    status, end = _probe(buf, pos, strict=strict, at_gap=at_gap, vouch=vouch)
    if status is FrameStatus.FRAME and buf[pos] == DATA_NOTIFICATION and _spliced(buf, pos, end):
        return FrameStatus.NOT_A_FRAME, pos
    return status, end


def _spliced(buf: bytes | bytearray, pos: int, end: int) -> bool:
    """Whether a whole other notification, or another one's dated header, lies inside the APDU.

    Then this APDU was cut short and its structure ran on through the next message (a hit
    length or count can make it end exactly where that one does), or a piece of another
    message completed it: its values are not its own.
    """
    headers = 0
    index = buf.find(DATA_NOTIFICATION, pos + 1, end)
    while index != -1:
        if _dated_header(buf, index, end):
            return True
        if _plausible_notification_header(buf, index) is FrameStatus.FRAME:
            headers += 1
            if headers > _MAX_INNER_HEADERS:
                return True
            try:
                if notification_end(bytes(buf[index:end]), 0) <= end - index:
                    return True
            except (NeedMoreDataError, AxdrError):
                pass
        index = buf.find(DATA_NOTIFICATION, index + 1, end)
    return False


def _dated_header(buf: bytes | bytearray, index: int, end: int) -> bool:
    """Whether a data-notification header with a real date-time starts at `index`.

    Tag, long-invoke-id with its reserved bits clear, then a date-time (COSEM date-time,
    IEC 62056-6-2) whose date and time of day are real: no push's values spell that by chance.
    Only bytes before `end` are read (the rest of the header may lie past the APDU's end).
    """
    at = index + 5
    if at + 1 + _DATE_AND_TIME > end or buf[index + 1] & _RESERVED_INVOKE_BITS:
        return False
    if buf[at] == OCTET_STRING:
        at += 1
    if at + 1 + _DATE_AND_TIME > end or buf[at] != DATE_TIME_LENGTH:
        return False
    raw = bytes(buf[at + 1 : min(at + 1 + DATE_TIME_LENGTH, end)])
    # Deviation and clock status may be cut off by `end`: unspecified and none stand in.
    raw += _NO_DEVIATION_NOR_STATUS[len(raw) - _DATE_AND_TIME :]
    return parse_date_time(raw) is not None


def _probe(
    buf: bytes | bytearray, pos: int, *, strict: bool, at_gap: bool, vouch: Vouch | None
) -> tuple[FrameStatus, int]:
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
        if at_gap:
            return status, end
        if strict:
            return FrameStatus.INCOMPLETE, end + 1
        # A known start, nothing after it yet. Taking it now must agree with what the bytes
        # still to come would decide (chunking must not matter): a learned skeleton vouches for
        # it either way; a shape unlike every learned one waits for its successor or a gap.
        # With nothing learned yet (a fresh decoder fed one whole push) it is taken as it is.
        if vouch is not None and vouch(bytes(buf[pos:end])) in _UNLIKE:
            return FrameStatus.INCOMPLETE, end + 1
        return status, end
    # The next APDU must start right after this one, give or take a stray byte or two (an idle
    # line glitch). Anything else means this APDU was not what was sent: cut short and read on
    # into its successor, or changed so that it ends early. A shape unlike the meter's own
    # skeleton (one that repeated) is not confirmed by a successor at all: it may be a push cut
    # short whose last value the next bytes completed (fuzz seed 9: a push cut before its last
    # unit byte, noise 0x7E, then a push), so only a quiet line right after it confirms it.
    shape = Shape.UNKNOWN if vouch is None else vouch(bytes(buf[pos:end]))
    followers = range(end, min(end + 1 + _MAX_STRAY_BYTES, len(buf)))
    for follower_at in followers if shape is not Shape.FOREIGN else ():
        if follower_at > end and buf[follower_at - 1] not in _STRAY_BYTES:
            break
        if not strict and follower_at == end and buf[end] in TAGS and shape not in _UNLIKE:
            # Right after an APDU known to start where it did, the next one begins: even if that
            # one is damaged, this one ended where its structure says. One tag byte is weak
            # evidence (1 in 85 garbage bytes is one), so not for a shape unlike the learned ones.
            return status, end
        follower = _plausible_start(buf, follower_at)
        if follower is FrameStatus.FRAME:
            return status, end
        if follower is FrameStatus.INCOMPLETE:
            # The next APDU has begun plausibly; a known start need not wait for all of its
            # header, unless its shape is unlike the learned ones (then the header must be seen).
            if at_gap or (not strict and shape not in _UNLIKE):
                return status, end
            return FrameStatus.INCOMPLETE, len(buf) + 1
    if len(buf) <= end + _MAX_STRAY_BYTES and all(b in _STRAY_BYTES for b in buf[end:]):
        return (status, end) if at_gap else (FrameStatus.INCOMPLETE, len(buf) + 1)
    # Garbage right after an APDU known to start where it did (no quiet line between): only its
    # content can show that it is whole rather than cut short and completed by the garbage.
    if not strict and shape is Shape.WHOLE:
        return status, end
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
