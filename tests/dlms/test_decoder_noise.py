"""Reassembly across line noise (issue 8 item 3): tolerate bytes between frames, never invent."""

from __future__ import annotations

from datetime import datetime, timedelta
import random
from zoneinfo import ZoneInfo

from capture_vectors import load, names
import pytest
import synthetic

from custom_components.smartmeter_datacollector.dlms import MeterDecoder
from smartmeter_devtools.framing_encode import hdlc_segmented, mbus_frames
from smartmeter_devtools.load_model import Household
from smartmeter_devtools.push_encode import MeterEncoder

TZ = ZoneInfo("Europe/Zurich")
KEY, AUTH_KEY = synthetic.KEY, synthetic.AUTH_KEY
# Every multi-frame transport: GBT blocks (L+G), HDLC segments (Iskra), M-Bus segments (Kaifa).
MULTI_FRAME = [
    ("lge450", None, None),
    ("lge450", KEY, AUTH_KEY),
    ("lge570", KEY, None),
    ("iskraam550", None, None),
    ("kaifa_mbus", KEY, None),
]


def _noisy(frames: tuple[bytes, ...] | list[bytes], rng: random.Random, share: float) -> bytes:
    """The frames with 1-8 random bytes before about `share` of them."""
    out = bytearray()
    for frame in frames:
        if rng.random() < share:
            out += rng.randbytes(rng.randint(1, 8))
        out += frame
    return bytes(out)


@pytest.mark.parametrize(("profile", "key", "auth_key"), MULTI_FRAME)
def test_fresh_messages_with_noise_between_frames_all_decode(
    profile: str, key: bytes | None, auth_key: bytes | None
) -> None:
    """8 pushes per framing, noise before ~30% of the frames: none lost, each one as sent."""
    encoder = MeterEncoder(profile, tz=TZ, seed=3, key=key, auth_key=auth_key)
    start = datetime(2024, 5, 4, 12, tzinfo=TZ)
    home = Household(seed=3, start=start, tz=TZ)
    clean = MeterDecoder(profile, key=key, auth_key=auth_key, tz=TZ)
    noisy = MeterDecoder(profile, key=key, auth_key=auth_key, tz=TZ)
    rng = random.Random(profile)
    for push in range(8):
        message = encoder.encode(home.advance(start + timedelta(seconds=5 * push)))
        assert len(message.frames) > 1
        expected = clean.feed(message.data)
        assert len(expected) == 1
        assert noisy.feed(_noisy(message.frames, rng, 0.3)) == expected
    assert noisy.stats.dropped_messages == 0
    assert noisy.stats.readings == 8


MULTI_FRAME_CAPTURES = [
    param
    for param in names(must_reject=False)
    if param.values[0] is None or len(load(param.values[0]).frames) > 1
]


@pytest.mark.parametrize("name", MULTI_FRAME_CAPTURES)
def test_noise_between_frames_of_a_shared_capture_yields_the_same_reading(name: str) -> None:
    """Random bytes between every two frames of a real capture change nothing."""
    capture = load(name)

    def decoder() -> MeterDecoder:
        meta = capture.meta
        return MeterDecoder(meta["profile"], key=meta["key"], auth_key=meta["auth_key"])

    expected = decoder().feed(capture.data)
    assert len(expected) == capture.meta["readings"]
    rng = random.Random(name)
    for _ in range(10):
        assert decoder().feed(_noisy(capture.frames, rng, 1.0)) == expected


def test_a_lost_hdlc_segment_is_caught_by_the_apdu_length() -> None:
    """HDLC segments carry no number: a vanished one shows in the A-XDR structure's own length."""
    segments = hdlc_segmented(
        synthetic.notification(), dest=synthetic.DEST, src=synthetic.SRC, max_info=20
    )
    assert len(segments) > 3
    for missing in range(1, len(segments) - 1):
        decoder = MeterDecoder("iskraam550")
        kept = segments[:missing] + segments[missing + 1 :]
        assert decoder.feed(b"".join(kept)) == [], missing
        assert decoder.stats.dropped_messages == 1


def test_a_duplicated_hdlc_segment_is_caught_too() -> None:
    """A segment repeated (a bridge resending) makes the APDU longer than its structure."""
    segments = hdlc_segmented(
        synthetic.notification(), dest=synthetic.DEST, src=synthetic.SRC, max_info=20
    )
    for twice in range(1, len(segments) - 1):
        decoder = MeterDecoder("iskraam550")
        doubled = segments[: twice + 1] + segments[twice:]
        assert decoder.feed(b"".join(doubled)) == [], twice


def test_a_new_first_segment_drops_the_unfinished_message() -> None:
    """The LLC header opens a message: a partial one before it is dropped and counted."""
    segments = hdlc_segmented(
        synthetic.notification(), dest=synthetic.DEST, src=synthetic.SRC, max_info=20
    )
    decoder = MeterDecoder("iskraam550")

    assert len(decoder.feed(b"".join(segments[:2] + segments))) == 1
    assert decoder.stats.dropped_messages == 1


def test_mbus_segments_survive_noise_but_not_a_missing_segment() -> None:
    """M-Bus CI numbers segments: noise between them is fine, a gap in the numbers is not."""
    frames = mbus_frames(synthetic.ciphered(synthetic.notification(), auth=False), max_data=40)
    decoder = MeterDecoder("kaifa_mbus", key=KEY)

    assert len(decoder.feed(b"\x00\x55".join(frames))) == 1
    assert decoder.feed(b"\x00".join(frames[:1] + frames[2:])) == []
    assert decoder.stats.dropped_messages == 1


def test_gbt_blocks_survive_noise_but_not_a_missing_block() -> None:
    """GBT block numbers: noise between blocks is fine, a lost block drops the message."""
    frames = synthetic.hdlc_gbt(synthetic.notification(), block_size=16)
    decoder = MeterDecoder("lge450")

    assert len(decoder.feed(b"\x13\x7e\x11".join(frames))) == 1
    assert decoder.feed(b"\x01".join(frames[:2] + frames[3:])) == []
    assert decoder.stats.dropped_messages == 1


def test_a_partial_message_expires_when_the_caller_gives_time() -> None:
    """Older than a push interval plus its transfer time at line speed: dropped and counted."""
    frames = synthetic.hdlc_gbt(synthetic.notification(), block_size=16)
    decoder = MeterDecoder("lge450")
    age = decoder.max_message_age
    assert 5 < age < 60  # lge450: 5 s pushes, 2400 baud

    assert decoder.feed(b"".join(frames[:2]), now=100.0) == []
    assert decoder.feed(b"".join(frames[2:]), now=100.0 + age + 1) == []
    assert decoder.stats.expired_messages == 1
    assert len(decoder.feed(b"".join(frames), now=200.0)) == 1


def test_without_time_a_slow_message_is_still_completed() -> None:
    """No clock, no expiry: the decoder never guesses time."""
    frames = synthetic.hdlc_gbt(synthetic.notification(), block_size=16)
    decoder = MeterDecoder("lge450")

    assert decoder.feed(b"".join(frames[:2])) == []
    assert len(decoder.feed(b"".join(frames[2:]))) == 1


def test_a_message_within_its_age_completes_across_feeds_with_time() -> None:
    """A meter that sends blocks a few seconds apart still gets its message through."""
    frames = synthetic.hdlc_gbt(synthetic.notification(), block_size=16)
    decoder = MeterDecoder("lge450")

    readings = []
    for index, frame in enumerate(frames):
        readings += decoder.feed(frame, now=10.0 + index)
    assert len(readings) == 1
    assert decoder.stats.expired_messages == 0
