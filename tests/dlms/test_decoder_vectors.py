"""Every real capture decodes to exactly what its sidecar says, in any chunking."""

from __future__ import annotations

import math
import random

from capture_vectors import Capture, load, names
import pytest

from custom_components.smartmeter_datacollector.dlms import MeterDecoder, Reading


def _decoder(capture: Capture) -> MeterDecoder:
    return MeterDecoder(
        capture.meta["profile"], key=capture.meta["key"], auth_key=capture.meta["auth_key"]
    )


def _same_number(got: object, expected: object) -> bool:
    if isinstance(expected, str) or isinstance(got, str):
        return got == expected
    assert isinstance(got, (int, float))
    assert isinstance(expected, (int, float))
    return math.isclose(got, expected, rel_tol=1e-12, abs_tol=1e-12)


@pytest.mark.parametrize("name", names())
def test_capture_decodes_to_its_sidecar(name: str) -> None:
    """Reading count, meter id, timestamp and every value with its unit, in payload order."""
    capture = load(name)
    readings = _decoder(capture).feed(capture.data)

    assert len(readings) == capture.meta["readings"]
    if not readings:
        return
    reading = readings[-1]
    assert reading.meter_id == capture.meta["meter_id"]
    assert reading.timestamp == capture.expected_timestamp
    if reading.timestamp is not None and capture.expected_timestamp is not None:
        assert reading.timestamp.utcoffset() == capture.expected_timestamp.utcoffset()
    expected = capture.meta["values"]
    assert list(reading.values) == list(expected)
    for key, measurement in reading.values.items():
        assert measurement.unit == expected[key]["unit"], key
        assert _same_number(measurement.value, expected[key]["value"]), (
            key,
            measurement.value,
            expected[key]["value"],
        )


@pytest.mark.parametrize("name", names(must_reject=True))
def test_rejected_capture_says_why(name: str) -> None:
    """A capture a correct decoder must refuse yields nothing, and a counter names the reason."""
    capture = load(name)
    decoder = _decoder(capture)

    assert decoder.feed(capture.data) == []
    stats = decoder.stats
    assert stats.readings == 0
    assert stats.crc_errors + stats.dropped_messages + stats.unknown_layouts + stats.decrypt_errors


def _feed_in_pieces(capture: Capture, sizes: list[int]) -> list[Reading]:
    decoder = _decoder(capture)
    data = capture.data
    readings: list[Reading] = []
    start = 0
    for size in sizes:
        readings += decoder.feed(data[start : start + size])
        start += size
    readings += decoder.feed(data[start:])
    return readings


@pytest.mark.parametrize("name", names())
def test_chunking_does_not_change_output(name: str) -> None:
    """One byte at a time, frame by frame and random splits all give the whole-file result."""
    capture = load(name)
    whole = _decoder(capture).feed(capture.data)

    assert _feed_in_pieces(capture, [1] * len(capture.data)) == whole
    assert _feed_in_pieces(capture, [len(frame) for frame in capture.frames]) == whole
    rng = random.Random(name)
    for _ in range(5):
        sizes = [rng.randint(1, 64) for _ in range(len(capture.data))]
        assert _feed_in_pieces(capture, sizes) == whole


@pytest.mark.parametrize("name", names(must_reject=False))
def test_repeated_pushes_each_yield_a_reading(name: str) -> None:
    """A meter pushes the same layout forever: every repetition decodes, none is lost."""
    capture = load(name)
    decoder = _decoder(capture)
    first = decoder.feed(capture.data)

    # The last copy of a bare-APDU capture may wait for its successor or a quiet line.
    assert decoder.feed(capture.data * 3) + decoder.gap() == first * 3
    assert decoder.buffered < 4096
