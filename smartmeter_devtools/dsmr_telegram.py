"""A Dutch DSMR 5 P1 port on a pseudo-terminal, for the benchmark against Home Assistant's `dsmr`.

The same simulated household as our own meters drives the values, so both integrations see the
same load: powers change every telegram, energy registers count in 1 Wh steps. The telegram
layout follows the DSMR 5.0.2 P1 companion standard (clause 6.12: text lines between "/" and
"!", then a CRC16 over everything from "/" to "!" inclusive, 4 upper-case hex digits).
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path
import signal
import threading
import time
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from .load_model import Household
from .simulator import PtyLink

if TYPE_CHECKING:
    from types import FrameType

    from .load_model import Snapshot

EQUIPMENT_ID = "4530303434303037313331363530363137"  # hex of an E0044007131650617-like id
GAS_ID = "4730303339303031363532303530323136"
_ZONE = ZoneInfo("Europe/Amsterdam")


def crc16(data: bytes) -> int:
    """CRC-16/ARC (polynomial 0x8005 reflected, initial 0): DSMR 5.0.2 clause 6.12."""
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def _stamp(moment: datetime) -> str:
    local = moment.astimezone(_ZONE)
    return local.strftime("%y%m%d%H%M%S") + ("S" if local.dst() else "W")


def telegram(snapshot: Snapshot) -> bytes:
    """One DSMR 5 telegram of what the household's meter measures at the snapshot's time."""
    regs = snapshot.registers
    # DSMR tariff 1 is the low (night) tariff, 2 the normal one; the model's "1" is high.
    lines = [
        "/ISK5\\2M550T-1012",
        "",
        "1-3:0.2.8(50)",
        f"0-0:1.0.0({_stamp(snapshot.time)})",
        f"0-0:96.1.1({EQUIPMENT_ID})",
        f"1-0:1.8.1({regs['1.8.2'] / 1000:010.3f}*kWh)",
        f"1-0:1.8.2({regs['1.8.1'] / 1000:010.3f}*kWh)",
        f"1-0:2.8.1({regs['2.8.2'] / 1000:010.3f}*kWh)",
        f"1-0:2.8.2({regs['2.8.1'] / 1000:010.3f}*kWh)",
        "0-0:96.14.0(0002)",
        f"1-0:1.7.0({regs['1.7.0'] / 1000:06.3f}*kW)",
        f"1-0:2.7.0({regs['2.7.0'] / 1000:06.3f}*kW)",
        "0-0:96.7.21(00004)",
        "0-0:96.7.9(00002)",
        "1-0:99.97.0(0)(0-0:96.7.19)",
        "1-0:32.32.0(00002)",
        "1-0:52.32.0(00002)",
        "1-0:72.32.0(00002)",
        "1-0:32.36.0(00000)",
        "1-0:52.36.0(00000)",
        "1-0:72.36.0(00000)",
        "0-0:96.13.0()",
        *(f"1-0:{c}.7.0({regs[f'{c}.7.0']:05.1f}*V)" for c in ("32", "52", "72")),
        *(f"1-0:{c}.7.0({round(regs[f'{c}.7.0']):03d}*A)" for c in ("31", "51", "71")),
        *(f"1-0:{c}.7.0({regs[f'{c}.7.0'] / 1000:06.3f}*kW)" for c in ("21", "41", "61")),
        *(f"1-0:{c}.7.0({regs[f'{c}.7.0'] / 1000:06.3f}*kW)" for c in ("22", "42", "62")),
        "0-1:24.1.0(003)",
        f"0-1:96.1.0({GAS_ID})",
        f"0-1:24.2.1({_stamp(snapshot.time.replace(second=0))})(01234.567*m3)",
        "!",
    ]
    body = "\r\n".join(lines).encode("ascii")
    return body + f"{crc16(body):04X}\r\n".encode("ascii")


def run(link: Path, interval: float, seed: int, stop: threading.Event) -> int:
    """Push a telegram every `interval` seconds while a reader is attached; returns the count."""
    pty = PtyLink(link)
    household = Household(seed=seed, start=datetime.now(UTC), tz=_ZONE)
    sent = 0
    due = time.monotonic()
    try:
        while not stop.is_set():
            snapshot = household.advance(datetime.now(UTC))
            if pty.reader_attached() and pty.write(telegram(snapshot)):
                sent += 1
            due += interval
            stop.wait(max(0.0, due - time.monotonic()))
    finally:
        pty.close()
    return sent


def main() -> int:
    """`python -m smartmeter_devtools.dsmr_telegram --link PATH [--interval S] [--seed N]`."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--link", type=Path, required=True)
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    stop = threading.Event()

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _stop)
    run(args.link, args.interval, args.seed, stop)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
