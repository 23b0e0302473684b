"""The decoder as the campaign calls it: a fresh one per stream, a CPU bound on every feed.

A runaway feed() (an endless loop inside the A-XDR decoder) would stop the campaign; a SIGPROF
timer turns it into an exception that is reported like any other. The timer needs a signal
handler in the main thread, so it is armed only after `install_cpu_guard()`.
"""

from __future__ import annotations

import gc
import signal
import time
from typing import Any

from ._decoder import MeterDecoder, Reading
from .fuzz_corpus import Stream

# Far above the 50 ms a feed may take: only a feed that would otherwise never return hits it.
HARD_LIMIT_S = 3.0
_armed = False

ReadingKey = tuple[Any, ...]


class FeedTimeoutError(Exception):
    """A single feed() ran longer than HARD_LIMIT_S of CPU."""


def _expire(signum: int, frame: object) -> None:
    raise FeedTimeoutError(f"feed() ran over {HARD_LIMIT_S:.0f} s of CPU")


def install_cpu_guard() -> None:
    """Arm the CPU bound from now on (call in the main thread of the process that feeds)."""
    global _armed  # noqa: PLW0603  (one switch per process)
    signal.signal(signal.SIGPROF, _expire)
    _armed = True


def bounded_feed(decoder: MeterDecoder, data: bytes, now: float | None = None) -> list[Reading]:
    """decoder.feed(data[, now]), raising FeedTimeoutError when it runs away."""
    if not _armed:
        return _feed(decoder, data, now)
    signal.setitimer(signal.ITIMER_PROF, HARD_LIMIT_S)
    try:
        return _feed(decoder, data, now)
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)


def _feed(decoder: MeterDecoder, data: bytes, now: float | None) -> list[Reading]:
    # Decoders before the time rules (issue 8) take no `now`; the campaign runs against both.
    return decoder.feed(data) if now is None else decoder.feed(data, now)


def reading_key(reading: Reading) -> ReadingKey:
    """A hashable identity of a reading (its values in payload order)."""
    return (
        reading.meter_id,
        reading.timestamp,
        tuple(reading.values.items()),
        reading.manufacturer,
        reading.system_title,
    )


def new_decoder(stream: Stream) -> MeterDecoder:
    """A decoder as a user of this stream's meter would configure it."""
    return MeterDecoder(stream.profile, key=stream.key, auth_key=stream.auth_key)


def fresh_feed(stream: Stream, data: bytes) -> list[ReadingKey]:
    """Readings of a fresh decoder fed `data` at once (exceptions propagate)."""
    return [reading_key(r) for r in bounded_feed(new_decoder(stream), data)]


class GcClock:
    """CPU seconds the garbage collector spent, so feed times can leave it out.

    A full collection walks every object of the process: in the campaign that is its own
    bookkeeping (streams, expected readings, feed logs), in Home Assistant the whole of it. Its
    pause lands in whichever feed allocated last and says nothing about the decoder's work.
    """

    def __init__(self) -> None:
        """Not counting until `start`."""
        self.spent = 0.0
        self.pauses = 0
        self._began = 0.0

    def start(self) -> None:
        """Count from now on (one clock per process)."""
        gc.callbacks.append(self._tick)

    def stop(self) -> None:
        """Stop counting."""
        if self._tick in gc.callbacks:
            gc.callbacks.remove(self._tick)

    def _tick(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._began = time.thread_time()
        else:
            self.spent += time.thread_time() - self._began
            self.pauses += 1


GC_CLOCK = GcClock()
