"""Regressions found by the fuzz campaign (smartmeter_devtools/fuzz.py), bytes built or inlined."""

from __future__ import annotations

import synthetic

from custom_components.smartmeter_datacollector.dlms import MeterDecoder
from smartmeter_devtools.axdr_encode import Enum, Int8, OctetString, Structure, UInt16, UInt32, obis
from smartmeter_devtools.framing_encode import iec62056_21_readout

BYTE_TIME_2400_8E1 = 11 / 2400


def test_a_chunks_own_line_time_is_not_silence() -> None:
    """F1: one push read in two chunks, `now` = arrival of each chunk's last byte, no gap."""
    apdu = synthetic.notification()
    half = len(apdu) // 2
    decoder = MeterDecoder("kaifa_mbus")
    start = 1000.0

    readings = decoder.feed(apdu[:half], start + half * BYTE_TIME_2400_8E1)
    readings += decoder.feed(apdu[half:], start + len(apdu) * BYTE_TIME_2400_8E1)
    assert len(readings) == 1
    assert decoder.stats.bytes_discarded == 0


def test_flag_garbage_in_a_bare_apdu_stream_does_not_end_bare_mode() -> None:
    """A 7E run can fail a checksum with a frame's shape; the stream stays a bare-APDU stream."""
    apdus = [synthetic.notification(synthetic.pairs_body(energy=n)) for n in range(3)]
    garbage = bytes.fromhex("7ea00bceff03134d8e0000007e")  # frame shape, header check fails
    decoder = MeterDecoder("generic")

    readings = decoder.feed(apdus[0] + garbage + apdus[1] + apdus[2]) + decoder.gap()
    assert [r.values["1-0:1.8.0"].value for r in readings][-2:] == [1, 2]
    assert decoder.stats.crc_errors == 1


def test_an_apdu_inside_a_frame_with_a_bad_fcs_is_not_taken_for_a_bare_one() -> None:
    """A real frame (header check passes) whose FCS fails is skipped whole, APDU and all."""
    broken = bytearray(synthetic.hdlc_single(synthetic.notification()))
    broken[-4] ^= 0x01  # last body byte: HCS still fine, FCS fails
    decoder = MeterDecoder("generic")

    assert decoder.feed(bytes(broken)) == []
    assert decoder.gap() == []
    assert decoder.stats.crc_errors == 1
    assert len(decoder.feed(synthetic.hdlc_single(synthetic.notification()))) == 1


LINES = ["0.0.0(110002267)", "1.8.0(31.5*kWh)", "0.9.1(21:10:29)", "0.9.2(24-03-21)"]


def _text(lines: list[str]) -> bytes:
    return "".join(f"{line}\r\n" for line in [*lines, "!"]).encode()


def test_a_letter_glued_to_the_meter_number_line_is_not_a_code() -> None:
    """`S0.0.0(...)`: noise before the first line; without the meter number, no reading."""
    decoder = MeterDecoder("siemens_td3511")

    assert decoder.feed(b"S" + _text(LINES)) == []
    assert len(decoder.feed(_text(LINES))) == 1


def test_a_stray_stx_does_not_wait_forever_for_its_etx() -> None:
    """Noise holding STX must not turn the unframed readouts after it into a framed block."""
    decoder = MeterDecoder("siemens_td3511")

    readings = decoder.feed(b"\x02\x91" + _text(LINES) + _text(LINES) + _text(LINES))
    assert len(readings) == 2
    assert len(decoder.feed(iec62056_21_readout(LINES))) == 1


def test_a_new_message_starts_its_own_age() -> None:
    """A partial left by a broken push must not make the next push look old (GBT block 1)."""
    frames = synthetic.hdlc_gbt(synthetic.notification(), block_size=16)
    decoder = MeterDecoder("lge450")
    age = decoder.max_message_age

    assert decoder.feed(frames[0], now=100.0) == []  # a push that never finishes
    readings = decoder.feed(b"".join(frames[:2]), now=100.0 + age - 1)
    readings += decoder.feed(b"".join(frames[2:]), now=100.0 + age + 1)
    assert len(readings) == 1
    assert decoder.stats.expired_messages == 0


def test_a_bare_apdu_never_swallows_a_checked_frame() -> None:
    """An HDLC frame whose head was lost exposes a ciphered APDU; the next frame still decodes."""
    frame = synthetic.hdlc_single(synthetic.ciphered(synthetic.notification()))
    headless = frame[frame.index(b"\xdb\x08") :]
    decoder = MeterDecoder("generic", key=synthetic.KEY, auth_key=synthetic.AUTH_KEY)

    assert len(decoder.feed(headless[:-10] + frame)) == 1
    assert decoder.stats.decrypt_errors == 0


def test_an_absurd_scaler_rejects_the_reading() -> None:
    """{OBIS, value, {scaler -66, unit}}: no meter scales like that; the message was corrupted."""

    def body(scaler: int) -> Structure:
        return Structure(
            [Structure([obis("1-0:31.7.0"), UInt16(165), Structure([Int8(scaler), Enum(33)])])]
        )

    assert (
        MeterDecoder("generic").feed(synthetic.hdlc_single(synthetic.notification(body(-66)))) == []
    )
    (reading,) = MeterDecoder("generic").feed(
        synthetic.hdlc_single(synthetic.notification(body(-2)))
    )
    assert reading.values["1-0:31.7.0"].value == 1.65


def test_a_frame_cut_short_does_not_swallow_the_start_of_the_next() -> None:
    """Bytes lost inside a frame: its claimed end lands on the next frame's length byte 0x7E."""
    for size in range(1, 200):
        body = Structure(
            [obis("0-0:96.1.0"), OctetString(b"1" * size), obis("1-0:1.8.0"), UInt32(7)]
        )
        frame = synthetic.hdlc_single(synthetic.notification(body))
        if frame[2] == 0x7E:
            break
    cut = frame[:20] + frame[22:]  # two bytes lost: the old frame now ends at frame[2]
    decoder = MeterDecoder("generic")

    (reading,) = decoder.feed(cut + frame)
    assert reading.values["1-0:1.8.0"].value == 7


def test_a_long_read_does_not_age_the_message_it_completes() -> None:
    """F4: the rest of a push at the start of a long read; `now` is that read's last byte."""
    frames = synthetic.hdlc_gbt(synthetic.notification(), block_size=16)
    message = b"".join(frames)
    decoder = MeterDecoder("lge450")
    tail = message * 40  # the reader caught up with many pushes at once
    start = 1000.0

    readings = decoder.feed(frames[0], start + len(frames[0]) * BYTE_TIME_2400_8E1)
    rest = b"".join(frames[1:]) + tail
    readings += decoder.feed(rest, start + (len(frames[0]) + len(rest)) * BYTE_TIME_2400_8E1)
    assert len(readings) == 41
    assert decoder.stats.expired_messages == 0
