"""A simulated day through the sensors' update policy: recorder rows and hourly-mean errors.

What `ha_bench` measures for minutes, this computes for a whole day in seconds: the simulated
household's E450 push list at 1 push/s goes through the same policy the sensors use
(`sensor.writer_for` on the real OBIS descriptions, default-enabled sensors only). It prints, per
sensor, the rows a day and the worst hourly mean of the recorded states (each held until the
next, as the recorder's statistics count them) against the pushes' own mean; and the rows core
dsmr's default 30 s throttle makes of the same load.

    python -m smartmeter_devtools.policy_day --day 2026-06-15 [--min-interval 60] [--hours 24]
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
import sys
from zoneinfo import ZoneInfo

from custom_components.smartmeter_datacollector.obis_sensors import describe
from custom_components.smartmeter_datacollector.sensor import writer_for

from .load_model import Household

# The simulated E450 push list (meter_model "lge450"): C.D.E, unit, decimals the meter sends.
E450 = (
    ("1.7.0", "W", 0),
    ("2.7.0", "W", 0),
    ("3.7.0", "var", 0),
    ("4.7.0", "var", 0),
    ("31.7.0", "A", 2),
    ("51.7.0", "A", 2),
    ("71.7.0", "A", 2),
    ("32.7.0", "V", 1),
    ("52.7.0", "V", 1),
    ("72.7.0", "V", 1),
    ("13.7.0", None, 3),
    ("1.8.0", "Wh", 0),
    ("2.8.0", "Wh", 0),
    ("1.8.1", "Wh", 0),
    ("1.8.2", "Wh", 0),
    ("2.8.1", "Wh", 0),
    ("2.8.2", "Wh", 0),
)
# Hours whose mean is below this (W) are judged by their absolute error: 1 % of them is under
# 1 W, less than one push of a fridge switching on a second early moves an hour.
JUDGED_FROM = 100.0


@dataclass
class _Track:
    """One sensor's writer and what it recorded."""

    writer: object
    rows: int = 0
    held: float | None = None
    recorded: dict[int, float] = field(default_factory=dict)
    pushed: dict[int, float] = field(default_factory=dict)


def _dsmr_rows(household: Household, start: datetime, seconds: int) -> int:
    """Rows core dsmr's 30 s throttle writes for its 8 default sensors of the same load."""
    shown: dict[str, str] = {}
    rows = 0
    for second in range(0, seconds, 30):
        regs = household.advance(start + timedelta(seconds=second)).registers
        for key in ("1.7.0", "2.7.0", "1.8.1", "1.8.2", "2.8.1", "2.8.2"):
            text = f"{regs[key] / 1000:.3f}"
            if shown.get(key) != text:
                shown[key] = text
                rows += 1
    return rows + 2  # tariff and gas: constant here, one row each


def run(day: datetime, min_interval: float, seed: int, hours: int = 24) -> None:
    """Simulate the first `hours` of `day` and print the table."""
    zone = ZoneInfo("Europe/Zurich")
    household = Household(seed=seed, start=day, tz=zone)
    tracks: dict[str, _Track] = {}
    digits: dict[str, int] = {}
    for code, unit, decimals in E450:
        key = f"1-{'1' if '.8.' in code else '0'}:{code}"
        description = describe(key, unit, 0.0)
        if description.entity_registry_enabled_default:
            tracks[code] = _Track(writer_for(description, min_interval))
            digits[code] = decimals
    last: dict[str, float] = {}
    last_time: float | None = None
    seconds = hours * 3600
    span = "day" if hours == 24 else f"{hours} h"
    for second in range(seconds):
        now = day.timestamp() + second + 0.37
        regs = household.advance(day + timedelta(seconds=second)).registers
        hour = second // 3600
        for code, track in tracks.items():
            value = round(regs[code], digits[code])
            if last_time is not None:
                track.pushed[hour] = track.pushed.get(hour, 0.0) + last[code]
                if track.held is not None:
                    track.recorded[hour] = track.recorded.get(hour, 0.0) + track.held
            written = track.writer.offer(value, now)  # type: ignore[attr-defined]
            if written is not None:
                track.held = float(written)
                track.rows += 1
            last[code] = value
        last_time = now
    total = 0
    sys.stdout.write(f"{day:%Y-%m-%d}, {hours} h, min_interval {min_interval:g} s\n")
    for code, track in tracks.items():
        total += track.rows
        line = f"  {code:<8} {track.rows:6d} rows/{span}"
        if ".8." not in code:
            # Hour 0 starts with no state recorded yet.
            hours_seen = [(h, p / 3600) for h, p in track.pushed.items() if h > 0]
            watts = [abs(track.recorded.get(h, 0.0) / 3600 - mean) for h, mean in hours_seen]
            shares = [
                error / mean * 100
                for error, (_, mean) in zip(watts, hours_seen, strict=True)
                if mean >= JUDGED_FROM
            ]
            line += (
                f"   worst hourly mean error {max(shares, default=0.0):6.2f} %"
                f" (hours of {JUDGED_FROM:g} W or more), {max(watts, default=0.0):5.2f} W (any hour)"
            )
        sys.stdout.write(line + "\n")
    sys.stdout.write(f"  all      {total:6d} rows/{span}\n")
    dsmr = _dsmr_rows(Household(seed=seed, start=day, tz=zone), day, seconds)
    sys.stdout.write(f"  core dsmr, 30 s, same load: {dsmr} rows/{span}\n")


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--day", default="2026-06-15", help="UTC date to simulate")
    parser.add_argument("--min-interval", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument(
        "--hours", type=int, default=24, choices=range(2, 25), help="simulate the day's first hours"
    )
    args = parser.parse_args(argv)
    day = datetime.fromisoformat(args.day).replace(tzinfo=UTC)
    run(day, args.min_interval, args.seed, args.hours)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
