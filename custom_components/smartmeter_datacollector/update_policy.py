"""When a sensor writes its state and what it writes: few recorder rows, exact statistics.

Home Assistant's recorder keeps every state change, and compiles statistics from them every
5 minutes (homeassistant/components/sensor/recorder.py): for a measurement the time-weighted
mean (each state counts from its `last_updated` until the next one), min and max; for a total
the last state of the period, which the Energy dashboard sums up. So:

- Totals write their latest value at the last push before each boundary of their interval
  (UTC multiples, dividing 5 minutes): every statistics period ends on the current total, and no
  total waits longer than `TOTAL_MAX_INTERVAL`.
- Measurements write, at their interval's boundaries, the latest push minus the running
  difference between the recorded integral and the pushes' integral, spread over the next
  interval. The recorder counts a value written at t from t on, so what one interval gets wrong
  the next takes out. The difference is kept per UTC hour (the long-term statistics' period):
  an hour's recorded mean differs from the pushes' only by what its last interval adds, and a
  closed hour's difference is not paid back, which would only move it into the next hour. (The
  mean of the pushes since the last write, core dsmr's way, lags a falling load by half an
  interval, and a power at 0 W cannot pay back what the lag recorded too much.)
- Power jumps (a kettle, an oven) write the new value at once, so live power follows them; a
  smaller step is written once it has moved the integral by `RESIDUAL_SECONDS` of the typical
  magnitude.
- A value within `STEADY_FRACTION` of the one shown is not written at a boundary: the value
  shown is still right to that share, and the running difference carries what it leaves out.
  Household power wanders by a few percent from minute to minute; writing each wander would
  cost a row a minute for nothing a user can see.
- A value equal to the one shown writes nothing.
"""

from __future__ import annotations

from typing import Final

# Statistics periods are 5 minutes, aligned to the epoch (recorder/statistics.py).
STATISTICS_PERIOD: Final = 300.0
# Long-term statistics are hourly (UTC hours); what the recorder got wrong in a closed hour stays.
HOUR: Final = 3600.0
# The longest a changed total may wait before it is written.
TOTAL_MAX_INTERVAL: Final = 60.0
# Measurements nobody watches live (voltage, current, power factor, ...): once a period.
SLOW_INTERVAL: Final = STATISTICS_PERIOD
# A power push this far from the value shown is written at once: a quarter of the value shown,
# and at least the typical magnitude (200 W): a kettle, an oven, a heat pump starting.
JUMP_FRACTION: Final = 0.25
# A power this close to the value shown (a share of it, and at least the share of the
# typical magnitude below) leaves the value shown at a boundary.
STEADY_FRACTION: Final = 0.03
STEADY_FLOOR: Final = 0.015
# Recorded and pushed integrals may differ by at most this many seconds of the value shown
# (0.25 % of an hour) before a corrected value is written.
RESIDUAL_SECONDS: Final = 9.0


