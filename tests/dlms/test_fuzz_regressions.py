"""What the fuzz campaign found, replayed as a stream (findings in smartmeter_devtools/fuzz.py).

Each case rebuilds its bytes with the project's encoder (the campaign's own seed streams), so no
capture is copied; the unit tests of each fix live in test_decoder_regressions.py.
"""

from __future__ import annotations

import pytest

from custom_components.smartmeter_datacollector.dlms.apdu import notification_end
from custom_components.smartmeter_datacollector.dlms.axdr import AxdrError, NeedMoreDataError
from custom_components.smartmeter_datacollector.dlms.models import Reading
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


def _keys(readings: list[Reading]) -> list[ReadingKey]:
    return [reading_key(r) for r in readings]


def _end(apdu: bytes, after: bytes) -> int | None:
    """Where the notification at the start of `apdu + after` ends by its own structure."""
    try:
        return notification_end(apdu + after, 0)
    except (AxdrError, NeedMoreDataError):
        return None


@pytest.mark.parametrize("name", ["apdu", "apdu+enc"])
def test_a_bare_apdu_with_garbage_right_after_it_decodes_once_its_skeleton_is_known(
    name: str,
) -> None:
    """F5: garbage right after a push (no quiet line between) no longer loses the push.

    The push ends in skeleton bytes (its meter number string), so a push that matches the
    skeleton learned from the one before cannot be a shorter message completed by the garbage.
    """
    stream = STREAMS[name]
    garbage = bytes.fromhex("7ea8ff") * 8
    decoder = new_decoder(stream)
    readings = decoder.feed(stream.messages[0].data) + decoder.gap()
    readings += decoder.feed(stream.messages[1].data + garbage) + decoder.gap()
    readings += decoder.feed(stream.messages[2].data) + decoder.gap()
    assert _keys(readings) == _alone(stream, 0) + _alone(stream, 1) + _alone(stream, 2)
    # Knowing nothing of the meter yet, the same bytes cannot be told from a cut push.
    fresh = new_decoder(stream)
    assert fresh.feed(stream.messages[1].data + garbage) + fresh.gap() == []


def test_a_hostile_length_that_swallows_the_next_push_gives_no_reading() -> None:
    """Fuzz seed 1: an OBIS octet-string length hit to 0x81 nn ran on through the next push.

    With the right nn the structure's count ends exactly where that push ends, and the next push
    starts right after: the spliced APDU's values came from two messages. A whole notification
    inside an APDU now rejects it; the swallowed push is found by hunting instead.
    """
    stream = STREAMS["apdu"]
    m0, m1, m2, m3 = (stream.messages[i].data for i in range(4))
    at = m1.index(bytes.fromhex("0906"), 20) + 1  # the first OBIS code's length byte
    spliced = [
        candidate
        for size in range(0x80, 0x100)
        if _end(candidate := m1[:at] + bytes((0x81, size)) + m1[at + 1 :], m2 + m3)
        == len(candidate) + len(m2)
    ]
    assert spliced, "the encoder's layout changed: no length splices the next push"
    decoder = new_decoder(stream)
    readings = decoder.feed(m0 + spliced[0] + m2 + m3) + decoder.gap()
    assert _keys(readings) == _alone(stream, 0) + _alone(stream, 2) + _alone(stream, 3)


def test_an_apdu_ended_early_by_a_flipped_tag_at_a_read_edge_gives_no_reading() -> None:
    """Fuzz seed 3: a structure tag flipped to boolean ends the APDU two values early.

    A read that happened to end exactly there made the decoder take it (a reading without its
    last values); fed at once, the bytes after it showed it was not whole. Now a shape unlike
    the learned skeleton waits for its successor or a quiet line, so chunking does not matter.
    """
    stream = STREAMS["apdu"]
    m0, m1, m2 = (stream.messages[i].data for i in range(3))
    scaler_unit = m1.rindex(bytes.fromhex("0202"))
    damaged = m1[:scaler_unit] + b"\x03" + m1[scaler_unit + 1 :]
    early = notification_end(damaged, 0)
    assert early < len(damaged)
    for chunks in ([damaged[:early], damaged[early:]], [damaged]):
        decoder = new_decoder(stream)
        readings = decoder.feed(m0) + decoder.gap()
        for chunk in chunks:
            readings += decoder.feed(chunk)
        readings += decoder.gap() + decoder.feed(m2) + decoder.gap()
        assert _keys(readings) == _alone(stream, 0) + _alone(stream, 2)


@pytest.mark.parametrize("name", ["lge360+enc", "kamstrup_han+enc", "lge450+enc"])
@pytest.mark.parametrize("cut", [1, 2, 3, 5, 7])
def test_a_frame_cut_short_does_not_hide_the_intact_frame_after_it(name: str, cut: int) -> None:
    """F2: an HDLC frame cut a few bytes short, the next push right behind it, fed at once.

    The cut frame's length field claims bytes of the next frame; the next frame, complete and
    checked, must not wait behind it (nor be swallowed by it). Cut by its closing flag only,
    the first frame is whole: one flag may close a frame and open the next (IEC 62056-46).
    """
    stream = STREAMS[name]
    data = stream.messages[0].data[:-cut] + stream.messages[1].data
    whole = _alone(stream, 0) if cut == 1 else []
    assert _keys(new_decoder(stream).feed(data)) == whole + _alone(stream, 1)


