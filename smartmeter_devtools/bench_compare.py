"""`bench_compare`: our decoder's steady state next to smartmeter-datacollector and amshan.

Each tool gets one long-lived decoder per capture and the capture's frames fed back to back,
one serial read per frame, as a meter would send them; what is timed is everything from the
bytes to the tool's values (our Reading, the seed's MeterDataBundle, amshan's dict). The other
tools are never requirements of this project: give the interpreter of a throwaway venv that has
them (`--other-python`), and each tool runs in its own process, in alternating rounds, so all
share the same machine load. A tool that is not importable, or that decodes nothing of a
capture, is reported as such. This file must run as a plain script with only the standard
library at import time: the worker processes of the other tools import it that way.

    python -m smartmeter_devtools.bench_compare ../shared/vectors --other-python /tmp/cmpvenv/bin/python
"""

from __future__ import annotations

import argparse
import json
import logging
import os
from pathlib import Path
import statistics
import subprocess
import sys
import time
from typing import Any

TOOLS = ("ours", "seed", "amshan")
# Which meters each tool was written for: the seed for L+G/Iskra, amshan for Nordic HAN lists.
_FOR_TOOL = {
    "seed": ("lge", "iskra"),
    "amshan": ("aidon", "kaifa-ma304", "kamstrup-no"),
}
_REPO = Path(__file__).resolve().parents[1]


def _captures(folder: Path) -> list[tuple[str, list[bytes], dict[str, Any]]]:
    captures = []
    for sidecar in sorted(folder.glob("*.json")):
        hexfile = sidecar.with_suffix(".hex")
        meta = json.loads(sidecar.read_text())
        if not hexfile.exists() or not meta.get("readings"):
            continue
        frames = [bytes.fromhex(line) for line in hexfile.read_text().split()]
        captures.append((sidecar.stem, frames, meta))
    return captures


def _ours(meta: dict[str, Any]) -> Any:
    sys.path.insert(0, str(_REPO))
    from smartmeter_devtools._decoder import MeterDecoder  # noqa: PLC0415  # worker only

    decoder = MeterDecoder(meta["profile"], key=meta.get("key"), auth_key=meta.get("auth_key"))

    def feed(frame: bytes) -> int:
        return len(decoder.feed(frame))

    return feed


def _seed(meta: dict[str, Any]) -> Any:
    from smartmeter_datacollector.smartmeter.cosem import Cosem  # type: ignore[import-not-found]  # noqa: PLC0415
    from smartmeter_datacollector.smartmeter.hdlc_dlms_parser import (  # type: ignore[import-not-found]  # noqa: PLC0415
        HdlcDlmsParser,
    )

    parser = HdlcDlmsParser(Cosem(fallback_id="bench"), meta.get("key"))

    def feed(frame: bytes) -> int:
        # What SerialHdlcDlmsMeter._data_received does with each read.
        parser.append_to_hdlc_buffer(frame)
        if not parser.extract_data_from_hdlc_frames():
            return 0
        message_time = parser.extract_message_time()
        objects = parser.parse_to_dlms_objects()
        if not objects:
            return 0
        bundle = parser.convert_dlms_bundle_to_reader_data(objects, message_time)
        return 1 if bundle else 0

    return feed


def _amshan(meta: dict[str, Any]) -> Any:
    del meta
    from han.autodecoder import AutoDecoder  # type: ignore[import-not-found]  # noqa: PLC0415
    from han.hdlc import HdlcFrameReader  # type: ignore[import-not-found]  # noqa: PLC0415

    reader = HdlcFrameReader(use_octet_stuffing=False, use_abort_sequence=False)
    decoder = AutoDecoder()

    def feed(frame: bytes) -> int:
        # What amshan-homeassistant does with each read: frames, then the payload decoder.
        count = 0
        for hdlc in reader.read(frame):
            if hdlc.is_good_ffc and hdlc.is_expected_length and decoder.decode_message(hdlc):
                count += 1
        return count

    return feed


_MAKERS = {"ours": _ours, "seed": _seed, "amshan": _amshan}


