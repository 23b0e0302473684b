"""Turn what the campaign caught into short repros: hex, profile, keys, what happened.

Exceptions and lost resyncs are shrunk (delta debugging with a fresh decoder fed everything at
once); wrong readings and slow feeds keep the last units as they were sent. At most two repros
per signature are kept, so one bug found a thousand times is one entry.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
import traceback
from typing import TYPE_CHECKING, Any

from .fuzz_guard import bounded_feed, fresh_feed, new_decoder, reading_key

if TYPE_CHECKING:
    from .fuzz_guard import ReadingKey
    from .fuzz_judge import StreamRunner, _Expectation

_PER_SIGNATURE = 2
_PER_WORKER = 40  # repros kept per worker: the rest are only counted
_SHRINK_BUDGET = 400


def shrink(
    data: bytes, still_fails: Callable[[bytes], bool], budget: int = _SHRINK_BUDGET
) -> bytes:
    """Remove pieces of `data` while `still_fails` holds (ddmin, bounded by `budget` tries)."""
    parts = 2
    while len(data) >= 2 and budget > 0:
        size = max(1, len(data) // parts)
        for start in range(0, len(data), size):
            candidate = data[:start] + data[start + size :]
            budget -= 1
            if candidate and still_fails(candidate):
                data = candidate
                parts = max(parts - 1, 2)
                break
            if budget <= 0:
                break
        else:
            if size == 1:
                break
            parts = min(len(data), parts * 2)
    return data


def _replay(
    runner: StreamRunner, log: list[tuple[int, bytes, float | None, bool]]
) -> list[ReadingKey] | None:
    """Readings of a fresh decoder fed exactly these chunks (None when it raised)."""
    decoder = new_decoder(runner.stream)
    got: list[ReadingKey] = []
    try:
        for _, chunk, now, gap in log:
            if gap:
                got += [reading_key(r) for r in decoder.gap() or []]
            got += [reading_key(r) for r in bounded_feed(decoder, chunk, now)]
    except (Exception, MemoryError, RecursionError):  # noqa: BLE001
        return None
    return got


def _replay_loses(
    runner: StreamRunner, log: list[tuple[int, bytes, float | None, bool]], wanted: set[ReadingKey]
) -> bool:
    got = _replay(runner, log)
    return got is not None and not wanted <= set(got)


def _layout(log: list[tuple[int, bytes, float | None, bool]]) -> str:
    return " ".join(
        f"{'G' if gap else ''}{len(chunk)}@{now if now is None else round(now, 4)}"
        for _, chunk, now, gap in log
    )


def _where(err: BaseException) -> str:
    frames = traceback.extract_tb(err.__traceback__)
    last = frames[-1] if frames else None
    return f"{last.filename.rsplit('/', 1)[-1]}:{last.lineno}" if last else "?"


class Findings:
    """Collects deduplicated repros into the tally of one worker."""

    def __init__(self, findings: list[dict[str, Any]]) -> None:
        """Repros go into `findings` (the worker's tally)."""
        self._out = findings
        self._seen: Counter[str] = Counter()

    def _add(self, signature: str, runner: StreamRunner, **entry: Any) -> None:
        self._seen[signature] += 1
        if self._seen[signature] > _PER_SIGNATURE or len(self._out) >= _PER_WORKER:
            return
        stream = runner.stream
        self._out.append(
            {
                "signature": signature,
                "stream": stream.name,
                "profile": stream.profile,
                "framing": stream.framing,
                "key": stream.key.hex() if stream.key else None,
                "auth_key": stream.auth_key.hex() if stream.auth_key else None,
                **entry,
            }
        )

    def exception(self, runner: StreamRunner, err: BaseException, chunk: bytes, where: str) -> None:
        """feed() or gap() raised: shrink the last units to bytes that raise in a fresh decoder."""
        kind = type(err).__name__
        signature = f"exception {kind} at {_where(err)} ({runner.stream.framing})"
        if self._seen[signature] >= _PER_SIGNATURE:
            self._seen[signature] += 1
            return

        def raises(data: bytes) -> bool:
            try:
                fresh_feed(runner.stream, data)
            except (Exception, MemoryError, RecursionError) as again:  # noqa: BLE001
                return type(again).__name__ == kind
            return False

        units = list(runner.history)
        repro, note = b"", "not reproduced by a fresh decoder fed the last units at once"
        for count in range(1, len(units) + 1):
            candidate = b"".join(units[-count:])
            if raises(candidate):
                repro, note = (
                    shrink(candidate, raises),
                    "a fresh decoder fed these bytes at once raises",
                )
                break
        self._add(
            signature,
            runner,
            what=f"{where}() raised {kind}: {str(err)[:200]}",
            hex=repro.hex() if repro else b"".join(units).hex(),
            chunk=chunk.hex()[:400],
            note=note,
        )

    def lost(self, runner: StreamRunner, expectation: _Expectation) -> None:
        """An intact message gave no reading in time: shrink what preceded it."""
        before = [m for m in runner.recent if m.end == expectation.start]
        kind = before[-1].mutant.kind if before else "none"
        signature = f"lost resync after {kind} ({runner.stream.framing})"
        if self._seen[signature] >= _PER_SIGNATURE:
            self._seen[signature] += 1
            return
        intact = runner.stream.messages[expectation.message].data
        wanted = set(runner.expected[expectation.message])

        def loses(prefix: bytes) -> bool:
            try:
                got = fresh_feed(runner.stream, prefix + intact)
            except (Exception, MemoryError, RecursionError):  # noqa: BLE001
                return False
            return not wanted <= set(got)

        prefix = before[-1].mutant.data if before else b""
        feeds = ""
        what = "the intact message after this prefix gave no reading"
        if prefix and loses(prefix):
            prefix, note = shrink(prefix, loses), "fed at once to a fresh decoder: no reading"
        else:
            # Replay from the mutant before the message, the oldest recent mutant, or all kept.
            starts = [before[-1].start if before else expectation.start]
            starts += [m.start for m in runner.arrived_mutants()[:1]]
            starts.append(0)  # everything still kept (the last 32 KiB)
            log: list[tuple[int, bytes, float | None, bool]] = []
            for start in starts:
                log = [f for f in runner.recent_feeds(start) if f[0] < expectation.end]
                if log and _replay_loses(runner, log, wanted):
                    break
            else:
                log = []
            what = "the intact message after this prefix gave no reading"
            prefix = b"".join(f[1] for f in log)
            if log:
                what = "fed as these chunks, the intact message (inside hex) gave no reading"
                note = (
                    "replay: a fresh decoder fed hex in these chunks (bytes@now; G = gap() first)"
                )
                feeds = _layout(log)
            else:
                note = "needs the long-lived decoder's earlier state"
        self._add(
            signature,
            runner,
            what=what,
            hex=prefix.hex(),
            intact=intact.hex(),
            feeds=feeds,
            note=note,
        )

    def wrong(self, runner: StreamRunner, key: ReadingKey, kind: str) -> None:
        """A reading equal to no intact message sent and no allowed mutant reading."""
        signature = f"wrong reading after {kind} ({runner.stream.framing})"
        if self._seen[signature] >= _PER_SIGNATURE:
            self._seen[signature] += 1
            return
        arrived = runner.arrived_mutants()
        log = runner.recent_feeds(arrived[0].start) if arrived else []
        if log and key in (_replay(runner, log) or []):
            data, feeds = b"".join(f[1] for f in log), _layout(log)
            note = "replay: a fresh decoder fed hex in these chunks (bytes@now; G = gap() first)"
        else:
            data, feeds = b"".join(runner.history), ""
            note = "the last units sent, oldest first (not reproduced by a replay)"
        self._add(
            signature,
            runner,
            what=f"reading {str(key)[:400]}",
            hex=data.hex(),
            feeds=feeds,
            note=note,
        )

    def slow(self, runner: StreamRunner, chunk: bytes, spent: float) -> None:
        """One feed() took more than 50 ms of CPU."""
        arrived = runner.arrived_mutants()
        kind = arrived[-1].mutant.kind if arrived else "none"
        self._add(
            f"slow feed near {kind} ({runner.stream.framing})",
            runner,
            what=f"feed() of {len(chunk)} bytes took {spent * 1000:.0f} ms CPU",
            hex=b"".join(runner.history).hex(),
            chunk=chunk.hex(),
            note="the last units sent; the chunk is the slow feed",
        )
