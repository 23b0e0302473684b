"""IEC 62056-21 readouts: framing characters, unmapped codes, garbage lines."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from custom_components.smartmeter_datacollector.dlms import MeterDecoder
from smartmeter_devtools.framing_encode import iec62056_21_readout

LINES = [
    "0.0.0(110002267)",
    "1.8.0(31.5*kWh)",
    "32.7(238.3*V)",
    "0.9.1(21:10:29)",
    "0.9.2(24-03-21)",
]


def test_readouts_with_stx_etx_and_bcc_back_to_back() -> None:
    """A polled meter answers with STX ... ! ETX BCC; the next readout follows directly."""
    decoder = MeterDecoder("siemens_td3511", tz=ZoneInfo("Europe/Zurich"))
    readout = b"/SIE5TD3511\r\n" + iec62056_21_readout(LINES)

    first, second = decoder.feed(readout + readout)
    assert first == second
    assert first.meter_id == "110002267"
    assert first.values["1-0:1.8.0"].value == 31500
    assert first.values["1-0:32.7.0"].unit == "V"
    assert first.timestamp is not None
    assert first.timestamp.tzinfo is not None
    assert decoder.recent_frames


def _unframed(lines: list[str]) -> bytes:
    return "".join(f"{line}\r\n" for line in [*lines, "!"]).encode()


def test_noise_before_a_framed_readout_is_skipped() -> None:
    """STX says where a readout starts: noise before it is counted and costs nothing."""
    decoder = MeterDecoder("siemens_td3511")
    data = b"\xff\xfe\r\ngarbage\r\n" + iec62056_21_readout(LINES)

    (reading,) = decoder.feed(data)
    assert reading.values["1-0:1.8.0"].value == 31500
    assert decoder.stats.bytes_discarded > 0


def test_noise_before_an_unframed_readout_costs_that_readout_only() -> None:
    """Without STX, noise may have eaten a readout's first line: that readout is not trusted."""
    decoder = MeterDecoder("siemens_td3511")

    assert decoder.feed(b"garbage\r\n" + _unframed(LINES)) == []
    (reading,) = decoder.feed(_unframed(LINES))
    assert reading.meter_id == "110002267"
    assert decoder.stats.dropped_messages == 1


def test_a_bad_block_check_character_rejects_the_readout() -> None:
    """The BCC (IEC 62056-21 6.3.2) covers every byte after STX up to ETX."""
    readout = bytearray(iec62056_21_readout(LINES))
    readout[-1] ^= 0x01
    decoder = MeterDecoder("siemens_td3511")

    assert decoder.feed(bytes(readout)) == []
    assert decoder.stats.crc_errors == 1
    assert len(decoder.feed(iec62056_21_readout(LINES))) == 1


def test_a_changed_digit_is_caught_by_the_bcc() -> None:
    """A digit that turned into another digit keeps the syntax; only the BCC can tell."""
    readout = iec62056_21_readout(LINES).replace(b"31.5", b"31.6")

    assert MeterDecoder("siemens_td3511").feed(readout) == []


def test_garbage_inside_a_readout_never_yields_a_wrong_reading() -> None:
    """Bytes inserted into a line, or a line cut short, reject the readout; the next one decodes."""
    good = _unframed(LINES)
    for broken in (
        good.replace(b"31.5", b"3\x8f1.5"),
        good.replace(b"(238.3*V)", b"(238.3*V"),
        good.replace(b"32.7(", b"32.7\r\n("),
        good.replace(b"kWh)", b"kWh))"),
    ):
        decoder = MeterDecoder("siemens_td3511")
        assert decoder.feed(broken) == [], broken
        assert len(decoder.feed(good)) == 1, broken


def test_a_readout_cut_short_then_an_intact_one() -> None:
    """A new meter-number line starts the next readout; the cut one is dropped and counted."""
    decoder = MeterDecoder("siemens_td3511")
    first_lines = "".join(f"{line}\r\n" for line in LINES[:3]).encode()

    (reading,) = decoder.feed(first_lines + _unframed(LINES))
    assert reading == MeterDecoder("siemens_td3511").feed(_unframed(LINES))[0]
    assert decoder.stats.dropped_messages == 1


def test_an_endless_line_is_dropped() -> None:
    """A line without end (wrong baud rate) does not grow memory."""
    decoder = MeterDecoder("siemens_td3511")
    for _ in range(100):
        decoder.feed(b"x" * 100)
    assert decoder.stats.bytes_discarded >= 9000


def test_a_malformed_number_or_date_rejects_the_readout() -> None:
    """A register that is not a number, or a time that is not a time, spoils the whole readout."""
    for index, bad in ((1, "1.8.0(abc*kWh)"), (1, "1.8.0(31.5*kWx)"), (3, "0.9.1(25:99:99)")):
        decoder = MeterDecoder("siemens_td3511")
        lines = [*LINES[:index], bad, *LINES[index + 1 :]]
        assert decoder.feed(_unframed(lines)) == [], bad
        assert decoder.stats.dropped_messages == 1


def test_a_framed_meter_s_block_with_a_damaged_stx_gives_no_reading() -> None:
    """Once a block checked out, text without STX is a block whose BCC was never checked.

    Fuzz seed 9 long run: a bit flip turned STX into LF and another one changed the time; the
    readout was read as unframed text, so nothing checked the changed digit.
    """
    decoder = MeterDecoder("siemens_td3511")
    intact = iec62056_21_readout(LINES)
    damaged = bytearray(intact.replace(b"21:10:29", b"21:30:29"))
    damaged[damaged.index(0x02)] = 0x0A

    (first,) = decoder.feed(intact)
    assert decoder.feed(bytes(damaged)) == []
    (after,) = decoder.feed(intact)
    assert after == first
    assert decoder.stats.dropped_messages == 1


def test_a_block_whose_stx_was_taken_for_a_bcc_still_reads_when_its_bcc_checks_out() -> None:
    """A block cut short after its ETX takes the next block's STX for its BCC.

    The next readout then arrives as text without STX; its own ETX and BCC still check it.
    """
    decoder = MeterDecoder("siemens_td3511")
    intact = iec62056_21_readout(LINES)
    cut = intact[: intact.index(b"\x03") + 1]

    (first,) = decoder.feed(intact)
    (after,) = decoder.feed(cut + intact)
    assert after == first
