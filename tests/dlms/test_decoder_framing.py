"""Transport framing: HDLC flags and segments, M-Bus segments, bare APDUs, resynchronisation."""

from __future__ import annotations

import synthetic

from custom_components.smartmeter_datacollector.dlms import MeterDecoder
from custom_components.smartmeter_datacollector.dlms.crc import crc16_x25
from smartmeter_devtools.framing_encode import (
    hdlc_address,
    hdlc_frame,
    hdlc_segmented,
    mbus_frames,
)

FRAME = synthetic.hdlc_single(synthetic.notification())


def _values(readings: list) -> list[int]:
    return [r.values["1-0:1.8.0"].value for r in readings]


def test_crc_matches_the_x25_check_value() -> None:
    """The standard check string gives 0x906E, the value IEC 62056-46 frames are checked with."""
    assert crc16_x25(b"123456789") == 0x906E


def test_frames_sharing_one_flag_both_decode() -> None:
    """Some meters close one frame with the flag that opens the next."""
    second = synthetic.hdlc_single(synthetic.notification(synthetic.pairs_body(energy=2)))
    decoder = MeterDecoder("generic")

    assert _values(decoder.feed(FRAME + second[1:])) == [123456, 2]


def test_flag_fill_and_garbage_between_frames() -> None:
    """Repeated flags are idle line; noise is skipped and counted, the next frame still decodes."""
    decoder = MeterDecoder("generic")

    readings = decoder.feed(b"\x7e\x7e\x7e" + FRAME + b"\x00\xffnoise\x7e\xa0" + FRAME)
    assert _values(readings) == [123456, 123456]
    assert decoder.stats.bytes_discarded >= 7


def test_bad_fcs_drops_the_frame_and_counts_it() -> None:
    """A frame whose check sequence fails is never decoded."""
    broken = bytearray(FRAME)
    broken[-3] ^= 0x01
    decoder = MeterDecoder("generic")

    assert decoder.feed(bytes(broken) + FRAME) != []
    assert decoder.stats.crc_errors == 1
    assert decoder.stats.readings == 1


def test_bad_hcs_is_caught_before_the_information_field() -> None:
    """The header check sequence guards the header on its own."""
    broken = bytearray(FRAME)
    broken[6] ^= 0x01  # the control byte, covered by HCS and FCS
    decoder = MeterDecoder("generic")

    assert decoder.feed(bytes(broken)) == []
    assert decoder.stats.crc_errors == 1


def test_four_byte_server_address() -> None:
    """Addresses take 1 to 4 bytes; parse them, never match on them."""
    frame = hdlc_frame(
        b"\xe6\xe7\x00" + synthetic.notification(),
        dest=hdlc_address(0x1234567, 4),
        src=hdlc_address(1, 1),
        control=0x13,
    )
    assert len(MeterDecoder("generic").feed(frame)) == 1


def test_segmented_message_is_joined_and_a_bad_segment_drops_it() -> None:
    """HDLC segmentation (S bit): all segments or nothing."""
    apdu = synthetic.notification()
    segments = hdlc_segmented(apdu, dest=synthetic.DEST, src=synthetic.SRC, max_info=20)
    assert len(segments) > 2
    decoder = MeterDecoder("iskraam550")
    assert len(decoder.feed(b"".join(segments))) == 1

    broken = bytearray(segments[1])
    broken[-4] ^= 0x10
    decoder = MeterDecoder("iskraam550")
    assert decoder.feed(segments[0] + bytes(broken) + b"".join(segments[2:])) == []
    assert decoder.stats.dropped_messages == 1


def test_lost_gbt_frame_drops_the_message() -> None:
    """A block whose frame vanished (flag destroyed) must not leave a half message behind."""
    frames = synthetic.hdlc_gbt(synthetic.notification(), block_size=16)
    mangled = bytearray(frames[1])
    mangled[0] = 0x00  # the opening flag: the frame is skipped as noise, not as a bad frame
    decoder = MeterDecoder("lge450")

    assert decoder.feed(frames[0] + bytes(mangled) + b"".join(frames[2:])) == []
    assert decoder.stats.dropped_messages == 1


