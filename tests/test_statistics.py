"""Statistics stay true with the default update policy: a known load through a real recorder.

An hour and a bit of E450 pushes (every 5 s, made by the encoder, sent through a pty) carries a
power profile with noise, a slow swing, a kettle and an oven switching across both hour
boundaries. Home Assistant's recorder compiles the statistics from what the sensors wrote; the
hourly mean power must match the pushes' mean within 1 %, and the energy total every 5-minute
period ends on must be the meter's reading of the last push before that boundary, exactly.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
import itertools
import math
import random
from typing import TYPE_CHECKING

from homeassistant.components.recorder import get_instance
from homeassistant.components.recorder.history import state_changes_during_period
from homeassistant.components.recorder.statistics import statistics_during_period
from homeassistant.helpers import entity_registry as er
from meter_helpers import PtyPort, mock_entry, push, setup_entry
import pytest
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
    do_adhoc_statistics,
)

from custom_components.smartmeter_datacollector.const import DOMAIN
from smartmeter_devtools.load_model import Household, Snapshot
from smartmeter_devtools.push_encode import MeterEncoder

if TYPE_CHECKING:
    from freezegun.api import FrozenDateTimeFactory
    from homeassistant.components.recorder import Recorder
    from homeassistant.core import HomeAssistant

HOUR = datetime(2026, 1, 14, 11, 0, tzinfo=UTC)
PUSH_EVERY = timedelta(seconds=5)
FIRST_PUSH = HOUR - timedelta(minutes=2, seconds=7.5)
LAST_PUSH = HOUR + timedelta(hours=1, minutes=1)
POWER, ENERGY = "1-0:1.7.0", "1-1:1.8.0"
# Appliances as (watts, on, off): two straddle an hour boundary, where a lag would hurt most.
APPLIANCES = (
    (2400.0, HOUR - timedelta(seconds=29), HOUR + timedelta(seconds=44)),
    (2000.0, HOUR + timedelta(minutes=20, seconds=7), HOUR + timedelta(minutes=23, seconds=12)),
    (2400.0, HOUR + timedelta(minutes=59, seconds=13), HOUR + timedelta(hours=1, seconds=27)),
)


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(
    recorder_mock: Recorder, enable_custom_integrations: None
) -> None:
    """The recorder must start before Home Assistant does (conftest's version needs hass first)."""


def _power(moment: datetime, rng: random.Random) -> float:
    """The load at `moment`: a swing, an on/off fridge, noise, and the appliances."""
    seconds = (moment - FIRST_PUSH).total_seconds()
    watts = 380.0 + 160.0 * math.sin(2 * math.pi * seconds / 1300.0)
    watts += 95.0 if (seconds // 840) % 2 else 0.0
    watts *= 1.0 + rng.uniform(-0.2, 0.2)
    watts += sum(w for w, on, off in APPLIANCES if on <= moment < off)
    return float(round(watts))


def _time_weighted_mean(pushes: list[tuple[datetime, float]], start: datetime) -> float:
    """The pushes' mean over the hour from `start`, each push holding until the next."""
    end = start + timedelta(hours=1)
    total = 0.0
    for (moment, watts), (following, _) in itertools.pairwise(pushes):
        overlap = (min(following, end) - max(moment, start)).total_seconds()
        if overlap > 0:
            total += watts * overlap
    return total / 3600.0


@pytest.mark.freeze_time(FIRST_PUSH - timedelta(seconds=10), tick=True)
async def test_hourly_mean_and_energy_statistics_match_the_pushes(
    hass: HomeAssistant,
    pty_port: PtyPort,
    entity_registry: er.EntityRegistry,
    freezer: FrozenDateTimeFactory,
) -> None:
    encoder = MeterEncoder("lge450", tz=UTC, seed=7)
    household = Household(seed=7, start=FIRST_PUSH, tz=UTC, solar_peak_w=0.0)
    rng = random.Random(7)
    entry = mock_entry(None, port=pty_port.path, profile="lge450", unique_id=encoder.meter_id)
    await setup_entry(hass, entry)

    energy_wh = 3_000_000.0
    pushes: list[tuple[datetime, float]] = []
    totals: list[tuple[datetime, float]] = []
    moment = FIRST_PUSH
    while moment <= LAST_PUSH:
        watts = _power(moment, rng)
        if pushes:
            energy_wh += pushes[-1][1] * PUSH_EVERY.total_seconds() / 3600.0
        registers = dict(household.advance(moment).registers)
        registers.update({"1.7.0": watts, "2.7.0": 0.0, "1.8.0": energy_wh})
        freezer.move_to(moment)
        await push(hass, entry, pty_port, encoder.encode(Snapshot(moment, registers)).data)
        pushes.append((moment, watts))
        totals.append((moment, math.floor(energy_wh) / 1000.0))  # the meter counts whole Wh
        moment += PUSH_EVERY

    power_id = entity_registry.async_get_entity_id("sensor", DOMAIN, f"{encoder.meter_id}_{POWER}")
    energy_id = entity_registry.async_get_entity_id(
        "sensor", DOMAIN, f"{encoder.meter_id}_{ENERGY}"
    )
    assert power_id
    assert energy_id
    await async_wait_recording_done(hass)
    period = HOUR - timedelta(minutes=5)
    while period < HOUR + timedelta(hours=1):
        do_adhoc_statistics(hass, start=period)
        await async_wait_recording_done(hass)
        period += timedelta(minutes=5)

    instance = get_instance(hass)
    hourly = await instance.async_add_executor_job(
        statistics_during_period,
        hass,
        HOUR,
        HOUR + timedelta(hours=1),
        {power_id, energy_id},
        "hour",
        None,
        {"mean", "state", "sum"},
    )
    true_mean = _time_weighted_mean(pushes, HOUR)
    assert hourly[power_id][0]["mean"] == pytest.approx(true_mean, rel=0.01)

    # Every 5-minute period ends on the total of its last push: the Energy dashboard is exact.
    five_minutes = await instance.async_add_executor_job(
        statistics_during_period,
        hass,
        HOUR - timedelta(minutes=5),
        HOUR + timedelta(hours=1),
        {energy_id},
        "5minute",
        None,
        {"state", "sum"},
    )
    for row in five_minutes[energy_id]:
        end = datetime.fromtimestamp(row["end"], UTC)
        last_total = next(total for when, total in reversed(totals) if when < end)
        assert row["state"] == pytest.approx(last_total, abs=1e-9)
    first, last = five_minutes[energy_id][0], five_minutes[energy_id][-1]
    assert last["sum"] - first["sum"] == pytest.approx(last["state"] - first["state"], abs=1e-9)

    # The point of the policy: even this jumpy load wrote a fraction of its pushes as rows.
    changes = await instance.async_add_executor_job(
        state_changes_during_period, hass, HOUR, HOUR + timedelta(hours=1), power_id
    )
    assert len(changes[power_id]) < len([p for p in pushes if p[0] >= HOUR]) / 3
