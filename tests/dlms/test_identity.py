"""Whose id a reading carries (issue 9): the meter's own, or a sub-meter's on an M-Bus channel."""

from __future__ import annotations

from capture_vectors import load, names
import pytest
import synthetic

from custom_components.smartmeter_datacollector.dlms import Measurement, MeterDecoder, Reading
from custom_components.smartmeter_datacollector.dlms.identity import (
    identities,
    names_only_sub_meters,
    own_meter_id,
)
from smartmeter_devtools.axdr_encode import AxdrValue, OctetString, Structure, UInt32, obis


def _decoded(name: str) -> Reading:
    capture = load(name)
    meta = capture.meta
    readings = MeterDecoder(meta["profile"], key=meta["key"], auth_key=meta["auth_key"]).feed(
        capture.data
    )
    return readings[-1]


def _reading_of(*pairs: tuple[str, AxdrValue]) -> Reading:
    items: list[AxdrValue] = []
    for code, value in pairs:
        items += [obis(code), value]
    items += [obis("1-0:1.8.0"), UInt32(123456)]
    frame = synthetic.hdlc_single(synthetic.notification(Structure(items)))
    (reading,) = MeterDecoder("generic").feed(frame)
    return reading


def test_the_e450_channel_push_names_only_its_sub_meter() -> None:
    """lge450-mbus-channels (push setup 0-11:25.9.0): the id is the channel 1 device's."""
    reading = _decoded("lge450-mbus-channels")
    channel_id = load("lge450-mbus-channels").meta["meter_id"]

    # The decoder keeps the shared vectors' rule: the first identifier names the reading.
    assert reading.meter_id == channel_id
    assert own_meter_id(reading) is None
    assert names_only_sub_meters(reading)
    assert identities(reading).sub_meters == {1: channel_id}
    assert reading.manufacturer is None


@pytest.mark.parametrize("name", names(must_reject=False))
def test_every_other_capture_names_the_meter_itself(name: str) -> None:
    """No capture but the channel push carries a sub-meter id: the own id is the reading's."""
    if name == "lge450-mbus-channels":
        pytest.skip("the channel push, above")
    reading = _decoded(name)

    assert own_meter_id(reading) == reading.meter_id
    assert not names_only_sub_meters(reading)
    assert identities(reading).sub_meters == {}


def test_a_channel_id_listed_first_leaves_the_meter_its_own_id_and_maker() -> None:
    """A list that sends the gas meter's id before its own: the own id and maker still win."""
    reading = _reading_of(
        ("0-1:96.1.0", OctetString(b"ELS0012345")),
        ("0-0:96.1.0", OctetString(b"LGZ1030655933512")),
    )

    assert reading.meter_id == "ELS0012345"
    assert own_meter_id(reading) == "LGZ1030655933512"
    assert identities(reading).sub_meters == {1: "ELS0012345"}
    # The maker comes from the meter's own id, never from the gas meter's.
    assert reading.manufacturer == "LGZ"


def test_a_channel_id_alone_gives_no_maker() -> None:
    """A sub-meter's id that looks like a FLAG id is not the electricity meter's maker."""
    reading = _reading_of(("0-2:96.1.0", OctetString(b"ELS0012345")))

    assert reading.meter_id == "ELS0012345"
    assert reading.manufacturer is None
    assert names_only_sub_meters(reading)
    assert identities(reading).sub_meters == {2: "ELS0012345"}


def test_texts_under_other_keys_leave_the_meter_its_id() -> None:
    """An IEC 62056-21 style key or a list id is no identifier code: the decoder's id stands."""
    reading = Reading(
        meter_id="12345678",
        timestamp=None,
        values={"C.1.0": Measurement("12345678", None), "0-0:1.0.0": Measurement("x", None)},
    )

    assert own_meter_id(reading) == "12345678"
    assert identities(reading).sub_meters == {}