def test_several_apdus_in_one_frame_all_decode() -> None:
    """A Thurgau E450 packs LLC + APDU units back to back into one frame."""
    first = synthetic.notification(synthetic.pairs_body(energy=1))
    second = synthetic.notification(synthetic.pairs_body(energy=2))
    frame = hdlc_frame(
        b"\xe6\xe7\x00" + first + b"\xe6\xe7\x00" + second,
        dest=synthetic.DEST,
        src=synthetic.SRC,
        control=0x13,
    )
    assert _values(MeterDecoder("lge450").feed(frame)) == [1, 2]


def test_mbus_segments_join_and_a_gap_drops_them() -> None:
    """Austrian Kaifa meters split one ciphered APDU over numbered M-Bus long frames."""
    apdu = synthetic.ciphered(synthetic.notification(), auth=False)
    frames = mbus_frames(apdu, max_data=40)
    assert len(frames) > 2
    decoder = MeterDecoder("kaifa_mbus", key=synthetic.KEY)
    assert len(decoder.feed(b"".join(frames))) == 1

    decoder = MeterDecoder("kaifa_mbus", key=synthetic.KEY)
    assert decoder.feed(frames[0] + b"".join(frames[2:])) == []
    assert decoder.stats.dropped_messages >= 1


def test_mbus_checksum_error_is_counted() -> None:
    """The M-Bus checksum is checked; a bad one drops the frame."""
    frame = bytearray(mbus_frames(synthetic.notification())[0])
    frame[-2] ^= 0xFF
    decoder = MeterDecoder("kaifa_mbus")

    assert decoder.feed(bytes(frame)) == []
    assert decoder.stats.crc_errors == 1


def test_bare_apdus_back_to_back() -> None:
    """A stream of bare APDUs (RS485 meters, bridges) is cut by the APDUs' own structure."""
    first = synthetic.notification(synthetic.pairs_body(energy=1))
    second = synthetic.ciphered(synthetic.notification(synthetic.pairs_body(energy=2)))
    decoder = MeterDecoder("generic", key=synthetic.KEY, auth_key=synthetic.AUTH_KEY)

    assert _values(decoder.feed(first + second)) == [1, 2]


def test_bare_apdu_after_noise_waits_for_a_gap() -> None:
    """Without framing, noise leaves no way to find the next APDU until the line goes quiet."""
    apdu = synthetic.notification()
    decoder = MeterDecoder("generic")

    assert decoder.feed(b"\x01\x02" + apdu) == []
    decoder.gap()
    assert len(decoder.feed(apdu)) == 1


def test_bare_apdu_bytes_inside_a_broken_frame_are_not_decoded() -> None:
    """Once a stream is framed, an APDU exposed by a corrupted frame header is not trusted."""
    broken = bytearray(FRAME)
    broken[1] = 0x00  # frame format destroyed: its content is just bytes now
    decoder = MeterDecoder("generic")

    assert decoder.feed(FRAME + bytes(broken)) != []
    assert decoder.stats.readings == 1


def test_garbage_before_a_frame_in_a_fresh_stream() -> None:
    """A serial port opened mid-frame starts with a tail of garbage; the next frame decodes."""
    decoder = MeterDecoder("generic")

    assert len(decoder.feed(FRAME[40:] + FRAME)) == 1


def test_only_a_stream_of_bare_apdus_needs_its_silences_timed() -> None:
    """A framed stream never needs `gap()`: a reader may stop timing silences once it is framed."""
    framed, bare = MeterDecoder("generic"), MeterDecoder("generic")
    apdu = synthetic.notification()

    assert framed.awaits_gaps
    assert bare.awaits_gaps
    assert len(framed.feed(FRAME)) == 1
    assert not framed.awaits_gaps
    # A bare APDU after noise ends only at a quiet line, however long the stream has run.
    assert bare.feed(b"\x01\x02" + apdu) == []
    assert len(bare.gap()) == 1
    assert bare.awaits_gaps
    assert not MeterDecoder("siemens_td3511").awaits_gaps
