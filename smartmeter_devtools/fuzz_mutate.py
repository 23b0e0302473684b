"""Mutation classes of the fuzz campaign.

Raw mutants damage bytes the way a line or a broken meter does and leave every checksum as it
is. Re-framed mutants change a field (an HDLC length, an A-XDR tag, length or count, an M-Bus
control field, IEC 62056-21 text) and then recompute what the transport checks (HCS/FCS of
IEC 62056-46, the M-Bus sum of EN 13757-2, the IEC 62056-21 BCC, the GCM tag), so the decoder
cannot tell them from a genuine message.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
import random

from ._decoder import (
    DATA_NOTIFICATION,
    ETX,
    GLO_CIPHERING,
    HDLC_FLAG,
    HDLC_FORMAT_TYPE_3,
    HDLC_MAX_LENGTH,
    HDLC_SEGMENTED,
    MBUS_START,
    MBUS_STOP,
    STX,
    axdr,
    crc16_x25,
    iec_bcc,
)
from .fuzz_corpus import Stream

# A-XDR tags (Blue Book 9.5 / Green Book 9.4.2): array, structure, octet-, visible-string,
# compact array, and the values an attacker would put in their place.
_AXDR_TAGS = frozenset(
    (axdr.ARRAY, axdr.STRUCTURE, axdr.OCTET_STRING, axdr.VISIBLE_STRING, axdr.COMPACT_ARRAY)
)
# 0x7F and 0xFF are no Data tag at all.
_HOSTILE_TAGS = (axdr.NULL_DATA, *sorted(_AXDR_TAGS), 0x7F, 0xFF)
_HOSTILE_LENGTHS = (
    b"\x00",
    b"\x01",
    b"\x7f",
    b"\x80",
    b"\x81\xff",
    b"\x82\xff\xff",
    b"\x84\xff\xff\xff\xff",
    b"\x88" + b"\xff" * 8,
    b"\xff",
)


@dataclass(frozen=True, slots=True)
class Mutant:
    """A mutated message and what a correct decoder may make of it.

    `sources`: indexes of the stream's messages it was made from; their readings may still come
    out (noise between frames, a duplicated frame). `vouched`: the transport cannot tell it from
    a genuine message (re-framed, or a framing without any check), so a reading that a fresh
    decoder gives for these bytes alone is no error.
    """

    kind: str
    data: bytes
    sources: tuple[int, ...]
    vouched: bool


def _pick_message(rng: random.Random, stream: Stream) -> int:
    return rng.randrange(len(stream.messages))


def _unchecked(stream: Stream, index: int) -> bool:
    """Whether nothing vouches for a message's bytes (a mutant of it may decode as sent).

    True for a bare APDU without a GCM tag and for IEC 62056-21 data lines without the
    STX ... ETX BCC block around them (as the shared captures hold them).
    """
    if stream.framing == "apdu":
        return stream.auth_key is None
    return stream.framing == "iec62056-21" and STX not in stream.messages[index].data


def bitflip(rng: random.Random, stream: Stream) -> Mutant:
    """Flip 1 to 4 bits."""
    index = _pick_message(rng, stream)
    data = bytearray(stream.messages[index].data)
    for _ in range(rng.randint(1, 4)):
        data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    return Mutant("bitflip", bytes(data), (index,), _unchecked(stream, index))


def insert(rng: random.Random, stream: Stream) -> Mutant:
    """Insert 1 to 16 random bytes."""
    index = _pick_message(rng, stream)
    data = stream.messages[index].data
    at = rng.randrange(len(data) + 1)
    noise = rng.randbytes(rng.randint(1, 16))
    return Mutant("insert", data[:at] + noise + data[at:], (index,), _unchecked(stream, index))


def delete(rng: random.Random, stream: Stream) -> Mutant:
    """Delete 1 to 16 bytes."""
    index = _pick_message(rng, stream)
    data = stream.messages[index].data
    at = rng.randrange(len(data))
    return Mutant(
        "delete", data[:at] + data[at + rng.randint(1, 16) :], (index,), _unchecked(stream, index)
    )


def truncate(rng: random.Random, stream: Stream) -> Mutant:
    """Keep a prefix: the line went dead mid-message."""
    index = _pick_message(rng, stream)
    data = stream.messages[index].data
    return Mutant("truncate", data[: rng.randrange(len(data))], (index,), _unchecked(stream, index))


def duplicate_frame(rng: random.Random, stream: Stream) -> Mutant:
    """Send one frame of a message twice."""
    index = _pick_message(rng, stream)
    frames = list(stream.messages[index].frames)
    at = rng.randrange(len(frames))
    frames.insert(at, frames[at])
    return Mutant("dup_frame", b"".join(frames), (index,), _unchecked(stream, index))


def reorder_frames(rng: random.Random, stream: Stream) -> Mutant:
    """Swap two frames of a message, or of two messages when a message has one frame."""
    index = _pick_message(rng, stream)
    frames = list(stream.messages[index].frames)
    sources: tuple[int, ...] = (index,)
    if len(frames) < 2:
        other = _pick_message(rng, stream)
        frames += stream.messages[other].frames
        sources = (index, other)
    a, b = rng.sample(range(len(frames)), 2)
    frames[a], frames[b] = frames[b], frames[a]
    return Mutant("reorder", b"".join(frames), sources, _unchecked(stream, index))


def noise_between_frames(rng: random.Random, stream: Stream) -> Mutant:
    """Line noise between two frames (or before/after a single one): no frame is damaged."""
    index = _pick_message(rng, stream)
    frames = list(stream.messages[index].frames)
    at = rng.randint(1, len(frames)) if len(frames) > 1 else rng.randint(0, 1)
    noise = rng.randbytes(rng.randint(1, 24))
    if rng.random() < 0.3:
        noise = bytes((HDLC_FLAG,)) * rng.randint(1, 4)  # flag fill / a stray flag
    frames.insert(at, noise)
    return Mutant("noise_between", b"".join(frames), (index,), _unchecked(stream, index))


def garbage(rng: random.Random, stream: Stream) -> Mutant:
    """A run of random bytes; a third of them rich in frame starts."""
    data = bytearray(rng.randbytes(rng.randint(1, 512)))
    if rng.random() < 0.33:
        for _ in range(len(data) // 4):
            data[rng.randrange(len(data))] = rng.choice(
                (HDLC_FLAG, MBUS_START, STX, DATA_NOTIFICATION, GLO_CIPHERING)
            )
    return Mutant("garbage", bytes(data), (), False)


def flag_run(rng: random.Random, stream: Stream) -> Mutant:
    """0x7E runs, and flags followed by headers that claim long frames (7E A7 7E A7 ...)."""
    count = rng.randint(1, 1024)
    pattern = rng.choice((b"\x7e", b"\x7e\xa7", b"\x7e\xa0", b"\x7e\xa8\xff", b"\x7e\xa7\xff\x7e"))
    return Mutant("flag_run", (pattern * count)[: 4 * count], (), False)


def splice(rng: random.Random, stream: Stream) -> Mutant:
    """The start of one message glued to the end of another."""
    first, second = _pick_message(rng, stream), _pick_message(rng, stream)
    a, b = stream.messages[first].data, stream.messages[second].data
    data = a[: rng.randrange(len(a) + 1)] + b[rng.randrange(len(b)) :]
    vouched = _unchecked(stream, first) and _unchecked(stream, second)
    return Mutant("splice", data, (first, second), vouched)


def wrong_key(rng: random.Random, stream: Stream) -> Mutant | None:
    """A push ciphered with a key the decoder does not have (or any key, for a plain stream)."""
    if not stream.wrong_key:
        return None
    return Mutant("wrong_key", rng.choice(stream.wrong_key).data, (), False)


# --- re-framed mutants ---------------------------------------------------------------------


def hdlc_fields(frame: bytes) -> tuple[int, int] | None:
    """(header length incl. HCS, information start) of a frame with flags, or None if not HDLC."""
    if len(frame) < 9 or frame[0] != HDLC_FLAG or frame[-1] != HDLC_FLAG:
        return None
    pos = 3
    for _ in range(2):  # destination then source address: extended, LSB 1 ends (62056-46 6.4.2)
        while pos < len(frame) - 1 and not frame[pos] & 1:
            pos += 1
        pos += 1
    pos += 1  # control
    return pos, pos + 2


def hdlc_frame_from(
    frame: bytes, info: bytes, *, length: int | None = None, seg: int = -1
) -> bytes:
    """Rebuild `frame` with a new information field, length field or segmentation bit.

    HCS and FCS (CRC-16/X.25) are always recomputed; a `length` that disagrees with the bytes
    yields a frame whose header is valid but whose claimed size is not what follows.
    """
    fields = hdlc_fields(frame)
    if fields is None:
        return frame
    header_end, _ = fields
    address_control = frame[3:header_end]
    size = 2 + len(address_control) + 2 + len(info) + 2
    claimed = size if length is None else length & HDLC_MAX_LENGTH
    segmented = frame[1] & HDLC_SEGMENTED if seg < 0 else (HDLC_SEGMENTED if seg else 0)
    format_high = HDLC_FORMAT_TYPE_3 << 4 | segmented | (claimed >> 8)
    head = bytes((format_high, claimed & 0xFF)) + address_control
    body = head + crc16_x25(head).to_bytes(2, "little") + info
    return bytes((HDLC_FLAG,)) + body + crc16_x25(body).to_bytes(2, "little") + bytes((HDLC_FLAG,))


def hdlc_length(rng: random.Random, stream: Stream) -> Mutant | None:
    """An HDLC frame whose length or segmentation bit is extreme, with valid HCS and FCS."""
    if stream.framing != "hdlc":
        return None
    index = _pick_message(rng, stream)
    frames = list(stream.messages[index].frames)
    at = rng.randrange(len(frames))
    fields = hdlc_fields(frames[at])
    if fields is None:
        return None
    info = frames[at][fields[1] : -3]
    choice = rng.random()
    if choice < 0.4:  # claimed length disagrees with the bytes (too short, too long, maximal)
        length = rng.choice((0, 1, 2, 7, 8, 9, len(frames[at]) - 3, len(frames[at]) - 1, 0x7FF))
        frames[at] = hdlc_frame_from(frames[at], info, length=length)
    elif choice < 0.7:  # a whole frame cut or padded to an extreme size
        size = rng.choice((0, 1, rng.randrange(len(info) + 1), 0x7FF - 16))
        info = (info + rng.randbytes(max(0, size - len(info))))[:size]
        frames[at] = hdlc_frame_from(frames[at], info)
    else:
        frames[at] = hdlc_frame_from(frames[at], info, seg=not frames[at][1] & 0x08)
    return Mutant("hdlc_length", b"".join(frames), (index,), True)


def axdr_field(rng: random.Random, stream: Stream) -> Mutant | None:
    """An A-XDR tag, length or count byte made extreme; re-ciphered and re-framed validly."""
    if stream.reframe is None:
        return None
    index = _pick_message(rng, stream)
    apdu = stream.messages[index].apdu
    if not apdu:
        return None
    data = bytearray(apdu)
    tags = [p for p in range(1, len(data)) if data[p] in _AXDR_TAGS] or [1]
    for _ in range(rng.randint(1, 2)):
        at = min(rng.choice(tags), len(data) - 1)
        if rng.random() < 0.4:
            data[at] = rng.choice(_HOSTILE_TAGS)
        else:
            end = at + 2 if at + 1 < len(data) else at + 1
            data[at + 1 : end] = rng.choice(_HOSTILE_LENGTHS)
    return Mutant("axdr", b"".join(stream.reframe(bytes(data))), (index,), True)


def mbus_field(rng: random.Random, stream: Stream) -> Mutant | None:
    """An M-Bus long frame with a changed C, A, CI or TPDU byte, or a cut body; sum recomputed."""
    if stream.framing != "mbus":
        return None
    index = _pick_message(rng, stream)
    frames = list(stream.messages[index].frames)
    at = rng.randrange(len(frames))
    frame = frames[at]
    if len(frame) < 9 or frame[0] != MBUS_START:
        return None
    body = bytearray(frame[4:-2])
    if rng.random() < 0.6:
        body[rng.randrange(min(5, len(body)))] = rng.randrange(256)
    else:
        body = body[: rng.randrange(len(body) + 1)]
    size = len(body) & 0xFF
    frames[at] = (
        bytes((MBUS_START, size, size, MBUS_START)) + body + bytes((sum(body) & 0xFF, MBUS_STOP))
    )
    return Mutant("mbus_field", b"".join(frames), (index,), True)


def iec_text(rng: random.Random, stream: Stream) -> Mutant | None:
    """IEC 62056-21 text with changed, duplicated or swapped lines; BCC recomputed (6.3)."""
    if stream.framing != "iec62056-21":
        return None
    index = _pick_message(rng, stream)
    block = stream.messages[index].data
    start = block.find(bytes((STX,)))
    end = block.rfind(bytes((ETX,)))
    if start < 0 or end <= start:
        return None
    lines = block[start + 1 : end].split(b"\r\n")
    choice = rng.random()
    at = rng.randrange(len(lines))
    if choice < 0.3:
        lines.insert(at, lines[at])
    elif choice < 0.5 and len(lines) > 1:
        other = rng.randrange(len(lines))
        lines[at], lines[other] = lines[other], lines[at]
    else:
        line = bytearray(lines[at])
        if line:
            line[rng.randrange(len(line))] = rng.choice(b"()*.0123456789!/-:\x00\xff")
        lines[at] = bytes(line)
    text = b"\r\n".join(lines) + bytes((ETX,))
    data = block[:start] + bytes((STX,)) + text + bytes((iec_bcc(text),))
    return Mutant("iec_text", data, (index,), True)


Mutator = Callable[[random.Random, Stream], Mutant | None]

# Name -> (weight, mutator). Re-framed classes only apply where their framing is.
MUTATORS: dict[str, tuple[int, Mutator]] = {
    "bitflip": (14, bitflip),
    "insert": (8, insert),
    "delete": (8, delete),
    "truncate": (8, truncate),
    "dup_frame": (5, duplicate_frame),
    "reorder": (5, reorder_frames),
    "noise_between": (8, noise_between_frames),
    "garbage": (8, garbage),
    "flag_run": (4, flag_run),
    "splice": (5, splice),
    "wrong_key": (4, wrong_key),
    "hdlc_length": (8, hdlc_length),
    "axdr": (14, axdr_field),
    "mbus_field": (8, mbus_field),
    "iec_text": (8, iec_text),
}


def mutate(rng: random.Random, stream: Stream, kinds: tuple[str, ...] = tuple(MUTATORS)) -> Mutant:
    """One mutant of a random class that applies to the stream (bit flips when none does)."""
    weights = [MUTATORS[k][0] for k in kinds]
    for _ in range(4):
        kind = rng.choices(kinds, weights)[0]
        mutant = MUTATORS[kind][1](rng, stream)
        if mutant is not None and mutant.data:
            return mutant
    return bitflip(rng, stream)
