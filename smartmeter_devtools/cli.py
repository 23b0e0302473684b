"""The development command line: `decode` (the decoder's own), `bench`, `simulate` and `fuzz`."""

from __future__ import annotations

import argparse
from pathlib import Path
import sys
from typing import TYPE_CHECKING

from ._decoder import add_decode_parser
from .bench import add_bench_parser
from .fuzz import add_fuzz_parser
from .simulate_cli import add_parser as add_simulate_parser

if TYPE_CHECKING:
    from collections.abc import Sequence


def _prog() -> str:
    """The command as the user typed it: the console script's name, or `python -m ...`."""
    name = Path(sys.argv[0]).name
    return "python -m smartmeter_devtools" if name in {"__main__.py", ""} else name


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every development subcommand registered."""
    parser = argparse.ArgumentParser(
        prog=_prog(),
        description="Decode, benchmark and simulate DLMS/COSEM smart meter push data.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    add_decode_parser(commands)
    add_bench_parser(commands)
    add_simulate_parser(commands)
    add_fuzz_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args = build_parser().parse_args(argv)
    result: int = args.func(args)
    return result
