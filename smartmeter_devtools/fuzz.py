"""`fuzz`: a mutation campaign against the decoder, with intact messages interleaved.

Seeds: freshly encoded pushes of every profile (plain and ciphered; HDLC single frames, GBT
blocks and segmentation, M-Bus, bare APDUs, IEC 62056-21 text) and the shared captures (read at
run time from --vectors; skipped when the folder is absent). Each stream (profile + keys +
framing) has one long-lived decoder, fed in random chunks of 1 byte to 4 KiB: intact messages
and mutants in random order, sometimes with gap() before a push.

Mutants: bit flips, byte inserts and deletes, truncation, duplicated and reordered frames, noise
between frames, garbage runs, 0x7E runs, spliced messages and wrong keys (raw: checksums left as
they are); extreme HDLC lengths and segmentation bits, extreme A-XDR tags, lengths and counts,
changed M-Bus fields and IEC text, each re-framed with valid HCS/FCS, M-Bus sum, BCC and GCM tag.

How every reading is judged:
- An intact message's expected readings are what a fresh decoder gives for it alone. They must
  come out of the long-lived decoder by the feed that delivers the message's last byte, or it
  counts as a lost resync. Bare APDUs and IEC 62056-21 text cannot show where a message starts
  (nor, for a bare APDU, that it ended rather than met garbage), so there a reading may come one
  message late (by the end of the next unit, or the first byte after the line next went quiet,
  whichever is later) and the first intact message right after a mutant may be missed (counted,
  allowed); the next one may not. A bare APDU without a GCM tag followed at once (no quiet line)
  by a mutant may be missed too (counted, allowed) when it ends in a number or nothing of its
  stream was decoded before: no decoder can tell it from one cut short inside its last value
  whose structure the garbage completed. The decoder still keeps those it can vouch for (a push
  matching a skeleton learned from an earlier one, ending in skeleton bytes). A message may
  also be missed (counted as "collided", allowed) when a frame that passes every check of its
  transport but is in no message sent (a frame cut short whose claimed length ran into the next
  message, its M-Bus sum matching by chance) began before it and ended inside it: two checked
  frames overlap, and the transport cannot say which one the meter sent.
- Any other reading must be (a) an intact message's reading, (b) a reading of a message that one
  of the last four mutants was made from (a message that survived noise between its frames or a
  duplicated frame), or (c) a reading a fresh decoder gives for a *vouched* mutant alone.
  Vouched are re-framed mutants (every check recomputed: the transport cannot tell them from a
  genuine message, so the decoder may decode them as sent), mutants of a framing without any
  check (a bare plaintext APDU) and raw mutants in which a frame passing its check appears that
  is in none of their source messages (an M-Bus sum or BCC collision). Readings under (c) are
  printed as "vouched mutant readings", not failures. Anything else is a wrong reading.

Exit status: 1 when any exception, wrong reading or lost resync occurred, else 0. With
--mutants and --seed the run is deterministic (except CPU times); --seconds bounds wall time.
"""

from __future__ import annotations

import argparse
from collections import Counter
from dataclasses import dataclass, field
import multiprocessing
from pathlib import Path
import random
import resource
import sys
import time
import tracemalloc
from typing import Any

from .fuzz_corpus import Stream, capture_streams, encoded_streams
from .fuzz_findings import Findings
from .fuzz_guard import GC_CLOCK, install_cpu_guard
from .fuzz_judge import MAX_UNITS, SLOW_FEED_S, StreamRunner
from .fuzz_tally import Tally

DEFAULT_VECTORS = Path(__file__).resolve().parents[1] / ".." / "shared" / "vectors"
_WARM_UP_SHARE = 0.1  # memory is measured from here to the end (imports and caches settle first)


@dataclass(frozen=True, slots=True)
class Job:
    """One worker's share of the campaign."""

    seed: int
    index: int
    mutants: int | None
    seconds: float | None
    profiles: tuple[str, ...]
    vectors: Path | None
    memory_limit_mib: int
    trace_memory: bool
    guard: bool = True  # CPU timer and address-space cap: only in a process of its own
    progress: float = 0.0  # seconds between progress lines on stderr (0: none)


@dataclass(slots=True)
class JobResult:
    """A worker's tally plus its memory figures."""

    tally: Tally
    mutants: int
    streams: list[str]
    rss_growth: int
    traced_growth: int | None
    max_buffered: int
    wall: float
    skipped_vectors: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def select_streams(seed: int, profiles: tuple[str, ...], vectors: Path | None) -> list[Stream]:
    """The streams to fuzz: by profile, stream name or framing when --profile is given."""
    streams = encoded_streams(seed) + capture_streams(vectors)
    if profiles:
        streams = [
            s
            for s in streams
            if any(p in (s.profile, s.name, s.framing) or s.name.startswith(p) for p in profiles)
        ]
    return [s for s in streams if s.messages]


def _rss() -> int:
    with Path("/proc/self/statm").open() as statm:
        return int(statm.read().split()[1]) * resource.getpagesize()


