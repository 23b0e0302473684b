"""`bench`: decode every capture of a folder repeatedly; print throughput, latency and memory.

Numbers, never assertions: machines are noisy, so compare ratios within one run.
"""

from __future__ import annotations

import argparse
from array import array
from dataclasses import dataclass
import json
from pathlib import Path
import statistics
import sys
import time
import tracemalloc
from typing import Any

from ._decoder import MeterDecoder, load_capture


@dataclass(frozen=True, slots=True)
class Capture:
    """One capture with what its sidecar says about decoding it."""

    name: str
    data: bytes
    profile: str
    key: str | None
    auth_key: str | None
    readings: int


def load_captures(folder: Path) -> list[Capture]:
    """Every `<stem>.hex` with a `<stem>.json` sidecar naming its profile and keys."""
    captures = []
    for sidecar in sorted(folder.glob("*.json")):
        capture = sidecar.with_suffix(".hex")
        if not capture.exists():
            continue
        meta = json.loads(sidecar.read_text())
        captures.append(
            Capture(
                name=sidecar.stem,
                data=load_capture(capture),
                profile=meta["profile"],
                key=meta.get("key"),
                auth_key=meta.get("auth_key"),
                readings=int(meta.get("readings", 0)),
            )
        )
    return captures


def _decoder(capture: Capture, *, fast_path: bool = True) -> MeterDecoder:
    return MeterDecoder(
        capture.profile, key=capture.key, auth_key=capture.auth_key, fast_path=fast_path
    )


def _latencies(
    captures: list[Capture], repeat: int, *, fast_path: bool = True
) -> tuple[list[float], float, int]:
    """Per-message milliseconds over all captures, wall seconds and messages decoded."""
    samples: list[float] = []
    messages = 0
    wall = 0.0
    for capture in captures:
        per_feed = max(capture.readings, 1)
        decoder = _decoder(capture, fast_path=fast_path)
        for _ in range(repeat):
            # A fresh decoder state per pass would measure setup; reuse one and feed the file again.
            start = time.perf_counter()
            decoder.feed(capture.data)
            elapsed = time.perf_counter() - start
            wall += elapsed
            messages += per_feed
            samples.extend([elapsed * 1000 / per_feed] * per_feed)
    return samples, wall, messages


def _memory(capture: Capture, messages: int) -> list[tuple[int, int]]:
    """Traced memory (bytes) after every tenth of `messages` fed into one long-lived decoder."""
    decoder = _decoder(capture)
    step = max(messages // 10, 1)
    # A preallocated C array, so the measurement does not show up in what it measures.
    sizes = array("q", bytes(8 * (messages // step)))
    tracemalloc.start()
    try:
        for done in range(1, messages + 1):
            decoder.feed(capture.data)
            if done % step == 0:
                sizes[done // step - 1] = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    return [((index + 1) * step, size) for index, size in enumerate(sizes)]


def _percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def run_bench(args: argparse.Namespace) -> int:
    """Print the benchmark; exit 2 when the folder holds no captures."""
    captures = load_captures(Path(args.folder))
    if not captures:
        print(f"error: no <stem>.hex + <stem>.json captures in {args.folder}", file=sys.stderr)
        return 2
    samples, wall, messages = _latencies(captures, args.repeat)
    full, full_wall, _ = _latencies(captures, args.repeat, fast_path=False)
    print(f"captures: {len(captures)}, passes: {args.repeat}, messages: {messages}")
    print("steady state: one decoder per capture, its capture fed back to back")
    for label, times, seconds in (
        ("as shipped (fast path)", samples, wall),
        ("full path every message", full, full_wall),
    ):
        print(
            f"  {label:24s} median {statistics.median(times):.3f} ms, "
            f"p99 {_percentile(times, 0.99):.3f} ms, max {max(times):.3f} ms, "
            f"{messages / seconds:,.0f} messages/s"
        )
    if args.per_capture:
        print(f"  {'capture':32s} {'as shipped':>10s} {'msg/s':>8s} {'full path':>10s}")
        for capture in captures:
            one, seconds, count = _latencies([capture], args.repeat)
            slow, _, _ = _latencies([capture], args.repeat, fast_path=False)
            print(
                f"  {capture.name:32s} {statistics.median(one):7.3f} ms {count / seconds:8,.0f} "
                f"{statistics.median(slow):7.3f} ms"
            )
    if args.memory:
        busiest = max(captures, key=lambda c: (c.readings, len(c.data)))
        points = _memory(busiest, args.memory)
        trace = ", ".join(f"{done}: {size / 1024:.1f} KiB" for done, size in points)
        print(f"memory ({busiest.name}, one decoder): {trace}")
    return 0


def add_bench_parser(commands: Any) -> None:
    """Register the `bench` subcommand."""
    bench = commands.add_parser("bench", help="benchmark the decoder on a folder of captures")
    bench.add_argument("folder", help="folder with <stem>.hex captures and <stem>.json sidecars")
    bench.add_argument("--repeat", type=int, default=200, help="passes over each capture")
    bench.add_argument("--per-capture", action="store_true", help="also print each capture")
    bench.add_argument(
        "--memory",
        type=int,
        default=0,
        metavar="N",
        help="feed N messages to one decoder, trace memory",
    )
    bench.set_defaults(func=run_bench)
