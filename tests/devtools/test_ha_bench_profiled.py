"""The bench's window profiler: only what runs between the signals lands in a profile."""

from __future__ import annotations

import os
import pstats
import signal
from typing import TYPE_CHECKING

from smartmeter_devtools.ha_bench_profiled import START, STOP, WindowProfiler

if TYPE_CHECKING:
    from pathlib import Path


def _inside_the_window() -> int:
    return sum(range(1000))


def _outside_the_window() -> int:
    return sum(range(10))


def test_each_window_is_its_own_profile(tmp_path: Path) -> None:
    """Start-up before the first signal is left out; each stop writes the next numbered file."""
    profiler = WindowProfiler(str(tmp_path / "hass"))
    previous = signal.signal(START, profiler.start), signal.signal(STOP, profiler.stop)
    try:
        _outside_the_window()
        os.kill(os.getpid(), START)
        _inside_the_window()
        os.kill(os.getpid(), STOP)
        _outside_the_window()
        profiler.stop()  # no window open: nothing written
        profiler.start()
        profiler.start()  # one window at a time
        profiler.stop()
    finally:
        signal.signal(START, previous[0])
        signal.signal(STOP, previous[1])

    assert sorted(p.name for p in tmp_path.iterdir()) == ["hass-1.prof", "hass-2.prof"]
    functions = {name for _, _, name in pstats.Stats(str(tmp_path / "hass-1.prof")).stats}
    assert "_inside_the_window" in functions
    assert "_outside_the_window" not in functions
