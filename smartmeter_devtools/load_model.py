"""A simulated three-phase household behind a meter: what the simulator's meter measures.

Power follows a daily household pattern plus appliances switching on and off, smoothed noise
and (optionally) a rooftop solar inverter; the energy registers integrate exactly the power
each snapshot reports, so decoded counters and powers always agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
import math
import random
from types import MappingProxyType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

PHASES = 3
_P_CODES = ("21", "41", "61")  # active power import per phase; +1 = export
_Q_CODES = ("23", "43", "63")  # reactive power import per phase; +1 = export
_I_CODES = ("31", "51", "71")
_U_CODES = ("32", "52", "72")
_PF_CODES = ("33", "53", "73")

# (name, watts, minutes, phases it loads, starts per hour at the busiest time of day)
_APPLIANCES = (
    ("kettle", 2000.0, 3.0, (0,), 0.8),
    ("oven", 2400.0, 35.0, (0, 1, 2), 0.15),
    ("washing machine", 1900.0, 25.0, (1,), 0.2),
    ("dishwasher", 1800.0, 20.0, (2,), 0.2),
    ("vacuum cleaner", 900.0, 10.0, (1,), 0.15),
    ("hair dryer", 1600.0, 5.0, (2,), 0.3),
    ("television", 110.0, 90.0, (0,), 0.4),
)

# Relative activity by local hour: night, morning peak, day, evening peak.
_ACTIVITY = (
    0.1, 0.05, 0.05, 0.05, 0.05, 0.2, 0.7, 1.0, 0.8, 0.5, 0.4, 0.5,
    0.7, 0.5, 0.4, 0.4, 0.5, 0.8, 1.0, 1.0, 0.9, 0.7, 0.4, 0.2,
)  # fmt: skip


_COUNTING_SINCE = datetime(2020, 1, 1, tzinfo=UTC)
_AVERAGE_IMPORT_W = 450.0
_AVERAGE_EXPORT_W = 250.0
# A gas meter on the electricity meter's M-Bus channel (OBIS 0-1:24.2.1, m³): heating and hot
# water, about 1200 m³ a year, with the same daily activity curve as the electrical loads.
GAS_CODE = "24.2.1"
_AVERAGE_GAS_M3_H = 0.14


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Physical values at one instant, keyed by OBIS C.D.E, in native units (W, Wh, var, V...)."""

    time: datetime
    registers: Mapping[str, float]


@dataclass(slots=True)
class _Running:
    name: str
    watts: float
    phases: tuple[int, ...]
    until: datetime


class _Smooth:
    """First-order autoregressive noise: a value that wanders but stays near zero."""

    def __init__(self, rng: random.Random, sigma: float, tau_s: float) -> None:
        self._rng, self._sigma, self._tau = rng, sigma, tau_s
        self.value = 0.0

    def step(self, dt_s: float) -> float:
        keep = math.exp(-dt_s / self._tau)
        self.value = self.value * keep + self._rng.gauss(0.0, self._sigma) * math.sqrt(
            1 - keep * keep
        )
        return self.value


def _tariff(local: datetime) -> str:
    """High tariff (1) on weekdays 07-20 h, low (2) otherwise: a common Swiss double tariff."""
    return "1" if local.isoweekday() <= 5 and 7 <= local.hour < 20 else "2"


