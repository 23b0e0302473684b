"""Command line: `decode` a capture to JSON lines, `bench` the decoder, `simulate` a meter.

Usage errors exit 2; `decode` exits 0 when it decoded at least one reading, 1 when none.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
import json
from pathlib import Path
import string
import sys
from typing import Any, BinaryIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .bench import add_bench_parser
from .decoder import MeterDecoder
from .keys import KeyFormatError
from .models import Reading
from .profiles import PROFILES

EXIT_OK, EXIT_NO_READING, EXIT_USAGE = 0, 1, 2
_HEX_TEXT = frozenset((string.hexdigits + string.whitespace).encode())


def read_capture(source: BinaryIO) -> bytes:
    """Bytes of a capture: hex text (whitespace ignored) or raw binary."""
    data = source.read()
    if data and all(byte in _HEX_TEXT for byte in data):
        text = b"".join(data.split())
        if len(text) % 2 == 0:
            return bytes.fromhex(text.decode())
    return data


def reading_to_json(reading: Reading) -> dict[str, Any]:
    """The JSON object `decode` prints for one reading."""
    timestamp = reading.timestamp
    return {
        "meter_id": reading.meter_id,
        "timestamp": (
            timestamp.isoformat(timespec="milliseconds" if timestamp.microsecond else "seconds")
            if timestamp
            else None
        ),
        "values": {key: {"value": m.value, "unit": m.unit} for key, m in reading.values.items()},
    }


def _decode(args: argparse.Namespace) -> int:
    try:
        zone = ZoneInfo(args.tz) if args.tz else None
    except (ZoneInfoNotFoundError, ValueError):
        print(
            f"error: unknown time zone {args.tz!r} (use a name like Europe/Zurich)", file=sys.stderr
        )
        return EXIT_USAGE
    try:
        decoder = MeterDecoder(args.profile, key=args.key, auth_key=args.auth_key, tz=zone)
    except KeyFormatError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE
    try:
        if args.file == "-":
            data = read_capture(sys.stdin.buffer)
        else:
            with Path(args.file).open("rb") as source:
                data = read_capture(source)
    except OSError as err:
        print(f"error: cannot read {args.file}: {err.strerror or err}", file=sys.stderr)
        return EXIT_USAGE
    readings = decoder.feed(data)
    for reading in readings:
        print(json.dumps(reading_to_json(reading), ensure_ascii=False))
    if not readings:
        counters = ", ".join(f"{k} {v}" for k, v in decoder.stats.as_dict().items() if v)
        print(f"no reading decoded ({counters or 'no input'})", file=sys.stderr)
        return EXIT_NO_READING
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="python -m custom_components.smartmeter_datacollector.dlms",
        description="Decode DLMS/COSEM smart meter push data.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    decode = commands.add_parser(
        "decode", help="decode a capture (hex text or binary) to JSON lines"
    )
    decode.add_argument("--profile", required=True, choices=sorted(PROFILES))
    decode.add_argument("--key", help="encryption key (GUEK), 32 hex characters")
    decode.add_argument("--auth-key", help="authentication key (GAK), 32 hex characters")
    decode.add_argument("--tz", help="time zone for meter times without offset, e.g. Europe/Zurich")
    decode.add_argument("file", help="capture file, or - for standard input")
    decode.set_defaults(func=_decode)
    add_bench_parser(commands)
    try:
        from .simulate_cli import add_parser as add_simulate_parser  # noqa: PLC0415
    except ImportError:  # pragma: no cover - the simulator is optional for decoding
        pass
    else:
        add_simulate_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    result: int = args.func(args)
    return result
