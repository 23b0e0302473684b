"""Which object names the meter (issue 8 item 5): identifier codes, strings or numbers."""

from __future__ import annotations

from capture_vectors import load
import pytest
import synthetic

from custom_components.smartmeter_datacollector.dlms import MeterDecoder, Reading
from smartmeter_devtools.axdr_encode import (
    AxdrValue,
    OctetString,
    Structure,
    UInt32,
    UInt64,
    VisibleString,
    obis,
)


def _reading_of(*pairs: tuple[str, AxdrValue]) -> Reading:
    items: list[AxdrValue] = [VisibleString("Kamstrup_V0001")]
    for code, value in pairs:
        items += [obis(code), value]
    items += [obis("1-1:1.7.0"), UInt32(1202)]
    frame = synthetic.hdlc_single(synthetic.notification(Structure(items)))
    (reading,) = MeterDecoder("kamstrup_han").feed(frame)
    return reading


@pytest.mark.parametrize("code", ["1-1:0.0.1", "1-1:0.0.0", "0-0:96.1.0", "0-0:96.1.1"])
def test_a_numeric_identifier_is_the_meter_id(code: str) -> None:
    """Kamstrup OMNIPOWER sends its meter number as double-long-unsigned: a decimal string."""
    reading = _reading_of((code, UInt32(5706567)))

    assert reading.meter_id == "5706567"
    assert reading.values[code].value == "5706567"
    assert reading.values[code].unit is None
    assert reading.values["1-1:1.7.0"].value == 1202


def test_a_64_bit_numeric_identifier_keeps_every_digit() -> None:
    """GS1 numbers have 16 digits: no float ever touches them."""
    assert _reading_of(("1-1:0.0.5", UInt64(5706567275940841))).meter_id == "5706567275940841"


def test_the_first_identifier_in_payload_order_wins_whatever_its_type() -> None:
    """A string id before a numeric one wins, and the other way round."""
    first_text = _reading_of(("0-0:96.1.0", OctetString(b"ABC123")), ("1-1:0.0.1", UInt32(7)))
    first_number = _reading_of(("1-1:0.0.1", UInt32(7)), ("0-0:96.1.0", OctetString(b"ABC123")))

    assert first_text.meter_id == "ABC123"
    assert first_number.meter_id == "7"


def test_a_number_under_another_code_stays_a_number() -> None:
    """Only identifier codes turn numbers into names; registers keep their value."""
    reading = _reading_of(("1-1:0.2.0", UInt32(42)))

    assert reading.meter_id is None
    assert reading.values["1-1:0.2.0"].value == 42


def test_kamstrup_capture_names_itself_with_a_visible_string() -> None:
    """kamstrup-no-10s carries 1-1:0.0.5 as a visible string, not a number; sidecar and bytes agree.

    Its sidecar's meter_id ("5706567275940841") is what the bytes say: the numeric-id rule above
    does not change this capture's expectation.
    """
    capture = load("kamstrup-no-10s")
    (reading,) = MeterDecoder(capture.meta["profile"]).feed(capture.data)

    assert reading.meter_id == capture.meta["meter_id"]
    assert isinstance(reading.values["1-1:0.0.5"].value, str)