def test_a_push_completed_by_another_push_s_header_gives_no_reading() -> None:
    """Fuzz seed 8: a push cut after its meter number's tag, then 18 bytes of another push.

    The other push's header byte 0x0F became the string's length, so the structure ended two
    bytes later and two zero bytes (stray, a break) led to the next push: a reading without a
    meter id. A dated notification header inside an APDU now shows it was pieced together.
    """
    stream = STREAMS["apdu"]
    m0, m1, m2, m4 = (stream.messages[i].data for i in (0, 1, 2, 4))
    pieced = m1[: m1.rindex(bytes.fromhex("090c")) + 1] + m4[:18]
    decoder = new_decoder(stream)
    readings = decoder.feed(m0) + decoder.gap() + decoder.feed(pieced + m2) + decoder.gap()
    assert _keys(readings) == _alone(stream, 0) + _alone(stream, 2)


def test_a_push_cut_in_its_meter_number_and_completed_by_garbage_gives_no_reading() -> None:
    """Fuzz seed 8 (long run): garbage completed the string, then a 0xDB byte followed at once.

    One tag byte right after an APDU at a known start was taken for the next APDU, so the
    pieced-together push gave a reading without a meter id. Now that byte counts only for a
    push shaped like the meter's, and a ciphered APDU needs its 0x08 system-title length.
    """
    stream = STREAMS["apdu"]
    m0, m1, m2 = (stream.messages[i].data for i in range(3))
    pieced = m1[:-4] + bytes.fromhex("54fe05c0") + bytes.fromhex("dbeabe67ca0e")
    decoder = new_decoder(stream)
    readings = decoder.feed(m0) + decoder.gap() + decoder.feed(pieced) + decoder.gap()
    readings += decoder.feed(m2) + decoder.gap()
    assert _keys(readings) == _alone(stream, 0) + _alone(stream, 2)


def test_a_ciphered_push_with_its_meter_number_damaged_gives_no_reading() -> None:
    """Fuzz seed 9 (long run): the last bytes of a bare APDU ciphered without a tag were changed.

    Without a tag nothing checks the ciphertext, and GCM deciphers a changed byte to a changed
    byte: the meter number at the end was no longer text, so the push was read without a meter
    id. An id that would come from an untagged text that is not text now gives no reading.
    """
    stream = STREAMS["apdu+enc"]
    m0, m1, m2 = (stream.messages[i].data for i in range(3))
    damaged = m1[:-3] + bytes(byte ^ 0x80 for byte in m1[-3:])
    decoder = new_decoder(stream)
    readings = decoder.feed(m0) + decoder.gap() + decoder.feed(damaged) + decoder.gap()
    readings += decoder.feed(m2) + decoder.gap()
    assert _keys(readings) == _alone(stream, 0) + _alone(stream, 2)
    assert all(reading.meter_id for reading in readings)


def test_damaged_pushes_do_not_evict_the_meter_s_skeleton() -> None:
    """Fuzz seed 12: re-framed mutants, each a skeleton of its own, pushed the meter's one out.

    Four of them were learned between the meter's pushes, so a push with garbage right after it
    no longer matched any skeleton and was dropped as possibly cut short. A skeleton that
    repeated now outlives skeletons seen once.
    """
    stream = STREAMS["apdu"]
    pushes = [message.data for message in stream.messages]
    decoder = new_decoder(stream)
    readings: list[Reading] = []
    expected: list[ReadingKey] = []
    for n, push in enumerate(pushes):
        # Another meter number (skeleton bytes): a valid push whose skeleton is never seen again.
        other = push[:-1] + bytes((0x41 + n,))
        readings += decoder.feed(push) + decoder.gap() + decoder.feed(other) + decoder.gap()
        expected += _alone(stream, n) + [reading_key(r) for r in new_decoder(stream).feed(other)]
    readings += decoder.feed(pushes[0] + bytes.fromhex("7ea8ff") * 8) + decoder.gap()
    assert _keys(readings) == [*expected, *_alone(stream, 0)]


def test_a_push_cut_before_its_last_byte_and_completed_by_noise_gives_no_reading() -> None:
    """Fuzz seed 9: a push cut before its last byte, then noise, then a push at once.

    The noise byte completed the last value (a unit there, the meter number's last digit
    here) and the next push's header confirmed the end: a reading with a value the meter never
    sent. A push unlike the learned skeleton is now confirmed by a quiet line only.
    """
    stream = STREAMS["apdu"]
    m0, m1, m2, m3 = (stream.messages[i].data for i in range(4))
    decoder = new_decoder(stream)
    readings = decoder.feed(m0) + decoder.gap() + decoder.feed(m1) + decoder.gap()
    readings += decoder.feed(m2[:-1] + b"A" + m3) + decoder.gap()
    assert _keys(readings) == _alone(stream, 0) + _alone(stream, 1) + _alone(stream, 3)


def test_a_damaged_push_learned_first_does_not_make_the_meter_s_pushes_foreign() -> None:
    """Fuzz seed 15: the first push a decoder read was a damaged one, and its skeleton learned.

    The meter's own pushes, back to back after it, then matched no skeleton and were held to
    the rule for a shape unlike the meter's (a quiet line right after it): none was read. A
    skeleton counts as the meter's only once it repeated.
    """
    stream = STREAMS["apdu"]
    m0, m1, m2 = (stream.messages[i].data for i in range(3))
    damaged = m0[:-1] + b"A"  # another meter number: a valid push with a skeleton of its own
    decoder = new_decoder(stream)
    readings = decoder.feed(damaged) + decoder.gap() + decoder.feed(m1 + m2) + decoder.gap()
    expected = [reading_key(r) for r in new_decoder(stream).feed(damaged)]
    assert _keys(readings) == expected + _alone(stream, 1) + _alone(stream, 2)
