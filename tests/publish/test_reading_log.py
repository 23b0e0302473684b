"""Reading logs in the seed tool's logger format (protocol-notes §7.5)."""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING

import pytest
from seed_expectations import Vector, decode, expected_time, log_record, reading_vectors

from custom_components.smartmeter_datacollector.dlms.models import Measurement, Reading
from custom_components.smartmeter_datacollector.publish import async_create_publishers
from custom_components.smartmeter_datacollector.publish.options_mqtt import CONF_LOG_READINGS
from custom_components.smartmeter_datacollector.publish.reading_log import ReadingLogPublisher

if TYPE_CHECKING:
    from collections.abc import Iterator

    from homeassistant.core import HomeAssistant

LOGGER_NAME = "custom_components.smartmeter_datacollector.readings"


@pytest.fixture(autouse=True)
def _restore_logger_level() -> Iterator[None]:
    yield
    logging.getLogger(LOGGER_NAME).setLevel(logging.NOTSET)


@pytest.mark.parametrize("vector", reading_vectors())
async def test_vector_logged_as_the_seed_did(
    hass: HomeAssistant, vector: Vector, caplog: pytest.LogCaptureFixture
) -> None:
    reading = decode(vector)
    (publisher,) = await async_create_publishers(
        hass, {CONF_LOG_READINGS: True}, "/dev/ttyUSB0", profile=vector.profile
    )
    await publisher.async_start()
    caplog.set_level(logging.INFO, logger=LOGGER_NAME)
    for _ in range(3):  # meters without an identifier are logged after three messages
        publisher.publish(reading)
    await publisher.async_stop()

    records = [r for r in caplog.records if r.name == LOGGER_NAME]
    assert [r.levelno for r in records] == [logging.INFO] * 3
    for record in records:
        # Without a meter time the seed stamps host time: take it from the header.
        when = expected_time(vector) or dt.datetime.fromisoformat(
            record.getMessage().split("\n")[0].split(" - ")[1].rstrip(":")
        )
        assert record.getMessage() == log_record(vector, when, "/dev/ttyUSB0")
    assert publisher.stats == {"logged": 3}


async def test_switching_on_makes_the_lines_visible(caplog: pytest.LogCaptureFixture) -> None:
    """Home Assistant logs WARNING by default; turning the option on must show INFO lines."""
    logger = logging.getLogger(LOGGER_NAME)
    publisher = ReadingLogPublisher(profile="lge450", meter_id_fallback="x")
    await publisher.async_start()
    assert logger.getEffectiveLevel() == logging.INFO
    publisher.publish(
        Reading(
            meter_id="LGZ1",
            timestamp=dt.datetime(2021, 7, 6, 14, 58, 18, tzinfo=dt.UTC),
            values={
                "0-0:42.0.0": Measurement("LGZ1", None),
                "1-0:13.7.0": Measurement(0.941, None),
            },
        )
    )
    assert caplog.messages == [
        "LGZ1 - 2021-07-06T14:58:18+00:00:\n  Power Factor - 1-0:13.7.0*255: 0.9410000000000001 "
    ]
    await publisher.async_stop()
    assert logger.level == logging.NOTSET


async def test_a_level_the_user_set_is_left_alone() -> None:
    logger = logging.getLogger(LOGGER_NAME)
    logger.setLevel(logging.WARNING)
    publisher = ReadingLogPublisher(profile="lge450", meter_id_fallback="x")
    await publisher.async_start()
    publisher.publish(Reading(meter_id=None, timestamp=None, values={}))
    await publisher.async_stop()
    assert logger.level == logging.WARNING
    assert publisher.stats == {"logged": 0}


async def test_off_by_default(hass: HomeAssistant) -> None:
    assert await async_create_publishers(hass, {}, "/dev/ttyUSB0") == []
