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


def test_noise_lines_are_counted_and_do_not_stop_the_readout() -> None:
    """Binary noise and unparsable lines are discarded; the readout around them survives."""
    decoder = MeterDecoder("siemens_td3511")
    data = b"\xff\xfe\r\n" + b"garbage\r\n" + "\r\n".join([*LINES, "!"]).encode() + b"\r\n"

    (reading,) = decoder.feed(data)
    assert reading.values["1-0:1.8.0"].value == 31500
    assert decoder.stats.bytes_discarded > 0


def test_an_endless_line_is_dropped() -> None:
    """A line without end (wrong baud rate) does not grow memory."""
    decoder = MeterDecoder("siemens_td3511")
    for _ in range(100):
        decoder.feed(b"x" * 100)
    assert decoder.stats.bytes_discarded >= 9000


def test_bad_date_and_number_are_left_out() -> None:
    """A malformed value or date drops that item, not the readout."""
    decoder = MeterDecoder("siemens_td3511")
    lines = ["0.0.0(1)", "1.8.0(abc*kWh)", "0.9.1(25:99:99)", "0.9.2(24-03-21)", "!"]
    (reading,) = decoder.feed("\r\n".join(lines).encode() + b"\r\n")
    assert reading.values == {}
    assert reading.timestamp is None
