"""The seed tool's MQTT formats, byte for byte (protocol-notes §7.2-§7.4)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from seed_expectations import (
    DEFAULT_SCALING,
    REGISTERS,
    Vector,
    bundle,
    decode,
    expected_time,
    per_value,
    reading_vectors,
)

from custom_components.smartmeter_datacollector.dlms.models import Measurement, Reading
from custom_components.smartmeter_datacollector.publish.mqtt_format import (
    SEED_REGISTERS,
    SourceTracker,
    clean_topic_group,
    per_value_messages,
    rldsp_message,
    seed_number,
    seed_values,
    utc_time,
)

NOW = dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC)


def _reading(values: dict[str, int | float | str], meter_id: str | None = "LGZ1") -> Reading:
    return Reading(
        meter_id=meter_id,
        timestamp=dt.datetime(2023, 11, 14, 22, 13, 20, tzinfo=dt.UTC),
        values={key: Measurement(value, None) for key, value in values.items()},
    )


def test_register_map_is_the_seeds() -> None:
    """Topic names, logger names and units are what Telegraf/openHAB configs already expect."""
    assert {cde: (r.identifier, r.name, r.unit) for cde, r in SEED_REGISTERS.items()} == REGISTERS
    assert {cde: r.scaling for cde, r in SEED_REGISTERS.items() if r.scaling != 1} == {
        cde: float(scaling) for cde, scaling in DEFAULT_SCALING.items()
    }


@pytest.mark.parametrize(
    ("physical", "scaling", "printed"),
    [
        (234.7, 0.1, "234.70000000000002"),  # 2347 * 0.1, the seed's binary float
        (0.941, 0.001, "0.9410000000000001"),
        (28, 1.0, "28.0"),
        (0.06, 0.01, "0.06"),
        (230.15, 0.1, "230.15"),  # finer than the seed's step: kept, not rounded away
        (-1.5, 0.01, "-1.5"),
    ],
)
def test_numbers_print_as_the_seeds(physical: float, scaling: float, printed: str) -> None:
    assert repr(seed_number(physical, scaling)) == printed


def test_only_mapped_numbers_first_per_code_in_payload_order() -> None:
    reading = _reading(
        {
            "0-0:96.1.0": "12345678",  # identifier: no value line
            "1-0:2.7.0": 5,
            "0-1:1.8.0": 7,  # first 1.8.0 wins whatever its channel
            "1-0:1.8.0": 9,
            "1-0:16.7.0": 3,  # not in the seed's map
            "1-0:32.7.0": 2347,
        }
    )
    values = seed_values(reading, "lge360")
    assert [(v.obis, v.register.identifier) for v in values] == [
        ("1-0:2.7.0", "ACTIVE_POWER_N"),
        ("0-1:1.8.0", "ACTIVE_ENERGY_P"),
        ("1-0:32.7.0", "VOLTAGE_L1"),
    ]
    assert [v.value for v in values] == [5.0, 7.0, 2347.0]


def test_text_in_a_value_code_is_skipped() -> None:
    reading = _reading(
        {"1-0:1.7.0": "n/a", "1-1:1.7.0": 5, "garbage": 1, "0-0:42": "x"}, meter_id=None
    )
    assert [v.obis for v in seed_values(reading, "generic")] == ["1-1:1.7.0"]
    assert SourceTracker("fallback").resolve(reading) == []


def test_profile_scaling_of_the_seed() -> None:
    reading = _reading({"1-0:31.7.0": 5, "1-0:32.7.0": 230.1})
    assert [repr(v.value) for v in seed_values(reading, "lge570")] == ["5.0", "230.1"]
    assert [repr(v.value) for v in seed_values(reading, "iskraam550")] == [
        "5.0",
        "230.10000000000002",
    ]


def test_per_value_bytes() -> None:
    values = seed_values(_reading({"1-0:32.7.0": 234.7, "1-0:13.7.0": 0.941}), "lge360")
    assert per_value_messages("smartmeter", "LGZ1", values, NOW) == [
        (
            "smartmeter/LGZ1/VOLTAGE_L1",
            b'{"value": 234.70000000000002, "timestamp": 1704164645, "obis": "32.7.0"}',
        ),
        (
            "smartmeter/LGZ1/POWER_FACTOR",
            b'{"value": 0.9410000000000001, "timestamp": 1704164645, "obis": "13.7.0"}',
        ),
    ]


def test_bundle_bytes() -> None:
    values = seed_values(_reading({"1-1:1.8.0": 482939, "1-1:2.8.0": 0}), "lge450")
    when = dt.datetime(2023, 6, 6, 15, 31, 20, 180000, tzinfo=dt.UTC)
    assert rldsp_message(" floor2 ", "LGZ1", values, when) == (
        "dt/floor2/LGZ1/ds",
        b'{"meter": {"ts": "2023-06-06T15:31:20.180000+00:00", "1.8.0": 482939.0, "2.8.0": 0.0}}',
    )
    assert rldsp_message("building", "LGZ1", [], when) is None


@pytest.mark.parametrize(
    ("group", "kept"),
    [("building", "building"), (" floor2 ", "floor2"), ("a/b", "building"), ("", "building")],
)
def test_topic_group_kept_only_when_alphanumeric(group: str, kept: str) -> None:
    assert clean_topic_group(group) == kept


def test_times_are_utc() -> None:
    zurich = ZoneInfo("Europe/Zurich")
    naive = dt.datetime(2023, 6, 6, 17, 31, 20)  # noqa: DTZ001 - a meter's unzoned clock
    assert utc_time(naive, zurich, NOW) == dt.datetime(2023, 6, 6, 15, 31, 20, tzinfo=dt.UTC)
    assert utc_time(None, zurich, NOW) == NOW
    aware = dt.datetime(2020, 8, 15, 6, 19, 45, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert utc_time(aware, zurich, NOW).isoformat() == "2020-08-15T04:19:45+00:00"


def test_meter_id_sticks_to_the_first_identifier() -> None:
    tracker = SourceTracker("/dev/ttyUSB0")
    first = _reading({"0-0:42.0.0": "LGZ1", "1-0:1.7.0": 1})
    later = _reading({"0-0:42.0.0": "LGZ2", "1-0:1.7.0": 2})
    assert tracker.source is None
    assert tracker.resolve(first) == [("LGZ1", first)]
    assert tracker.source == "LGZ1"
    assert tracker.resolve(later) == [("LGZ1", later)]


def test_meter_id_waits_three_messages_then_falls_back() -> None:
    tracker = SourceTracker("/dev/ttyUSB0")
    readings = [_reading({"1-0:1.7.0": n}, meter_id=None) for n in range(4)]
    assert tracker.resolve(readings[0]) == []
    assert tracker.resolve(readings[1]) == []
    assert tracker.resolve(readings[2]) == [("/dev/ttyUSB0", r) for r in readings[:3]]
    assert tracker.resolve(readings[3]) == [("/dev/ttyUSB0", readings[3])]
    # An identifier arriving later does not move the topics any more.
    assert tracker.resolve(_reading({"0-0:96.1.0": "X"}))[0][0] == "/dev/ttyUSB0"


def test_identifier_without_obis_code_is_used() -> None:
    """Positional lists and the Siemens readout carry the meter number without an OBIS code."""
    tracker = SourceTracker("/dev/ttyUSB0")
    reading = _reading({"1-0:1.7.0": 1}, meter_id="6970631405808469")
    assert tracker.resolve(reading) == [("6970631405808469", reading)]


def test_held_readings_get_the_identifier_that_arrives() -> None:
    tracker = SourceTracker("fallback")
    early = _reading({"1-0:1.7.0": 1}, meter_id=None)
    with_id = _reading({"1-1:0.0.5": "5706567275940841", "1-0:1.7.0": 2})
    assert tracker.resolve(early) == []
    assert tracker.resolve(with_id) == [("5706567275940841", early), ("5706567275940841", with_id)]


@pytest.mark.parametrize("vector", reading_vectors())
def test_vectors_per_value(vector: Vector) -> None:
    reading = decode(vector)
    when = expected_time(vector) or NOW
    tracker = SourceTracker(vector.name)
    messages = []
    for source, item in [pair for _ in range(3) for pair in tracker.resolve(reading)]:
        values = seed_values(item, vector.profile)
        messages += per_value_messages(
            "smartmeter", source, values, utc_time(item.timestamp, dt.UTC, NOW)
        )
    assert messages == per_value(vector, when, vector.name) * 3


@pytest.mark.parametrize("vector", reading_vectors())
def test_vectors_bundle(vector: Vector) -> None:
    reading = decode(vector)
    when = expected_time(vector) or NOW
    tracker = SourceTracker(vector.name)
    messages = []
    for source, item in [pair for _ in range(3) for pair in tracker.resolve(reading)]:
        values = seed_values(item, vector.profile)
        message = rldsp_message("building", source, values, utc_time(item.timestamp, dt.UTC, NOW))
        messages += [message] if message else []
    assert messages == bundle(vector, when, vector.name) * 3
