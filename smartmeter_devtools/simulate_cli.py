"""The `simulate` subcommand: a simulated meter on a pseudo-terminal for development and tests."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
import signal
import sys
import threading
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ._decoder import PROFILES, KeyFormatError, parse_key
from .simulator import Simulator, SimulatorConfig

if TYPE_CHECKING:
    import argparse
    from datetime import tzinfo
    from types import FrameType


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `simulate` on the CLI's subparsers."""
    parser = subparsers.add_parser(
        "simulate",
        help="pretend to be a meter on a pseudo-terminal",
        description=(
            "Create a pseudo-terminal, link its device at --link and write messages the way "
            "the chosen meter does (framing, block transfer or segmentation, push list, "
            "optional encryption). Values evolve like a household's; Ctrl-C stops."
        ),
    )
    parser.add_argument("--profile", choices=sorted(PROFILES), default="lge450")
    parser.add_argument("--key", help="encryption key (32 hex digits): cipher with SC 0x20")
    parser.add_argument(
        "--auth-key", help="authentication key (32 hex digits): SC 0x30 with a GCM tag"
    )
    parser.add_argument(
        "--interval",
        type=float,
        help="seconds between pushes (default: the profile's push interval)",
    )
    parser.add_argument("--link", required=True, type=Path, help="path of the port symlink")
    parser.add_argument(
        "--replay", type=Path, help="loop this capture (hex text or raw bytes) instead"
    )
    parser.add_argument(
        "--count", type=int, default=0, help="stop after N messages reached a reader (0: never)"
    )
    parser.add_argument("--seed", type=int, default=1, help="meter identity and load pattern")
    parser.add_argument(
        "--tz", help="IANA time zone of the meter's clock (default: this machine's)"
    )
    parser.add_argument(
        "--solar-peak",
        type=float,
        default=3000.0,
        help="peak watts of a simulated rooftop PV system (0: none)",
    )
    parser.add_argument(
        "--line-check",
        action="store_true",
        help="send noise to a reader whose baud rate is not the meter's, as a real line does",
    )
    parser.add_argument(
        "--state",
        type=Path,
        help="keep the energy counters in this file, so a restart continues them",
    )
    parser.add_argument(
        "--channel-every",
        type=int,
        default=0,
        help="every N-th push carries the M-Bus channels alone, as a real E450 does (lge450)",
    )
    parser.add_argument(
        "--usb-latency",
        type=float,
        default=0.0,
        help="hand each push over in pieces at the line speed, one every this many seconds, "
        "as a USB serial adapter does (0.016 for FTDI's default)",
    )
    parser.set_defaults(func=run)


def _zone(name: str | None) -> tzinfo:
    if name is None:
        local = datetime.now().astimezone().tzinfo
        if local is None:  # pragma: no cover - astimezone() always sets one
            raise ValueError("no local time zone")
        return local
    return ZoneInfo(name)


def _config(args: argparse.Namespace) -> SimulatorConfig:
    """Validate the arguments; ValueError carries the message for the user."""
    if args.auth_key and not args.key:
        raise ValueError("--auth-key needs --key as well")
    if args.interval is not None and args.interval <= 0:
        raise ValueError("--interval must be positive")
    if args.count < 0:
        raise ValueError("--count must be 0 or more")
    if args.channel_every < 0 or (args.channel_every and args.profile != "lge450"):
        raise ValueError("--channel-every needs --profile lge450 and N >= 0")
    if args.replay is not None and not args.replay.is_file():
        raise ValueError(f"cannot read {args.replay}")
    try:
        tz = _zone(args.tz)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise ValueError(f"unknown time zone {args.tz!r}") from err
    profile = PROFILES[args.profile]
    return SimulatorConfig(
        profile=args.profile,
        link=args.link,
        interval=args.interval or profile.push_interval,
        tz=tz,
        key=parse_key(args.key) if args.key else None,
        auth_key=parse_key(args.auth_key) if args.auth_key else None,
        replay=args.replay,
        count=args.count,
        seed=args.seed,
        solar_peak_w=max(0.0, args.solar_peak),
        state=args.state,
        line_baudrate=profile.serial.baudrate if args.line_check else None,
        channel_every=args.channel_every,
        usb_latency=max(0.0, args.usb_latency),
    )


def run(args: argparse.Namespace) -> int:
    """Run the simulator until Ctrl-C/SIGTERM or --count; exit 0, or 2 on bad arguments."""
    try:
        config = _config(args)
    except (KeyFormatError, ValueError) as err:
        sys.stderr.write(f"simulate: {err}\n")
        return 2
    stop = threading.Event()

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        try:
            simulator = Simulator(config, stop)
        except OSError as err:
            sys.stderr.write(f"simulate: cannot create {config.link}: {err}\n")
            return 2
        security = "SC 0x30" if config.auth_key else "SC 0x20" if config.key else "no encryption"
        what = f"replaying {config.replay}" if config.replay else f"{security}"
        pace = (
            "answering IEC 62056-21 readout requests"
            if config.profile == "siemens_td3511"
            else f"every {config.interval:g} s"
        )
        sys.stderr.write(
            f"simulate: {config.profile} ({what}) on {config.link} -> {simulator.link.device}, "
            f"{pace}; Ctrl-C stops\n"
        )
        sys.stderr.flush()
        delivered = simulator.run()
        sys.stderr.write(f"simulate: stopped after {delivered} messages\n")
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0
