"""The fast path (learned skeletons) gives exactly the full path's readings, or steps aside.

Every decoder runs twice over the same bytes: once as shipped (fast path on) and once with
`fast_path=False`, the reference. Readings, stats and recent frames must be identical, message
by message, for the shared captures and for encoder-made streams of every profile whose values
change from push to push; and a message whose skeleton differs must take the full path.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
import struct
from zoneinfo import ZoneInfo

from capture_vectors import load, names
import pytest
from synthetic import WHEN_ON_WIRE, hdlc_single, notification

from custom_components.smartmeter_datacollector.dlms import MeterDecoder
from custom_components.smartmeter_datacollector.dlms.fast_path import FastPath
from smartmeter_devtools.axdr_encode import OctetString, Structure, obis
from smartmeter_devtools.load_model import Household
from smartmeter_devtools.meter_model import LAYOUTS
from smartmeter_devtools.push_encode import MeterEncoder

TZ = ZoneInfo("Europe/Zurich")
KEY = bytes.fromhex("000102030405060708090a0b0c0d0e0f")
AUTH_KEY = bytes.fromhex("d0d1d2d3d4d5d6d7d8d9dadbdcdddedf")
SECURITY = {"plain": (None, None), "sc20": (KEY, None), "sc30": (KEY, AUTH_KEY)}
START = datetime(2025, 7, 14, 12, 30, 5, tzinfo=TZ)


def _pair(profile: str, **kwargs: object) -> tuple[MeterDecoder, MeterDecoder]:
    return (
        MeterDecoder(profile, **kwargs),  # type: ignore[arg-type]
        MeterDecoder(profile, fast_path=False, **kwargs),  # type: ignore[arg-type]
    )


def _fast(decoder: MeterDecoder) -> FastPath:
    fast = decoder._fast  # the counters show which path decoded
    assert fast is not None
    return fast


def _assert_same(fast: MeterDecoder, full: MeterDecoder, chunks: list[bytes]) -> int:
    """Feed both decoders chunk by chunk; every result must be equal. Returns readings seen."""
    seen = 0
    for chunk in chunks:
        got, want = fast.feed(chunk), full.feed(chunk)
        assert got == want
        for a, b in zip(got, want, strict=True):
            # Equal datetimes in different zones compare equal; the zone must match too.
            assert (a.timestamp and a.timestamp.utcoffset()) == (
                b.timestamp and b.timestamp.utcoffset()
            )
            assert [type(m.value) for m in a.values.values()] == [
                type(m.value) for m in b.values.values()
            ]
        seen += len(got)
    assert fast.stats == full.stats
    assert fast.recent_frames == full.recent_frames
    return seen


@pytest.mark.parametrize("security", sorted(SECURITY))
@pytest.mark.parametrize("profile", sorted(LAYOUTS))
def test_encoded_streams_decode_identically_with_values_changing(profile, security):
    key, auth_key = SECURITY[security]
    household = Household(seed=5, start=START, tz=TZ)
    encoder = MeterEncoder(profile, tz=TZ, seed=11, key=key, auth_key=auth_key)
    fast, full = _pair(profile, key=key, auth_key=auth_key, tz=TZ)
    messages = [
        encoder.encode(household.advance(START + timedelta(seconds=7 * n))).data for n in range(40)
    ]
    assert _assert_same(fast, full, messages) == len(messages)
    # Values changed from push to push, and still the learned skeleton decoded most of them.
    assert _fast(fast).hits >= len(messages) // 2


def _capture_pair(name: str):
    capture = load(name)
    meta = capture.meta
    return capture, *_pair(capture.profile, key=meta.get("key"), auth_key=meta.get("auth_key"))


@pytest.mark.parametrize("name", names())
def test_every_capture_decodes_identically_fed_again_and_again(name):
    vector, fast, full = _capture_pair(name)
    _assert_same(fast, full, [vector.data] * 4)


@pytest.mark.parametrize("name", names())
def test_every_capture_with_each_value_byte_changed_decodes_identically(name):
    """Flip one byte at a time after learning: the fast path may hit only when that is exact."""
    vector, fast, full = _capture_pair(name)
    _assert_same(fast, full, [vector.data])
    data = bytearray(vector.data)
    step = max(1, len(data) // 300)
    for index in range(0, len(data), step):
        mutated = bytearray(data)
        mutated[index] ^= 0x5A
        _assert_same(fast, full, [bytes(mutated), vector.data])


def test_a_changed_skeleton_takes_the_full_path():
    household = Household(seed=5, start=START, tz=TZ)
    encoder = MeterEncoder("lge450", tz=TZ, seed=11)
    fast, full = _pair("lge450", tz=TZ)
    first = encoder.encode(household.advance(START)).data
    _assert_same(fast, full, [first, first])
    hits = _fast(fast).hits
    assert hits == 1
    other = MeterEncoder("lge450", tz=TZ, seed=12)  # other meter id: a string, so skeleton
    changed = other.encode(household.advance(START + timedelta(seconds=10))).data
    _assert_same(fast, full, [changed])
    assert _fast(fast).hits == hits


@dataclass(frozen=True)
class _Float:
    """float32 (tag 0x17) or float64 (tag 0x18), which the project's encoder does not make."""

    value: float
    double: bool = False

    def encode(self) -> bytes:
        if self.double:
            return b"\x18" + struct.pack(">d", self.value)
        return b"\x17" + struct.pack(">f", self.value)


def _float_push(n: int, text_last: bool = False) -> bytes:
    items = [
        WHEN_ON_WIRE.octet_string(),
        obis("1-0:1.7.0"),
        _Float(100.5 + n),
        obis("1-0:32.7.0"),
        _Float(230.25 + n, double=True),
        obis("0-0:96.1.0"),
        OctetString(b"12345678"),
    ]
    if not text_last:
        items = items[:1] + items[5:] + items[1:5]
    return notification(Structure(items), invoke_id=n + 1)


def test_float_values_are_read_from_the_learned_skeleton():
    """Meters that send float32/float64 values get the fast path too, with the same readings."""
    fast, full = _pair("generic", tz=TZ)
    pushes = [hdlc_single(_float_push(n)) for n in range(6)]
    assert _assert_same(fast, full, pushes) == len(pushes)
    assert _fast(fast).hits == len(pushes) - 1


@pytest.mark.parametrize("text_last", [True, False], ids=["skeleton-tail", "value-tail"])
def test_bare_apdus_run_together_decode_identically(text_last):
    """Bare APDUs back to back, with garbage or split: where one ends, the skeleton may vouch."""
    fast, full = _pair("generic", tz=TZ)
    pushes = [_float_push(n, text_last=text_last) for n in range(8)]
    chunks = [
        pushes[0],
        pushes[1],
        pushes[2] + pushes[3],
        pushes[4] + bytes([0x0F, 0x00]),  # the start of something that never completes
        pushes[5] + pushes[6][:10],
        pushes[6][10:] + pushes[7],
    ]
    assert _assert_same(fast, full, chunks) >= len(pushes) - 1
    assert _fast(fast).hits >= len(pushes) // 2
