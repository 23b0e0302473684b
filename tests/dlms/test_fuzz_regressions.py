"""What the fuzz campaign found, replayed as a stream (findings in smartmeter_devtools/fuzz.py).

Each case rebuilds its bytes with the project's encoder (the campaign's own seed streams), so no
capture is copied; the unit tests of each fix live in test_decoder_regressions.py.
"""

from __future__ import annotations

import pytest

from smartmeter_devtools.fuzz_corpus import Stream, encoded_streams
from smartmeter_devtools.fuzz_guard import ReadingKey, new_decoder, reading_key

STREAMS = {stream.name: stream for stream in encoded_streams(seed=3, count=6)}
PUSH_INTERVAL = 5.0


def _alone(stream: Stream, index: int) -> list[ReadingKey]:
    return [reading_key(r) for r in new_decoder(stream).feed(stream.messages[index].data)]


@pytest.mark.parametrize("name", ["apdu", "apdu+enc", "kaifa_mbus+enc", "lge450", "iec"])
def test_pushes_read_in_small_chunks_at_line_speed_all_decode(name: str) -> None:
    """F1: a push read in several chunks (now = arrival of each chunk) is one push, not silence.

    Before the fix a bare APDU read in chunks of 0.5 s or more of line time was discarded.
    """
    stream = STREAMS[name]
    decoder = new_decoder(stream)
    serial = decoder.profile.serial
    byte_time = (1 + serial.bytesize + (serial.parity != "N") + serial.stopbits) / serial.baudrate
    now, readings = 1000.0, []
    for message in stream.messages:
        data = message.data
        for offset in range(0, len(data), 120):
            chunk = data[offset : offset + 120]
            now += len(chunk) * byte_time
            readings += [reading_key(r) for r in decoder.feed(chunk, now)]
        now += PUSH_INTERVAL
    assert readings == [
        key for index in range(len(stream.messages)) for key in _alone(stream, index)
    ]


@pytest.mark.parametrize("name", ["apdu", "apdu+enc"])
@pytest.mark.parametrize("cut", [10, 100, 200])
def test_a_bare_apdu_cut_short_does_not_swallow_the_next_ones(name: str, cut: int) -> None:
    """A bare APDU that ends early, right before the next push: the following pushes decode."""
    stream = STREAMS[name]
    data = stream.messages[0].data[:cut] + stream.messages[1].data + stream.messages[2].data
    readings = [reading_key(r) for r in new_decoder(stream).feed(data)]
    assert readings == _alone(stream, 1) + _alone(stream, 2)


def test_one_stray_byte_in_a_bare_apdu_stream_loses_nothing_after_it() -> None:
    """Issue 8: one 0x00 after a Kaifa-Salzburg-style push used to stop every later reading."""
    stream = STREAMS["apdu"]
    data = stream.messages[0].data + b"\x00" + b"".join(m.data for m in stream.messages[1:])
    readings = [reading_key(r) for r in new_decoder(stream).feed(data)]
    assert readings == [
        key for index in range(len(stream.messages)) for key in _alone(stream, index)
    ]


def test_a_push_finished_early_in_a_long_read_does_not_expire() -> None:
    """F4: the rest of a push at the start of a 3 KiB read arrived long before the read's end."""
    stream = STREAMS["lge450+enc"]
    decoder = new_decoder(stream)
    first, *rest = stream.messages[0].frames
    tail = b"".join(stream.messages[1].data for _ in range(4))
    byte_time = 11 / 2400  # 2400 8E1
    readings = decoder.feed(first, 1000.0 + len(first) * byte_time)
    size = len(first) + len(b"".join(rest)) + len(tail)
    readings += decoder.feed(b"".join(rest) + tail, 1000.0 + size * byte_time)
    assert [reading_key(r) for r in readings][:1] == _alone(stream, 0)
    assert decoder.stats.expired_messages == 0


def test_a_push_right_before_a_damaged_bare_apdu_still_decodes() -> None:
    """F3: an intact bare APDU followed at once by a damaged one (its invoke id flipped) is kept."""
    stream = STREAMS["apdu"]
    damaged = bytearray(stream.messages[1].data)
    damaged[1] ^= 0x01
    decoder = new_decoder(stream)
    readings = decoder.feed(stream.messages[0].data + bytes(damaged)) + decoder.gap()
    assert [reading_key(r) for r in readings][:1] == _alone(stream, 0)