class Household:
    """Deterministic for a given seed and sequence of times."""

    def __init__(
        self,
        *,
        seed: int,
        start: datetime,
        tz: tzinfo,
        solar_peak_w: float = 3000.0,
        counters: Mapping[str, float] | None = None,
    ) -> None:
        """`start` is the time of the first snapshot; `counters` continue a previous run."""
        self._rng = random.Random(seed)  # noqa: S311  (simulated loads, not secrets)
        self._tz = tz
        self._solar_peak = solar_peak_w
        self._last = start
        self._running: list[_Running] = []
        rng = self._rng
        self._load_noise = [_Smooth(rng, 0.08, 60.0) for _ in range(PHASES)]
        self._reactive_ratio = [_Smooth(rng, 0.12, 600.0) for _ in range(PHASES)]
        self._clouds = _Smooth(rng, 0.35, 900.0)
        self._voltage = [_Smooth(rng, 2.0, 1800.0) for _ in range(PHASES)]
        self._frequency = _Smooth(rng, 0.02, 120.0)
        self._base = [rng.uniform(60.0, 140.0) for _ in range(PHASES)]
        self._energy: dict[str, float] = {}
        # Counters as if the meter had run at a typical average since 2020: a simulator restarted
        # later continues (roughly) where it stopped, so Home Assistant sees no meter reset.
        hours = max(0.0, (start - _COUNTING_SINCE).total_seconds() / 3600.0)
        imported = rng.uniform(1e6, 3e6) + _AVERAGE_IMPORT_W * hours
        exported = rng.uniform(2e5, 8e5) + _AVERAGE_EXPORT_W * hours if solar_peak_w > 0 else 0.0
        for code, total in (
            ("1.8", imported),
            ("2.8", exported),
            ("5.8", imported * rng.uniform(0.2, 0.35)),
            ("6.8", exported * 0.01),
            ("7.8", exported * 0.04),
            ("8.8", imported * rng.uniform(0.02, 0.08)),
        ):
            high = round(total * rng.uniform(0.5, 0.7))
            self._energy[f"{code}.1"] = high
            self._energy[f"{code}.2"] = round(total) - high
        for tariff in ("1", "2"):
            # Reactive import is quadrants I + II, export III + IV (IEC 62053-23).
            self._energy[f"3.8.{tariff}"] = (
                self._energy[f"5.8.{tariff}"] + self._energy[f"6.8.{tariff}"]
            )
            self._energy[f"4.8.{tariff}"] = (
                self._energy[f"7.8.{tariff}"] + self._energy[f"8.8.{tariff}"]
            )
        for phase in range(PHASES):
            self._energy[f"{_P_CODES[phase]}.8.0"] = round(imported / PHASES)
            self._energy[f"{int(_P_CODES[phase]) + 1}.8.0"] = round(exported / PHASES)
        # Its own generator: the electrical values of a seed stay what they were before gas.
        gas_rng = random.Random(seed ^ 0x6A5)  # noqa: S311  (simulated loads, not secrets)
        self._gas_scale = gas_rng.uniform(0.6, 1.4)
        self._energy[GAS_CODE] = round(gas_rng.uniform(500.0, 2000.0) + _AVERAGE_GAS_M3_H * hours)
        for code, value in (counters or {}).items():
            # Registers this model does not know (an older state file) are ignored.
            if code in self._energy and value >= 0:
                self._energy[code] = float(value)

    @property
    def counters(self) -> dict[str, float]:
        """The energy registers (per tariff), to continue in a later run."""
        return dict(self._energy)

    def _start_appliances(self, local: datetime, now: datetime, dt_s: float) -> None:
        self._running = [r for r in self._running if r.until > now]
        activity = _ACTIVITY[local.hour]
        for name, watts, minutes, phases, rate in _APPLIANCES:
            if any(r.name == name for r in self._running):
                continue
            if self._rng.random() < rate * activity * dt_s / 3600.0:
                duration = timedelta(minutes=minutes * self._rng.uniform(0.6, 1.4))
                self._running.append(_Running(name, watts, phases, now + duration))

    def _solar(self, local: datetime, dt_s: float) -> float:
        hour = local.hour + local.minute / 60.0 + local.second / 3600.0
        # Central Europe: days of 16 h around midsummer, 8 h around midwinter, sun highest
        # near 13 h local time; winter sun is also much weaker.
        summer = math.cos(2 * math.pi * (local.timetuple().tm_yday - 172) / 365.25)
        day_length = 12.0 + 4.0 * summer
        sunrise = 13.0 - day_length / 2
        height = (hour - sunrise) / day_length
        daylight = math.sin(math.pi * height) if 0.0 < height < 1.0 else 0.0
        daylight *= 0.65 + 0.35 * summer
        clouds = min(1.0, max(0.15, 0.8 + self._clouds.step(dt_s)))
        return self._solar_peak * math.pow(daylight, 1.3) * clouds

    def advance(self, now: datetime) -> Snapshot:
        """Move to `now` and return what the meter measures there.

        Each energy register grows by the power this snapshot reports times the time since
        the previous snapshot (the meter integrates; we report the end of the interval).
        """
        dt_s = max(0.0, (now - self._last).total_seconds())
        self._last = now
        local = now.astimezone(self._tz)
        self._start_appliances(local, now, dt_s)
        fridge_on = (local.minute % 45) < 15
        solar_each = self._solar(local, dt_s) / PHASES
        regs: dict[str, float] = {}
        p_net = q_net = 0.0
        for phase in range(PHASES):
            load = self._base[phase] * (0.7 + _ACTIVITY[local.hour])
            load += 95.0 if fridge_on and phase == 0 else 0.0
            load += sum(r.watts / len(r.phases) for r in self._running if phase in r.phases)
            load *= 1.0 + self._load_noise[phase].step(dt_s)
            load = max(load, 5.0)
            net = load - solar_each
            # Household loads are mostly inductive; electronics pull the ratio below zero.
            q = load * min(0.45, max(-0.15, 0.2 + self._reactive_ratio[phase].step(dt_s)))
            drift = min(8.0, max(-8.0, self._voltage[phase].step(dt_s)))  # grid tolerance
            volts = 230.0 + 1.5 * (phase - 1) + drift - net * 0.0008
            volts += self._rng.gauss(0.0, 0.15)
            apparent = math.hypot(net, q)
            regs[f"{_P_CODES[phase]}.7.0"] = max(net, 0.0)
            regs[f"{int(_P_CODES[phase]) + 1}.7.0"] = max(-net, 0.0)
            regs[f"{_Q_CODES[phase]}.7.0"] = max(q, 0.0)
            regs[f"{int(_Q_CODES[phase]) + 1}.7.0"] = max(-q, 0.0)
            regs[f"{_U_CODES[phase]}.7.0"] = volts
            regs[f"{_I_CODES[phase]}.7.0"] = apparent / volts
            regs[f"{_PF_CODES[phase]}.7.0"] = abs(net) / apparent if apparent else 1.0
            p_net += net
            q_net += q
        apparent_total = math.hypot(p_net, q_net)
        regs.update(
            {
                "1.7.0": max(p_net, 0.0),
                "2.7.0": max(-p_net, 0.0),
                "3.7.0": max(q_net, 0.0),
                "4.7.0": max(-q_net, 0.0),
                "9.7.0": apparent_total,
                "16.7.0": p_net,
                "13.7.0": abs(p_net) / apparent_total if apparent_total else 1.0,
                "14.7.0": 50.0 + max(-0.15, min(0.15, self._frequency.step(dt_s))),
                "91.7.0": abs(
                    complex(regs["31.7.0"], 0)
                    + regs["51.7.0"] * complex(-0.5, -0.866)
                    + regs["71.7.0"] * complex(-0.5, 0.866)
                ),
            }
        )
        self._integrate(regs, dt_s / 3600.0, _tariff(local))
        gas_rate = _AVERAGE_GAS_M3_H * self._gas_scale * 2.0 * _ACTIVITY[local.hour]
        self._energy[GAS_CODE] += gas_rate * dt_s / 3600.0
        regs.update(self._totals())
        return Snapshot(time=now, registers=MappingProxyType(regs))

    def _integrate(self, regs: Mapping[str, float], hours: float, tariff: str) -> None:
        p, q = regs["1.7.0"] - regs["2.7.0"], regs["3.7.0"] - regs["4.7.0"]
        quadrant = ("5.8" if p >= 0 else "6.8") if q >= 0 else ("7.8" if p < 0 else "8.8")
        energy = self._energy
        energy[f"1.8.{tariff}"] += regs["1.7.0"] * hours
        energy[f"2.8.{tariff}"] += regs["2.7.0"] * hours
        energy[f"3.8.{tariff}"] += regs["3.7.0"] * hours
        energy[f"4.8.{tariff}"] += regs["4.7.0"] * hours
        energy[f"{quadrant}.{tariff}"] += abs(q) * hours
        for code in (*_P_CODES, *(str(int(c) + 1) for c in _P_CODES)):
            energy[f"{code}.8.0"] += regs[f"{code}.7.0"] * hours

    def _totals(self) -> dict[str, float]:
        totals = dict(self._energy)
        for code in ("1.8", "2.8", "3.8", "4.8", "5.8", "6.8", "7.8", "8.8"):
            totals[f"{code}.0"] = totals[f"{code}.1"] + totals[f"{code}.2"]
        return totals
