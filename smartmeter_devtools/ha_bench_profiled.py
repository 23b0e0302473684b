"""Home Assistant under cProfile for the bench's windows only, not its start-up.

`ha_bench --cprofile CASE` starts that case as `python -m smartmeter_devtools.ha_bench_profiled
OUT -c CONFIG ...`: SIGUSR1 starts the profiler, SIGUSR2 stops it and writes `OUT-<n>.prof`
(n counts the windows). Start-up imports and setting up the entries would otherwise bury the
per-push path, which takes well under a second of CPU in a five-minute window.

    python -m pstats OUT-1.prof   (sort tottime, stats 40)
"""

from __future__ import annotations

import cProfile
import signal
import sys
from types import FrameType

START: signal.Signals = signal.SIGUSR1
STOP: signal.Signals = signal.SIGUSR2


class WindowProfiler:
    """A profiler switched on and off by signals; each window goes to its own file."""

    def __init__(self, out: str) -> None:
        self.out = out
        self.windows = 0
        self._profile: cProfile.Profile | None = None

    def start(self, _signum: int = 0, _frame: FrameType | None = None) -> None:
        """Begin a window (a second start while one runs is ignored)."""
        if self._profile is None:
            self._profile = cProfile.Profile()
            self._profile.enable()

    def stop(self, _signum: int = 0, _frame: FrameType | None = None) -> None:
        """End the window and write its profile."""
        profile, self._profile = self._profile, None
        if profile is not None:
            profile.disable()
            self.windows += 1
            profile.dump_stats(f"{self.out}-{self.windows}.prof")


def main(argv: list[str]) -> int:
    """Install the signal handlers, then run Home Assistant with the remaining arguments."""
    from homeassistant.__main__ import main as hass_main  # noqa: PLC0415  (after the handlers)

    profiler = WindowProfiler(argv[0])
    signal.signal(START, profiler.start)
    signal.signal(STOP, profiler.stop)
    sys.argv = ["hass", *argv[1:]]
    return hass_main()


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main(sys.argv[1:]))
