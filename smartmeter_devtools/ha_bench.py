"""What a meter costs a running Home Assistant: CPU per push, recorder rows, database growth.

Runs several Home Assistant processes side by side from the test venv (`hass --skip-pip`,
offline, recorder on SQLite), each with its own simulated meter on a pty, all measured over the
same windows so that a busy machine slows every case alike:

- `idle`: Home Assistant with the recorder and no meter (what every other case subtracts),
- this integration with given options (an E450 push list by default),
- core `dsmr` with a DSMR 5 telegram from the same simulated household,
- `floor`: no Home Assistant, only the integration's serialx stream and decoder reading the same
  simulated meter in a plain asyncio loop (`ha_bench_floor`), and `no_sensors`: this
  integration with its sensors disabled. With `default` they split a push's cost into reading
  and decoding, Home Assistant and the coordinator, and the sensors with the recorder.

CPU is the process's user+system time (all threads, the recorder's included, from /proc) minus
the idle process's over the same window, divided by the pushes the simulators sent in it; "loop
ms" is the main thread's share (the event loop, where the whole per-push path runs), without the
recorder's and the executor's threads. Rows are the recorder's `states` rows of sensors whose
`last_updated` falls in the window; database growth is the change in used pages (page_count -
freelist_count), which the WAL file does not distort. The `usb` cases hand each push over as a
USB serial adapter does (2400 Bd, a piece every 16 ms, a push every 5 s).

    python -m smartmeter_devtools.ha_bench --window 300 --rounds 2
    python -m smartmeter_devtools.ha_bench --cases default,every_push --integration-root PATH
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from datetime import UTC
import json
import os
from pathlib import Path
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

from .ha_bench_config import CASES, DOMAIN, PORT_LINK, CaseSpec, prepare
from .ha_bench_probe import (
    RECORDER_DB,
    cpu_seconds,
    enabled_sensors,
    sensor_rows,
    sensors_writing,
    used_bytes,
)
from .ha_bench_profiled import START as PROFILE_START, STOP as PROFILE_STOP

REPO_ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT_S = 600.0
# The decoder-alone figure at the meters' pace: one push this often.
PUSH_EVERY_S = 1.0
# The recorder commits every 5 s by default; rows of a window are counted this long after it.
COMMIT_SLACK_S = 12.0
# What the floor case creates once it decoded a reading (in its folder).
FLOOR_READY = "floor-ready"
SECONDS_PER_DAY = 86400.0


@dataclass(slots=True)
class Running:
    """A started case: its Home Assistant, its simulator and where they keep things."""

    spec: CaseSpec
    config: Path
    hass: subprocess.Popen[bytes]
    simulator: subprocess.Popen[bytes] | None
    profiled: bool = False

    @property
    def db(self) -> Path:
        """The recorder's SQLite file."""
        return self.config / RECORDER_DB


