"""Command line: `decode` a capture to JSON lines.

Usage errors exit 2; `decode` exits 0 when it decoded at least one reading, 1 when none. The
development tools (`python -m smartmeter_devtools`) add `bench` and `simulate` to this parser.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
import json
from pathlib import Path
import sys
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .capture import load_capture, read_capture
from .decoder import MeterDecoder
from .keys import KeyFormatError
from .models import Reading
from .profiles import PROFILES

EXIT_OK, EXIT_NO_READING, EXIT_USAGE = 0, 1, 2


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
        data = read_capture(sys.stdin.buffer) if args.file == "-" else load_capture(Path(args.file))
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


def add_decode_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `decode` on a command line's subparsers."""
    decode = commands.add_parser(
        "decode", help="decode a capture (hex text or binary) to JSON lines"
    )
    decode.add_argument("--profile", required=True, choices=sorted(PROFILES))
    decode.add_argument("--key", help="encryption key (GUEK), 32 hex characters")
    decode.add_argument("--auth-key", help="authentication key (GAK), 32 hex characters")
    decode.add_argument("--tz", help="time zone for meter times without offset, e.g. Europe/Zurich")
    decode.add_argument("file", help="capture file, or - for standard input")
    decode.set_defaults(func=_decode)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the decoder's own command line."""
    parser = argparse.ArgumentParser(
        prog="python -m smartmeter_dlms",
        description="Decode DLMS/COSEM smart meter push data.",
    )
    add_decode_parser(parser.add_subparsers(dest="command", required=True))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    result: int = args.func(args)
    return result
