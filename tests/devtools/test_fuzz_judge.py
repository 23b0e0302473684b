"""The fuzz judge's allowances (issue 8), each as narrow as what no decoder can know.

A bare APDU without a GCM tag that ends in a number cannot be told from one cut inside that
number; equal readings cannot say which message they came from; a garbage collection of the
whole process is not decoder work. Bytes are built with the project's encoder.
"""

from __future__ import annotations

from collections import Counter
import gc
import random

from smartmeter_devtools._decoder import MBUS_STOP
from smartmeter_devtools.axdr_encode import Enum, Int8, OctetString, Structure, UInt32, obis
from smartmeter_devtools.fuzz_corpus import encoded_streams
from smartmeter_devtools.fuzz_evidence import ends_in_value, valid_frame_spans
from smartmeter_devtools.fuzz_findings import Findings
from smartmeter_devtools.fuzz_guard import GcClock, reading_key
from smartmeter_devtools.fuzz_judge import StreamRunner, _Expectation, _SentMutant
from smartmeter_devtools.fuzz_mutate import Mutant
from smartmeter_devtools.fuzz_tally import Tally

STREAMS = {stream.name: stream for stream in encoded_streams(seed=5, count=3)}


def _notification(*values: object) -> bytes:
    """A data-notification without header time whose body is a structure of `values`."""
    return b"\x0f\x00\x00\x00\x01\x00" + Structure(list(values)).encode()  # type: ignore[arg-type]


def test_a_notification_ending_in_a_number_is_cuttable() -> None:
    """Ends in a double-long-unsigned: its last bytes are a value garbage could complete."""
    assert ends_in_value(_notification(obis("1-0:1.8.0"), UInt32(123456)))


def test_a_notification_ending_in_skeleton_is_not() -> None:
    """Ends in a string or a scaler-unit: bytes a learned skeleton pins down."""
    assert not ends_in_value(_notification(UInt32(1), OctetString(b"12345678")))
    assert not ends_in_value(_notification(UInt32(1), Structure([Int8(0), Enum(30)])))


def test_what_is_no_notification_gets_no_allowance() -> None:
    """Not a data-notification, or not one whole: nothing is allowed for it."""
    assert not ends_in_value(None)
    assert not ends_in_value(b"\xdb\x08")
    assert not ends_in_value(_notification(UInt32(1))[:-2])


def test_a_descriptor_body_ending_in_a_number_is_cuttable() -> None:
    """Sagemcom's untagged attribute descriptors: the body still ends in a tagged number."""
    descriptor = (3).to_bytes(2, "big") + bytes((1, 0, 1, 8, 0, 255)) + b"\x02"
    body = b"\x02\x02" + Enum(1).encode() + b"\x01\x01\x02\x02" + descriptor
    assert ends_in_value(b"\x0f\x00\x00\x00\x01\x00" + body + UInt32(52).encode())


def test_equal_readings_credit_the_message_that_must_not_be_missed() -> None:
    """An earlier message allowed to be missed does not take a later message's equal reading."""
    stream = STREAMS["apdu"]
    tally = Tally()
    runner = StreamRunner(stream, random.Random(1), tally, Findings(tally.findings))
    key = runner.expected[0][0]
    allowed = _Expectation(0, 0, 10, Counter([key]), True, 30, True)
    owed = _Expectation(0, 10, 20, Counter([key]), False, 30, True)
    runner.pending.extend((allowed, owed))
    runner.position = 20
    runner._judge(key)
    assert list(runner.pending) == [allowed]
    runner.position = 40
    runner._expire()
    assert tally.allowed_late["apdu"] == 1
    assert not tally.lost


def test_gc_clock_counts_collections_only_while_started() -> None:
    """Collections are timed between start and stop, not after."""
    clock = GcClock()
    clock.start()
    try:
        gc.collect()
    finally:
        clock.stop()
    assert clock.pauses >= 1
    assert clock.spent >= 0
    pauses = clock.pauses
    gc.collect()
    assert clock.pauses == pauses


def test_a_vouched_mutant_early_in_one_big_feed_still_vouches_for_its_reading() -> None:
    """Fuzz seed 9 (long run): one 2.7 KiB feed carried a whole batch of units.

    A bit flip in a bare APDU without a tag (no check: vouched) decoded as sent, but four more
    mutants came after it in the same feed and pushed it out of the last-four window, so its
    reading was counted wrong. Every mutant of the feed that gave the reading now counts.
    """
    stream = STREAMS["apdu"]
    tally = Tally()
    runner = StreamRunner(stream, random.Random(1), tally, Findings(tally.findings))
    flipped = bytearray(stream.messages[0].data)
    flipped[flipped.index(bytes.fromhex("0100010800ff")) + 10] ^= 0x01
    (reading,) = runner.decoder.feed(bytes(flipped)) + runner.decoder.gap()
    forged = reading_key(reading)
    assert forged not in runner.intact_keys
    units = [Mutant("bitflip", bytes(flipped), (0,), True)]
    units += [Mutant("garbage", b"\x00" * 4, (), False) for _ in range(4)]
    start = 0
    for unit in units:
        runner.recent.append(_SentMutant(unit, start, start + len(unit.data)))
        start += len(unit.data)
    runner.feed_start, runner.position = 0, start
    runner._judge(forged)
    assert not tally.wrong
    assert tally.vouched_readings["bitflip"] == 1


def _expire_after(stream_name: str, before: bytes) -> Tally:
    """Judge the stream's first message, missed after `before`, once its deadline passed."""
    stream = STREAMS[stream_name]
    tally = Tally()
    runner = StreamRunner(stream, random.Random(1), tally, Findings(tally.findings))
    data = before + stream.messages[0].data
    runner.tail[-len(data) :] = data
    runner.position = len(data)
    expected = Counter(runner.expected[0])
    runner.pending.append(_Expectation(0, len(before), len(data), expected, False, len(data)))
    runner._expire()
    return tally


def test_a_message_overlapped_by_a_forged_checked_frame_is_allowed_as_collided() -> None:
    """Fuzz seed 9 (long run): a frame cut short whose M-Bus sum matched by chance.

    Its claimed length ran into the next message, which it then swallowed; nothing in the
    transport tells the two overlapping checked frames apart. Counted as collided, not lost.
    """
    intact = STREAMS["kaifa_mbus"].messages[0].data
    stop = intact.index(MBUS_STOP, 3)  # the forged frame's stop byte: the intact one's own
    head = bytes((0x53, 0xFF))  # C and A; CI makes the sum match the intact byte before `stop`
    ci = (intact[stop - 1] - sum(head) - sum(intact[: stop - 1])) & 0xFF
    size = len(head) + 1 + stop - 1
    forged_start = bytes((0x68, size, size, 0x68, *head, ci))
    assert any(start == 0 for start, _ in valid_frame_spans(forged_start + intact))

    collided = _expire_after("kaifa_mbus", forged_start)
    assert collided.collided["mbus"] == 1
    assert not collided.lost
    # Garbage that forms no checked frame leaves the loss a loss.
    assert _expire_after("kaifa_mbus", b"\x68\x00\x55").lost["mbus"] == 1
