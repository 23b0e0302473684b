"""The update policy on its own: when it writes, and that the recorded integral stays true."""

from __future__ import annotations

import random

import pytest

from custom_components.smartmeter_datacollector.update_policy import (
    MeanWriter,
    SampleWriter,
    Ticker,
    aligned_interval,
)

START = 1_800_000_000.0  # a multiple of 300: a statistics boundary


@pytest.mark.parametrize(
    ("asked", "used"),
    [(0, 0), (-5, 0), (1, 1), (7, 6), (45, 30), (60, 60), (299, 150), (300, 300), (700, 600)],
)
def test_intervals_divide_the_statistics_period(asked: float, used: float) -> None:
    assert aligned_interval(asked) == used


def test_ticker_writes_the_last_push_before_each_boundary() -> None:
    ticker = Ticker(60.0)
    due = [t for t in range(0, 181, 5) if ticker.due(START + 0.5 + t)]
    # Pushes at :55.5 are the last before each minute; the first push only starts the clock.
    assert due == [55, 115, 175]


def test_ticker_catches_up_after_a_missed_boundary() -> None:
    ticker = Ticker(60.0)
    ticker.due(START + 10)
    ticker.due(START + 20)
    # The meter fell silent over the boundary at +60: the next push writes at once.
    assert ticker.due(START + 95)


def test_every_push_writes_only_changes() -> None:
    writer = SampleWriter(0.0)
    writer.shown(1)
    assert [writer.offer(v, START + i) for i, v in enumerate((1, 2, 2, 3))] == [None, 2, None, 3]


def test_a_total_is_written_once_a_minute_and_only_when_it_changed() -> None:
    writer = SampleWriter(60.0)
    writer.shown(100)
    written = [
        (t, value)
        for t in range(241)
        if (value := writer.offer(100 + min(t, 100) // 10, START + 0.5 + t)) is not None
    ]
    # Last push before each boundary while counting; nothing once the total stands still.
    assert written == [(59, 105), (119, 110)]


def test_a_jump_is_written_at_once_and_noise_waits_for_the_boundary() -> None:
    writer = MeanWriter(60.0, 1, 200.0, jumps=True)
    writer.shown(300.0)
    assert writer.offer(310.0, START + 1) is None
    assert writer.offer(2300.0, START + 2) == 2300.0


def test_recorded_integral_follows_the_pushes() -> None:
    """What the recorder integrates (each write held until the next) matches the pushes."""
    rng = random.Random(3)
    writer = MeanWriter(60.0, 1, 200.0, jumps=True)
    held: float | None = None
    recorded = pushed = 0.0
    last = 0.0
    writes = 0
    for second in range(3 * 3600):
        watts = 400.0 + 300.0 * (second // 700 % 2) + rng.uniform(-40.0, 40.0)
        if held is not None:
            recorded += held
            pushed += last
        if (value := writer.offer(watts, START + second)) is not None:
            held = value
            writes += 1
        last = watts
    assert recorded == pytest.approx(pushed, rel=0.002)
    # A write a minute plus the steps, not one per push.
    assert writes < 3 * 3600 / 20


def _hourly_means(writer: MeanWriter, watts_at: list[float], start: float) -> list[float]:
    """Recorded minus pushed mean of each hour: each write and each push held until the next."""
    held: float | None = None
    errors: list[float] = []
    recorded = pushed = 0.0
    for second, watts in enumerate(watts_at):
        if second and second % 3600 == 0:
            errors.append((recorded - pushed) / 3600)
            recorded = pushed = 0.0
        if second:
            recorded += held if held is not None else 0.0
            pushed += watts_at[second - 1]
        if (value := writer.offer(watts, start + second)) is not None:
            held = value
    return errors


def test_an_hour_does_not_pay_for_the_one_before() -> None:
    """What a closed hour's statistics got wrong stays there: the next hour starts even.

    A step too small to write at once, just before the hour boundary, leaves the closing hour
    a little short; paying that back in the next hour would make the next hour wrong too.
    """
    start = 1_800_000_000.0 - 1_800_000_000.0 % 3600 + 0.5  # half a second into an hour
    step_at = 3600 - 20
    watts_at = [400.0] * step_at + [440.0] * (2 * 3600 - step_at) + [440.0]
    errors = _hourly_means(MeanWriter(60.0, 1, 200.0, jumps=True), watts_at, start)
    assert errors[0] < -0.1  # the step's last 20 s were recorded at 400 W
    assert errors[1] == pytest.approx(0.0, abs=0.01)


def test_a_steady_power_keeps_its_value_and_a_step_is_written() -> None:
    """Wandering by a percent writes nothing at the boundaries; a lasting 10 % step does."""
    writer = MeanWriter(60.0, 1, 200.0, jumps=True)
    writer.shown(1000.0)
    wander = [writer.offer(1000.0 + (5.0 if t % 2 else -5.0), START + 0.5 + t) for t in range(180)]
    assert wander == [None] * 180
    step = [
        (t, value)
        for t in range(180, 300)
        if (value := writer.offer(1100.0, START + 0.5 + t)) is not None
    ]
    # Written once the step has moved the recorded integral by 9 s of 200 W, not at a boundary.
    assert step[0][0] < 240
    assert step[0][1] == pytest.approx(1100.0, abs=40.0)