def aligned_interval(seconds: float) -> float:
    """The interval actually used: a divisor of 5 minutes (or a multiple above), 0 = every push.

    Boundaries of an interval that divides the statistics period fall on every period's end, so
    totals are current there and means never straddle two periods.
    """
    if seconds <= 0:
        return 0.0
    if seconds >= STATISTICS_PERIOD:
        return STATISTICS_PERIOD * (seconds // STATISTICS_PERIOD)
    whole = int(STATISTICS_PERIOD)
    return float(max(d for d in range(1, whole + 1) if whole % d == 0 and d <= seconds))


class Ticker:
    """Says which push is the last before each boundary of an interval (0: every push).

    The next push is expected one push gap later; when that is past the boundary, this push is
    the last one before it. A boundary passed without a write (a late or missing push) makes
    the next push write at once.
    """

    __slots__ = ("_last_push", "_served", "interval")

    def __init__(self, interval: float) -> None:
        """`interval` in seconds, already aligned."""
        self.interval = interval
        self._served = 0.0
        self._last_push: float | None = None

    @property
    def served(self) -> float:
        """The latest boundary a push was due for (ahead of that push)."""
        return self._served

    def due(self, now: float) -> bool:
        """Whether the push at `now` (epoch seconds) should write; call once per push."""
        interval = self.interval
        last, self._last_push = self._last_push, now
        if interval <= 0:
            return True
        boundary = (now // interval + 1) * interval
        if last is None:
            self._served = boundary - interval
            return False
        if self._served >= boundary:
            return False
        if now + (now - last) >= boundary or self._served < boundary - interval:
            self._served = boundary
            return True
        return False


class MeanWriter:
    """A measurement's value to write, if any, for each push: a corrected sample or a jump."""

    __slots__ = (
        "_base",
        "_count",
        "_digits",
        "_drift",
        "_held",
        "_jumps",
        "_last_time",
        "_last_value",
        "_max",
        "_min",
        "_residual",
        "_scale",
        "_sum",
        "_ticker",
    )

    def __init__(self, interval: float, digits: int, scale: float | None, *, jumps: bool) -> None:
        """`digits`: decimals written; `scale`: a typical magnitude in the sensor's unit.

        Without a scale the residual is neither bounded nor watched between boundaries.
        """
        self._ticker = Ticker(interval)
        self._digits = digits
        self._scale = scale
        self._jumps = jumps and scale is not None
        self._held: float | None = None
        self._residual = 0.0  # recorded minus pushed integral, unit x seconds
        self._base = 0.0  # what the last write predicted, before its correction
        self._drift = 0.0  # pushed integral's departure from that prediction since then
        self._last_value = 0.0
        self._last_time: float | None = None
        self._sum = 0.0
        self._count = 0
        self._min = self._max = 0.0

    def shown(self, value: object) -> None:
        """The entity wrote `value` for another reason (added, back from unavailable)."""
        self._held = float(value) if isinstance(value, int | float) else None
        self._residual = 0.0
        self._last_time = None
        self._count = 0

    def offer(self, value: float, now: float) -> float | None:
        """Take the push's value at `now`; returns the value to write, or None to write nothing."""
        held = self._held
        if held is not None and self._last_time is not None:
            elapsed = now - self._last_time
            self._drift += (self._base - self._last_value) * elapsed
            hour = now - now % HOUR
            if self._last_time < hour:
                # The closed hour's statistics keep their error; paying it back now would only
                # move it into this hour. Count this hour's difference from its start.
                self._residual = 0.0
                elapsed = now - hour
            self._residual += (held - self._last_value) * elapsed
        self._last_value, self._last_time = value, now
        if self._count:
            self._sum += value
            self._count += 1
            if value < self._min:
                self._min = value
            elif value > self._max:
                self._max = value
        else:
            self._sum = self._min = self._max = value
            self._count = 1
        due = self._ticker.due(now)
        if held is None:
            return self._write(value, value)
        if self._jumps:
            scale: float = self._scale  # type: ignore[assignment]  # jumps need a scale
            if abs(value - held) > max(scale, JUMP_FRACTION * abs(held)):
                return self._write(value, value)
            # The pushes left what the last write predicted: correct before an hour's
            # boundary can freeze the difference into its statistics.
            due = due or abs(self._drift) > RESIDUAL_SECONDS * scale
        if not due:
            return None
        interval = self._ticker.interval
        mean = self._sum / self._count
        if interval <= 0:
            return self._write(value, value)
        # Take out what the recorded states are ahead of the pushes, unless this value is held
        # into the next hour, whose account starts afresh.
        served = self._ticker.served
        wanted = value
        if not (served > now and served % HOUR == 0):
            wanted -= self._residual / interval
        # Shown within what was pushed, give or take a jump's worth; never below 0 W when no
        # push was negative.
        slack = JUMP_FRACTION * max(self._scale or 0.0, abs(mean))
        low = self._min - slack
        if self._min >= 0 > low:
            low = 0.0
        corrected = min(self._max + slack, max(low, wanted))
        if corrected != wanted and self._scale is not None:
            # What a clamp keeps out (a power at 0 W cannot go lower) is not carried for ever.
            limit = RESIDUAL_SECONDS * self._scale
            self._residual = max(-limit, min(limit, self._residual))
        steady = max(STEADY_FRACTION * abs(held), STEADY_FLOOR * (self._scale or 0.0))
        if self._jumps and abs(corrected - held) <= steady:
            # Steady: keep the value shown; the next interval starts here.
            self._restart(value)
            return None
        return self._write(corrected, value)

    def _restart(self, base: float) -> None:
        """Start the next interval, predicting `base` for it."""
        self._count = 0
        self._base = base
        self._drift = 0.0

    def _write(self, value: float, base: float) -> float | None:
        self._restart(base)
        value = round(value, self._digits)
        if value == self._held:
            return None
        self._held = value
        return value


class SampleWriter:
    """A total or a text: the latest value, at the interval's boundaries, when it changed."""

    __slots__ = ("_held", "_ticker")

    def __init__(self, interval: float) -> None:
        """`interval` in seconds, already aligned (0: every push)."""
        self._ticker = Ticker(interval)
        self._held: object = None

    def shown(self, value: object) -> None:
        """The entity wrote `value` for another reason (added, back from unavailable)."""
        self._held = value

    def offer[T](self, value: T, now: float) -> T | None:
        """`value` if it is to be written now, else None."""
        due = self._ticker.due(now)
        if value == self._held or not (due or self._held is None):
            return None
        self._held = value
        return value
