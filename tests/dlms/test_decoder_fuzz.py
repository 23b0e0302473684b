"""Property tests: garbage, mutations and splices never raise, never grow memory, never lie."""

from __future__ import annotations

from capture_vectors import VECTORS, Capture, load, names
from hypothesis import HealthCheck, given, settings, strategies as st
import pytest

from custom_components.smartmeter_datacollector.dlms import PROFILES, MeterDecoder, Reading

FUZZ = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
# HDLC frames carry a CRC-16 over every byte, so a corrupted frame can only be dropped. (M-Bus
# sums and bare APDUs cannot promise that; they are fuzzed for robustness only.)
HDLC_READINGS = names(framing="hdlc", must_reject=False)
ANY_CAPTURE = names()


def _decoder(capture: Capture) -> MeterDecoder:
    return MeterDecoder(
        capture.meta["profile"], key=capture.meta["key"], auth_key=capture.meta["auth_key"]
    )


def _feed(decoder: MeterDecoder, data: bytes, cuts: list[int]) -> list[Reading]:
    readings: list[Reading] = []
    start = 0
    for cut in sorted(c % (len(data) + 1) for c in cuts):
        readings += decoder.feed(data[start:cut])
        start = max(start, cut)
    return readings + decoder.feed(data[start:])


@FUZZ
@given(
    data=st.binary(max_size=4096),
    profile=st.sampled_from(sorted(PROFILES)),
    cuts=st.lists(st.integers(min_value=0), max_size=8),
)
def test_random_bytes_never_raise_or_grow_the_buffer(
    data: bytes, profile: str, cuts: list[int]
) -> None:
    """Whatever arrives, feed() returns, and what it holds back stays bounded."""
    decoder = MeterDecoder(profile, key=bytes(16), auth_key=bytes(16))
    _feed(decoder, data, cuts)
    assert decoder.buffered <= 8192
    assert decoder.stats.bytes_received == len(data)


def test_endless_garbage_keeps_memory_flat() -> None:
    """A megabyte of line noise (flags and frame starts included) leaves nothing behind."""
    decoder = MeterDecoder("lge450")
    noise = bytes((0x7E, 0xA0, 0x68, 0x0F, 0xDB, 0x11, 0xE6) * 37)
    for _ in range(4000):
        decoder.feed(noise)
    assert decoder.buffered < 2100  # at most one plausible, still incomplete frame
    assert decoder.stats.readings == 0


@pytest.mark.parametrize("name", HDLC_READINGS)
@FUZZ
@given(
    edits=st.lists(
        st.tuples(st.integers(min_value=0), st.integers(min_value=0, max_value=255)),
        min_size=1,
        max_size=4,
    ),
    cuts=st.lists(st.integers(min_value=0), max_size=6),
)
def test_mutated_capture_emits_only_true_readings(
    name: str, edits: list[tuple[int, int]], cuts: list[int]
) -> None:
    """Corrupt bytes anywhere: every reading that still comes out is one the meter really sent."""
    capture = load(name)
    truth = _decoder(capture).feed(capture.data)
    data = bytearray(capture.data)
    for position, value in edits:
        data[position % len(data)] = value
    readings = _feed(_decoder(capture), bytes(data), cuts)
    assert all(reading in truth for reading in readings)


@pytest.mark.parametrize("name", ANY_CAPTURE)
@FUZZ
@given(
    pieces=st.lists(st.tuples(st.integers(min_value=0), st.integers(min_value=0)), max_size=6),
    other=st.sampled_from(sorted(p.stem for p in VECTORS.glob("*.hex")) or ["none"]),
)
def test_spliced_captures_never_raise(name: str, pieces: list[tuple[int, int]], other: str) -> None:
    """Slices of two captures glued together in any order decode without an exception."""
    capture = load(name)
    donor = load(other).data if other != "none" else b""
    spliced = bytearray()
    for start, length in pieces:
        source = capture.data if start % 2 else donor or capture.data
        offset = start % len(source)
        spliced += source[offset : offset + length % 600]
    decoder = _decoder(capture)
    decoder.feed(bytes(spliced))
    assert decoder.stats.bytes_received == len(spliced)
