"""Body shapes that no shared capture shows in every variant: Nordic lists, descriptors, units."""

from __future__ import annotations

from dataclasses import replace

import pytest
import synthetic

from custom_components.smartmeter_datacollector.dlms import (
    PROFILES,
    MeterDecoder,
    PositionalTemplate,
)
from smartmeter_devtools.axdr_encode import (
    Array,
    Enum,
    Int8,
    OctetString,
    Structure,
    UInt16,
    UInt32,
    VisibleString,
    obis,
)


def _decode(profile: str, body: Structure | Array) -> dict[str, tuple[object, object]]:
    (reading,) = MeterDecoder(profile).feed(synthetic.hdlc_single(synthetic.notification(body)))
    return {key: (m.value, m.unit) for key, m in reading.values.items()}


@pytest.mark.parametrize(
    ("count", "expected"),
    [
        (9, {"1-0:31.7.0": (1.5, "A"), "1-0:32.7.0": (230.1, "V")}),
        (13, {"1-0:71.7.0": (1.5, "A"), "1-0:72.7.0": (230.1, "V")}),
        (14, {"1-0:2.8.0": (2301, "Wh")}),
        (18, {"1-0:72.7.0": (230.1, "V"), "1-0:4.8.0": (2301, "varh")}),
    ],
)
def test_kaifa_positional_lists(count: int, expected: dict[str, tuple[object, object]]) -> None:
    """Kaifa lists carry no OBIS codes: position, count and 'KFM_001' give them meaning."""
    values: list = [
        OctetString(b"KFM_001"),
        OctetString(b"6970631405808469"),
        OctetString(b"MA304"),
    ]
    template = {9: [1, 2, 3, 4, 1500, 2301], 13: [1, 2, 3, 4, 1500, 1500, 1500, 2301, 2301, 2301]}
    extra = {14: [*template[9], None, 1, 2301, 3, 4], 18: [*template[13], None, 1, 2, 3, 2301]}
    values.extend(
        synthetic.WHEN_ON_WIRE.octet_string() if raw is None else UInt32(raw)
        for raw in {**template, **extra}[count]
    )
    got = _decode("generic", Structure(values))
    for key, value in expected.items():
        assert got[key] == value


def test_kaifa_list_with_unknown_length_is_not_guessed() -> None:
    """A count no Kaifa list has is an unknown layout, not shifted values."""
    body = Structure([OctetString(b"KFM_001"), OctetString(b"1"), OctetString(b"M"), UInt32(1)])
    decoder = MeterDecoder("generic")
    assert decoder.feed(synthetic.hdlc_single(synthetic.notification(body))) == []
    assert decoder.stats.unknown_layouts == 1


def test_kamstrup_list_gets_kamstrup_scaling_on_the_generic_profile() -> None:
    """The list id names the vendor: currents in 10 mA and energies in 10 Wh."""
    body = Structure(
        [
            VisibleString("Kamstrup_V0001"),
            obis("1-1:0.0.5"),
            VisibleString("5706567000000000"),
            obis("1-1:31.7.0"),
            UInt32(142),
            obis("1-1:1.8.0"),
            UInt32(12345),
        ]
    )
    got = _decode("generic", body)
    assert got["1-1:31.7.0"] == (1.42, "A")
    assert got["1-1:1.8.0"] == (123450, "Wh")
    assert got["1-1:0.0.5"] == ("5706567000000000", None)


def test_scaler_unit_from_the_frame_beats_the_profile() -> None:
    """A frame's own {scaler, unit} is used even where the profile has a default scaler."""
    body = Array([Structure([obis("1-0:31.7.0"), UInt16(1234), Structure([Int8(-1), Enum(33)])])])
    assert _decode("lge450", body) == {"1-0:31.7.0": (123.4, "A")}


def test_attribute_three_in_a_push_list_scales_attribute_two() -> None:
    """Push lists may capture a register's scaler_unit next to its value."""
    descriptor = lambda attribute: Structure(  # noqa: E731
        [UInt16(3), obis("1-0:32.7.0"), Int8(attribute), UInt16(0)]
    )
    body = Structure(
        [
            Array(
                [
                    Structure([UInt16(40), obis("0-0:25.9.0"), Int8(2), UInt16(0)]),
                    descriptor(2),
                    descriptor(3),
                ]
            ),
            UInt16(2301),
            Structure([Int8(-1), Enum(35)]),
        ]
    )
    assert _decode("generic", body) == {"1-0:32.7.0": (230.1, "V")}


def test_unknown_cosem_unit_is_named_not_dropped() -> None:
    """A unit code outside the table is shown by number rather than mislabelled."""
    body = Array([Structure([obis("1-0:99.7.0"), UInt16(5), Structure([Int8(0), Enum(200)])])])
    assert _decode("generic", body) == {"1-0:99.7.0": (5, "unit 200")}


def test_body_without_obis_codes_is_an_unknown_layout() -> None:
    """Values without codes or a known list id cannot be labelled: counted, nothing shown."""
    decoder = MeterDecoder("generic")
    body = Structure([UInt32(1), UInt32(2)])
    assert decoder.feed(synthetic.hdlc_single(synthetic.notification(body))) == []
    assert decoder.stats.unknown_layouts == 1


def test_value_only_body_uses_the_profile_template() -> None:
    """Meters that push bare values (a Wiener Netze-style E450) need the profile's template."""
    profile = replace(
        PROFILES["lge450"],
        templates=(PositionalTemplate(("meter_id", "clock", "1-0:1.8.0", "1-0:31.7.0", "-")),),
    )
    body = Structure(
        [
            OctetString(b"LGZ1234"),
            synthetic.WHEN_ON_WIRE.octet_string(),
            UInt32(5000),
            UInt16(250),
            UInt16(7),
        ]
    )
    (reading,) = MeterDecoder(profile).feed(synthetic.hdlc_single(synthetic.notification(body)))

    assert reading.meter_id == "LGZ1234"
    assert reading.manufacturer == "LGZ"
    assert {k: (m.value, m.unit) for k, m in reading.values.items()} == {
        "1-0:1.8.0": (5000, "Wh"),
        "1-0:31.7.0": (2.5, "A"),
    }