def _limit_memory(mib: int) -> None:
    if mib > 0:
        limit = mib << 20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def run_job(job: Job) -> JobResult:
    """Run one worker's share; call in a process of its own (it sets limits and a CPU timer)."""
    GC_CLOCK.start()
    try:
        return _run_job(job)
    finally:
        GC_CLOCK.stop()


def _run_job(job: Job) -> JobResult:
    if job.guard:
        _limit_memory(job.memory_limit_mib)
        install_cpu_guard()
    began = time.monotonic()
    rng = random.Random(f"{job.seed}:{job.index}")  # noqa: S311  (test inputs, not secrets)
    tally = Tally()
    sink = Findings(tally.findings)
    streams = select_streams(job.seed, job.profiles, job.vectors)
    runners = [StreamRunner(s, random.Random(rng.random()), tally, sink) for s in streams]  # noqa: S311
    if job.trace_memory:
        tracemalloc.start()
    sent = 0
    warm_at = int((job.mutants or 0) * _WARM_UP_SHARE)
    warm_time = began + (job.seconds or 0) * _WARM_UP_SHARE
    rss_start = traced_start = None
    max_buffered = 0
    next_progress = began + job.progress
    while runners:
        if job.mutants is not None and sent >= job.mutants:
            break
        now = time.monotonic()
        if job.seconds is not None and now - began >= job.seconds:
            break
        if rss_start is None and (sent >= warm_at if job.mutants is not None else now >= warm_time):
            rss_start = _rss()
            traced_start = tracemalloc.get_traced_memory()[0] if job.trace_memory else None
        runner = rng.choice(runners)
        units = rng.randint(2, MAX_UNITS)
        sent += runner.run_batch(units, None if job.mutants is None else job.mutants - sent)
        max_buffered = max(max_buffered, runner.decoder.buffered)
        if job.progress and now >= next_progress:
            next_progress = now + job.progress
            _progress(job, sent, tally, rss_start, now - began)
    traced_growth = None
    if job.trace_memory:
        traced_growth = tracemalloc.get_traced_memory()[0] - (traced_start or 0)
        tracemalloc.stop()
    vectors_note = None
    if job.vectors is None or not job.vectors.is_dir():
        vectors_note = f"shared captures not found at {job.vectors}: encoded messages only"
    return JobResult(
        tally=tally,
        mutants=sent,
        streams=[s.name for s in streams],
        rss_growth=_rss() - (rss_start if rss_start is not None else _rss()),
        traced_growth=traced_growth,
        max_buffered=max_buffered,
        wall=time.monotonic() - began,
        skipped_vectors=vectors_note,
    )


def _progress(job: Job, sent: int, tally: Tally, rss_start: int | None, elapsed: float) -> None:
    """One line per job so a long run shows its figures before it ends."""
    growth = _rss() - rss_start if rss_start is not None else 0
    print(
        f"[job {job.index} {elapsed:.0f} s] mutants {sent}, intact {tally.intact},"
        f" exceptions {sum(tally.exceptions.values())}, internal errors {tally.internal_errors},"
        f" slow feeds {tally.slow_feeds}"
        f" (worst {tally.worst_feed_ms:.1f} ms), lost {sum(tally.lost.values())},"
        f" wrong {sum(tally.wrong.values())}, RSS growth {_kib(growth)}",
        file=sys.stderr,
        flush=True,
    )


def _split(total: int | None, jobs: int, index: int) -> int | None:
    if total is None:
        return None
    return total // jobs + (1 if index < total % jobs else 0)


def _kib(value: int) -> str:
    return f"{value / 1024:+.0f} KiB"


def _counts(counter: Counter[str]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(counter.items())) or "-"


def report(results: list[JobResult], seed: int, wall: float) -> tuple[str, bool]:
    """The printed summary and whether the run failed."""
    total = Tally()
    for result in results:
        total.merge(result.tally)
    mutants = sum(r.mutants for r in results)
    exceptions = sum(total.exceptions.values())
    lost = sum(total.lost.values())
    wrong = sum(total.wrong.values())
    traced = [r.traced_growth for r in results if r.traced_growth is not None]
    noise = total.mutants["noise_between"]
    streams = len(results[0].streams) if results else 0
    lines = [
        f"fuzz: seed {seed}, {len(results)} job(s), {wall:.1f} s wall, {streams} streams",
        f"mutants: {mutants} ({_counts(total.mutants)})",
        (
            f"intact messages: {total.intact} ({total.intact_after_mutant} right after a mutant);"
            f" feeds: {total.feeds}, {total.bytes_fed / 1e6:.1f} MB"
        ),
        f"exceptions: {exceptions} ({_counts(total.exceptions)})",
        f"errors caught inside the decoder (stats.internal_errors): {total.internal_errors}",
        (
            f"feeds over {SLOW_FEED_S * 1000:.0f} ms CPU: {total.slow_feeds}"
            f" (worst {total.worst_feed_ms:.1f} ms; garbage collections of the whole process"
            f" left out, longest inside a feed {total.gc_in_feeds_ms:.1f} ms)"
        ),
        (
            f"lost resyncs: {lost} ({_counts(total.lost)}); first message after a mutant missed"
            f" (allowed for apdu/iec): {_counts(total.allowed_late)}; unchecked bare APDU with"
            f" garbage right after it, ending in a number or before any push was learned"
            f" (allowed, undecidable): {_counts(total.cut_off)}; overlapped by a forged frame"
            f" passing its check (allowed, undecidable): {_counts(total.collided)}"
        ),
        f"wrong readings: {wrong} (by the mutant before them: {_counts(total.wrong)})",
        (
            f"vouched mutant readings (not errors): {_counts(total.vouched_readings)};"
            f" stitched from genuine frames: {total.stitched_readings}"
        ),
        (
            f"mutants that gave their source's reading: {_counts(total.source_readings)};"
            f" noise between frames survived: {total.noise_recovered} of {noise}"
        ),
        "memory growth after warm-up: RSS "
        + " / ".join(_kib(r.rss_growth) for r in results)
        + (f"; traced {' / '.join(_kib(t) for t in traced)}" if traced else "")
        + f"; max buffered {max((r.max_buffered for r in results), default=0)} bytes",
    ]
    lines += sorted({r.skipped_vectors for r in results if r.skipped_vectors})
    return "\n".join(lines), bool(exceptions or total.internal_errors or lost or wrong)