def _start(spec: CaseSpec, config: Path, args: argparse.Namespace) -> Running:
    python = sys.executable
    link = config / PORT_LINK
    simulator = None
    if spec.kind in {"ours", "floor"}:
        simulator = subprocess.Popen(  # noqa: S603  (our own interpreter and module)
            [
                python,
                "-m",
                args.simulator_module,
                "simulate",
                "--profile",
                "lge450",
                "--link",
                str(link),
                "--interval",
                str(spec.interval),
                "--tz",
                args.time_zone,
                *(["--usb-latency", str(spec.usb_latency)] if spec.usb_latency else []),
            ],
            cwd=args.simulator_cwd,
            stderr=(config / "simulator.log").open("wb"),
            start_new_session=True,
        )
    elif spec.kind == "dsmr":
        simulator = subprocess.Popen(  # noqa: S603
            [
                python,
                "-m",
                "smartmeter_devtools.dsmr_telegram",
                "--link",
                str(link),
                "--interval",
                str(spec.interval),
            ],
            cwd=REPO_ROOT,
            stderr=(config / "simulator.log").open("wb"),
            start_new_session=True,
        )
    if simulator is not None:
        deadline = time.monotonic() + 60
        while not link.is_symlink():
            if simulator.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"{spec.name}: the simulator did not start, see {config}")
            time.sleep(0.1)
    if spec.kind == "floor":
        floor = ["smartmeter_devtools.ha_bench_floor", str(link), str(config / FLOOR_READY)]
        command = [python, "-m", *floor, "--tz", args.time_zone]
    else:
        command = [python, "-m", "homeassistant", "-c", str(config), "--skip-pip"]
    profiled = spec.name == args.cprofile and spec.kind != "floor"
    if profiled:
        # Profiled during the windows only (ha_bench_profiled): start-up would bury the pushes.
        command[1:3] = ["-m", "smartmeter_devtools.ha_bench_profiled", str(config / "hass")]
    hass = subprocess.Popen(  # noqa: S603
        command,
        # `python -m` puts the working folder first on sys.path: from the config folder,
        # `custom_components` is the one linked there, not a checkout's own.
        cwd=config,
        stdout=(config / "hass.log").open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return Running(spec, config, hass, simulator, profiled)


def _wait_ready(cases: list[Running]) -> None:
    """Until every case but idle runs (`_ready_message`); a Home Assistant that exits stops it."""
    deadline = time.monotonic() + START_TIMEOUT_S
    waiting = [case for case in cases if case.spec.kind != "idle"]
    while waiting:
        for case in list(waiting):
            if case.hass.poll() is not None:
                raise SystemExit(f"{case.spec.name}: Home Assistant exited, see {case.config}")
            if (ready := _ready_message(case)) is not None:
                waiting.remove(case)
                _say(f"{case.spec.name}: {ready}")
        if not waiting:
            return
        if time.monotonic() > deadline:
            raise SystemExit(f"not ready after {START_TIMEOUT_S:.0f} s: {waiting}")
        time.sleep(2)


def _ready_message(case: Running) -> str | None:
    """What shows that a case runs, or None while nothing does yet."""
    if case.spec.kind == "floor":
        return "readings are being decoded" if (case.config / FLOOR_READY).exists() else None
    if not case.spec.sensors:
        registered = enabled_sensors(case.config, DOMAIN, disabled_too=True)
        return "sensors are registered, disabled" if registered else None
    try:
        recorded = case.db.exists() and sensor_rows(case.db, 0, time.time() + 1) > 0
    except sqlite3.OperationalError:
        return None  # the recorder is still creating its schema
    return "sensors are being recorded" if recorded else None


def _e450_messages(count: int) -> list[bytes]:
    """The simulated E450's pushes, one a second, as the bench's meters send them."""
    from datetime import datetime, timedelta  # noqa: PLC0415  (only the decoder figures)

    from .load_model import Household  # noqa: PLC0415
    from .push_encode import MeterEncoder  # noqa: PLC0415

    start = datetime(2026, 1, 14, 11, 0, tzinfo=UTC)
    household = Household(seed=1, start=start, tz=UTC)
    encoder = MeterEncoder("lge450", tz=UTC, seed=1)
    return [
        encoder.encode(household.advance(start + timedelta(seconds=i))).data for i in range(count)
    ]


def decoder_ms_per_push(messages: int = 2000) -> float:
    """The decoder's own steady-state CPU per push on the same simulated E450 messages.

    What "CPU per push" in Home Assistant is compared with: one decoder, the messages streamed
    back to back after a warm-up, process time (this process is otherwise idle).
    """
    from ._decoder import MeterDecoder  # noqa: PLC0415

    data = _e450_messages(messages)
    decoder = MeterDecoder("lge450", tz=UTC)
    warm = messages // 10
    for message in data[:warm]:
        decoder.feed(message)
    began = time.process_time()
    for message in data[warm:]:
        decoder.feed(message)
    return (time.process_time() - began) * 1000 / (messages - warm)


def paced_decoder_ms_per_push(until: float, warm: int = 20) -> float:
    """The decoder's CPU per push at the meters' pace: one push a second until `until` (wall).

    Between two pushes the machine's other work cools the caches, as it does for Home
    Assistant's process: this is the decoder's share of a push there, streamed it costs less.
    0.0 when the window ends before the first paced push.
    """
    from ._decoder import MeterDecoder  # noqa: PLC0415

    count = max(0, int(until - time.time())) + warm
    data = _e450_messages(count)
    decoder = MeterDecoder("lge450", tz=UTC)
    for message in data[:warm]:
        decoder.feed(message)
    spent, fed = 0.0, 0
    due = time.time() + PUSH_EVERY_S
    for message in data[warm:]:
        if due > until:
            break
        time.sleep(max(0.0, due - time.time()))
        began = time.thread_time()
        decoder.feed(message)
        spent += time.thread_time() - began
        fed += 1
        due += PUSH_EVERY_S
    time.sleep(max(0.0, until - time.time()))
    return spent * 1000 / fed if fed else 0.0


def _signal_profiled(cases: list[Running], signum: signal.Signals) -> None:
    """Start or stop the window profile of the --cprofile case (its CPU includes the profiler)."""
    for case in cases:
        if case.profiled and case.hass.poll() is None:
            os.kill(case.hass.pid, signum)


def _say(message: str) -> None:
    sys.stderr.write(f"==> {message}\n")
    sys.stderr.flush()


def _out(line: str = "") -> None:
    sys.stdout.write(f"{line}\n")


def _measure(
    cases: list[Running], window: float, commit_slack: float, decoder_messages: int
) -> dict[str, dict[str, float]]:
    """One window: CPU, rows and growth per case (idle subtracted from CPU)."""
    _signal_profiled(cases, PROFILE_START)
    start_wall = time.time()
    cpu0 = {case.spec.name: cpu_seconds(case.hass.pid) for case in cases}
    loop0 = {case.spec.name: cpu_seconds(case.hass.pid, main_thread=True) for case in cases}
    used0 = {case.spec.name: used_bytes(case.db) for case in cases}
    # The decoder's own cost under the same machine load, for the ratio the issue asks for.
    decoder_ms = decoder_ms_per_push(decoder_messages)
    paced_ms = paced_decoder_ms_per_push(start_wall + window)
    end_wall = time.time()
    cpu1 = {case.spec.name: cpu_seconds(case.hass.pid) for case in cases}
    loop1 = {case.spec.name: cpu_seconds(case.hass.pid, main_thread=True) for case in cases}
    _signal_profiled(cases, PROFILE_STOP)
    # Rows of the window may still sit in the recorder's queue: wait for a commit or two.
    time.sleep(commit_slack)
    idle_cpu = cpu1.get("idle", 0.0) - cpu0.get("idle", 0.0)
    idle_loop = loop1.get("idle", 0.0) - loop0.get("idle", 0.0)
    results: dict[str, dict[str, float]] = {}
    for case in cases:
        name = case.spec.name
        pushes = window / case.spec.interval
        cpu = cpu1[name] - cpu0[name]
        # The floor runs no Home Assistant: nothing of an idle one to take off, nothing recorded.
        ha = case.spec.kind != "floor"
        base_cpu, base_loop = (idle_cpu, idle_loop) if ha else (0.0, 0.0)
        recorded = case.spec.kind in {"ours", "dsmr"}
        rows = sensor_rows(case.db, start_wall, end_wall) if recorded else 0
        growth = used_bytes(case.db) - used0[name]
        results[name] = {
            "cpu_s": cpu,
            "cpu_ms_per_push": (cpu - base_cpu) * 1000 / pushes if name != "idle" else 0.0,
            # The event loop's thread: the per-push path, without the recorder's thread.
            "loop_ms_per_push": (
                (loop1[name] - loop0[name] - base_loop) * 1000 / pushes if name != "idle" else 0.0
            ),
            "rows": rows,
            "rows_per_push": rows / pushes,
            "rows_per_day": rows / window * SECONDS_PER_DAY,
            "sensors_writing": (sensors_writing(case.db, start_wall, end_wall) if recorded else 0),
            "db_kib_per_hour": growth / 1024 * 3600 / (end_wall - start_wall + commit_slack),
            "decoder_ms_per_push": decoder_ms,
            "paced_decoder_ms_per_push": paced_ms,
        }
    return results


def _print_round(index: int, results: dict[str, dict[str, float]], load: tuple[float, ...]) -> None:
    _out(f"\nround {index}: load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    first = next(iter(results.values()))
    _out(
        f"decoder alone, same E450 messages, same window: {first['decoder_ms_per_push']:.3f} ms "
        f"per push streamed, {first['paced_decoder_ms_per_push']:.3f} ms at 1 push/s"
    )
    _out(
        f"{'case':<14} {'CPU s':>7} {'ms/push':>8} {'loop ms':>8} {'rows/push':>9} "
        f"{'rows/day':>9} {'writing':>7} {'DB KiB/h':>9}"
    )
    for name, r in results.items():
        _out(
            f"{name:<14} {r['cpu_s']:7.2f} {r['cpu_ms_per_push']:8.2f} "
            f"{r['loop_ms_per_push']:8.2f} {r['rows_per_push']:9.3f} "
            f"{r['rows_per_day']:9.0f} {r['sensors_writing']:7.0f} {r['db_kib_per_hour']:9.0f}"
        )
    sys.stdout.flush()


def _print_sensors(cases: list[Running]) -> None:
    _out("\nsensors enabled (entity registry):")
    for case in cases:
        if case.spec.kind in {"ours", "dsmr"}:
            platform = DOMAIN if case.spec.kind == "ours" else case.spec.kind
            enabled = enabled_sensors(case.config, platform)
            _out(f"  {case.spec.name:<14} {enabled:3d}  ({case.spec.note})")


def _stop(cases: list[Running]) -> None:
    for case in cases:
        for process in (case.hass, case.simulator):
            if process is not None and process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
    for case in cases:
        for process in (case.hass, case.simulator):
            if process is None:
                continue
            try:
                process.wait(timeout=120)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--cases",
        default="default,every_push,dsmr_default,dsmr_0",
        help=f"comma-separated, from {', '.join(CASES)} (idle is always added)",
    )
    parser.add_argument(
        "--window",
        type=float,
        default=300.0,
        help="seconds per round; a multiple of 300 sees each 5-minute boundary once per round",
    )
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--warmup", type=float, default=90.0, help="seconds after the first rows before round 1"
    )
    parser.add_argument(
        "--integration-root",
        type=Path,
        default=REPO_ROOT,
        help="checkout whose custom_components/ Home Assistant loads (e.g. an older worktree)",
    )
    parser.add_argument(
        "--baseline-root",
        type=Path,
        help="checkout the base_* cases load (git worktree add /tmp/base <commit>)",
    )
    parser.add_argument(
        "--commit-slack",
        type=float,
        default=COMMIT_SLACK_S,
        help="seconds to wait after a window for the recorder to commit its rows",
    )
    parser.add_argument(
        "--decoder-messages",
        type=int,
        default=2000,
        help="E450 messages the decoder alone is timed on in each window",
    )
    parser.add_argument("--simulator-module", default="smartmeter_devtools")
    parser.add_argument("--simulator-cwd", type=Path, default=REPO_ROOT)
    parser.add_argument("--time-zone", default="Europe/Zurich")
    parser.add_argument("--http-port", type=int, default=18230, help="first case's HTTP port")
    parser.add_argument(
        "--cprofile",
        help="profile this case's Home Assistant in each window (config folder's hass-<round>.prof)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the config folders")
    parser.add_argument("--json", type=Path, help="also write all rounds here")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the cases side by side; print one table per round and a summary."""
    parser = _parser()
    args = parser.parse_args(argv)

    names = ["idle", *(n for n in args.cases.split(",") if n and n != "idle")]
    unknown = [n for n in names if n not in CASES]
    if unknown:
        parser.error(f"unknown cases: {', '.join(unknown)}")
    if args.baseline_root is None and any(CASES[n].baseline for n in names):
        parser.error("the base_* cases need --baseline-root")
    base = Path(tempfile.mkdtemp(prefix="ha-bench-"))
    _say(f"config folders under {base}; integration from {args.integration_root}")
    cases: list[Running] = []
    rounds: list[dict[str, dict[str, float]]] = []
    try:
        for index, name in enumerate(names):
            spec = CASES[name]
            root = args.baseline_root if spec.baseline else args.integration_root
            config = prepare(spec, base, root.resolve(), args.time_zone, args.http_port + index)
            cases.append(_start(spec, config, args))
        _wait_ready(cases)
        _say(f"warming up for {args.warmup:.0f} s")
        time.sleep(args.warmup)
        for index in range(1, args.rounds + 1):
            _say(f"round {index}: measuring {args.window:.0f} s")
            load = os.getloadavg()
            results = _measure(cases, args.window, args.commit_slack, args.decoder_messages)
            rounds.append(results)
            _print_round(index, results, load)
    finally:
        _stop(cases)
    _print_sensors(cases)
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    _out(f"\nmachine: {os.cpu_count()} cores, {memory:.0f} GiB")
    if args.json:
        args.json.write_text(json.dumps(rounds, indent=1))
    if args.keep or args.cprofile:
        _say(f"kept {base}")
    else:
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