def _measure(tool: str, folder: Path, passes: int) -> dict[str, Any]:
    """Per capture: median and p99 ms per message over `passes` feeds of one decoder."""
    results: dict[str, Any] = {}
    for name, frames, meta in _captures(folder):
        wanted = _FOR_TOOL.get(tool)
        if wanted is not None and not name.startswith(wanted):
            continue
        try:
            feed = _MAKERS[tool](meta)
        except ImportError as err:
            return {"error": f"{tool} is not importable here: {err}"}
        samples = []
        decoded = 0
        try:
            for index in range(passes + 5):
                start = time.perf_counter()
                messages = sum(feed(frame) for frame in frames)
                elapsed = time.perf_counter() - start
                if index >= 5 and messages:  # the first passes warm caches up
                    samples.append(elapsed * 1000 / messages)
                    decoded += messages
        except Exception as err:  # noqa: BLE001  # another tool's failure is a result
            results[name] = {"error": f"{type(err).__name__}: {err}"}
            continue
        if not samples:
            results[name] = {"error": "decoded nothing"}
            continue
        ordered = sorted(samples)
        results[name] = {
            "median": statistics.median(ordered),
            "p99": ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))],
            "messages": decoded,
        }
    return results


def _run_worker(python: str, tool: str, folder: Path, passes: int) -> dict[str, Any]:
    command = [python, str(Path(__file__).resolve()), "--worker", tool, str(folder)]
    command += ["--passes", str(passes)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr else "failed"}
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _combine(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """Per capture, the median over rounds of each round's median (noise on a busy machine)."""
    combined: dict[str, Any] = {}
    names = {name for result in rounds for name in result if name != "error"}
    for name in sorted(names):
        good = [r[name] for r in rounds if "median" in r.get(name, {})]
        if not good:
            combined[name] = next(r[name] for r in rounds if name in r)
            continue
        combined[name] = {
            "median": statistics.median(g["median"] for g in good),
            "p99": statistics.median(g["p99"] for g in good),
        }
    return combined


def _report(results: dict[str, dict[str, Any]]) -> None:
    ours = results["ours"]
    for tool in TOOLS:
        if "error" in results[tool]:
            print(f"{tool}: {results[tool]['error']}")
    print(
        f"{'capture':30s} {'ours ms (p99)':>16s} {'msg/s':>8s} {'other':>6s} {'ms':>7s} {'ratio':>6s}"
    )
    for name in sorted(ours):
        mine = ours[name]
        if "median" not in mine:
            print(f"{name:30s} ours: {mine.get('error')}")
            continue
        line = f"{name:30s} {mine['median']:7.3f} ({mine['p99']:6.3f}) {1000 / mine['median']:8.0f}"
        others = [(t, results[t].get(name)) for t in ("seed", "amshan") if name in results[t]]
        if not others:
            print(line)
        for tool, theirs in others:
            if theirs and "median" in theirs:
                ratio = theirs["median"] / mine["median"]
                print(f"{line} {tool:>6s} {theirs['median']:7.3f} {ratio:5.1f}x")
            else:
                print(f"{line} {tool:>6s} {(theirs or {}).get('error', 'n/a')}")


def main(argv: list[str] | None = None) -> int:
    """Compare (driver) or measure one tool and print JSON (worker)."""
    parser = argparse.ArgumentParser(prog="bench_compare", description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="folder of <stem>.hex captures with sidecars")
    parser.add_argument("--passes", type=int, default=200, help="feeds of each capture per round")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per tool")
    parser.add_argument("--other-python", help="interpreter that has the other tools installed")
    parser.add_argument("--worker", choices=TOOLS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    logging.disable(logging.WARNING)  # the seed logs every message it cannot use
    if args.worker:
        # gurux prints "Encryption is applied." per message: keep stdout for the result.
        real_stdout = sys.stdout
        with Path(os.devnull).open("w") as sink:
            sys.stdout = sink
            try:
                measured = _measure(args.worker, args.folder, args.passes)
            finally:
                sys.stdout = real_stdout
        print(json.dumps(measured))
        return 0
    pythons = {"ours": sys.executable}
    for tool in ("seed", "amshan"):
        pythons[tool] = args.other_python or sys.executable
    rounds: dict[str, list[dict[str, Any]]] = {tool: [] for tool in TOOLS}
    for _ in range(args.rounds):
        for tool in TOOLS:
            rounds[tool].append(_run_worker(pythons[tool], tool, args.folder, args.passes))
    results = {}
    for tool in TOOLS:
        errors = [r["error"] for r in rounds[tool] if "error" in r]
        results[tool] = {"error": errors[0]} if errors else _combine(rounds[tool])
    print(f"steady state per message, median of {args.rounds} alternating rounds")
    _report(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