def write_findings(path: Path, results: list[JobResult], seed: int) -> int:
    """Append each repro as a markdown entry; return how many."""
    entries = [f for r in results for f in r.tally.findings]
    if not entries:
        return 0
    seen: set[str] = set()
    with path.open("a", encoding="utf-8") as out:
        for entry in entries:
            if entry["signature"] in seen:
                continue
            seen.add(entry["signature"])
            out.write(f"\n## {entry['signature']} (seed {seed}, stream {entry['stream']})\n")
            for name in (
                "profile",
                "key",
                "auth_key",
                "what",
                "note",
                "hex",
                "intact",
                "feeds",
                "chunk",
            ):
                if entry.get(name):
                    out.write(f"- {name}: `{entry[name]}`\n")
    return len(seen)


def run_fuzz(args: argparse.Namespace) -> int:
    """Run the campaign with the parsed options; print the figures."""
    if args.mutants is None and args.seconds is None:
        args.mutants = 20000
    vectors = Path(args.vectors) if args.vectors else DEFAULT_VECTORS.resolve()
    jobs = [
        Job(
            seed=args.seed,
            index=index,
            mutants=_split(args.mutants, args.jobs, index),
            seconds=args.seconds,
            profiles=tuple(args.profile or ()),
            vectors=vectors,
            memory_limit_mib=args.memory_limit,
            trace_memory=args.tracemalloc,
            progress=args.progress,
        )
        for index in range(args.jobs)
    ]
    began = time.monotonic()
    with multiprocessing.get_context("spawn").Pool(len(jobs)) as pool:
        results = pool.map(run_job, jobs)
    text, failed = report(results, args.seed, time.monotonic() - began)
    print(text)
    if args.findings:
        written = write_findings(Path(args.findings), results, args.seed)
        print(f"{written} repro(s) appended to {args.findings}")
    else:
        shown: set[str] = set()
        for entry in (f for r in results for f in r.tally.findings):
            if entry["signature"] not in shown and len(shown) < 10:
                shown.add(entry["signature"])
                print(f"  {entry['signature']}: {entry['what']}  hex {entry['hex'][:160]}")
    return 1 if failed else 0


def add_fuzz_parser(commands: Any) -> None:
    """Register `fuzz` on a command line's subparsers."""
    fuzz = commands.add_parser("fuzz", help="mutation campaign against the decoder")
    budget = fuzz.add_mutually_exclusive_group()
    budget.add_argument("--mutants", type=int, help="stop after this many mutants (default 20000)")
    budget.add_argument("--seconds", type=float, help="stop after this many seconds per job")
    fuzz.add_argument("--seed", type=int, default=1)
    fuzz.add_argument(
        "--profile", action="append", help="only streams of this profile, stream name or framing"
    )
    fuzz.add_argument("--vectors", help=f"shared captures folder (default {DEFAULT_VECTORS})")
    fuzz.add_argument("--jobs", type=int, default=1, help="worker processes")
    fuzz.add_argument("--findings", help="append repros (markdown) to this file")
    fuzz.add_argument(
        "--memory-limit", type=int, default=1536, help="address-space cap per worker, MiB"
    )
    fuzz.add_argument(
        "--tracemalloc", action="store_true", help="also trace Python allocations (slower)"
    )
    fuzz.add_argument(
        "--progress", type=float, default=0.0, help="print figures to stderr every S seconds"
    )
    fuzz.set_defaults(func=run_fuzz)


def main(argv: list[str] | None = None) -> int:
    """`python -m smartmeter_devtools.fuzz`."""
    parser = argparse.ArgumentParser(prog="python -m smartmeter_devtools.fuzz")
    add_fuzz_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["fuzz", *(argv if argv is not None else sys.argv[1:])])
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
