"""The floor under a push's cost in Home Assistant: the integration's read and decode, nothing else.

`ha_bench`'s `floor` case runs this in place of Home Assistant: the same pty, the same serialx
stream (`connection.MeterStream`) and the same decoder as the integration, in a plain asyncio
loop with nothing else on it. What a push costs here, the integration pays before it tells Home
Assistant anything; `no_sensors` adds Home Assistant and the coordinator, `default` the sensors
and the recorder. The bench's "decoder alone" figure leaves out the read (waking up, the
stream, the bytes), which is why the two differ.

    python -m smartmeter_devtools.ha_bench_floor PORT READY_FILE [--tz ZONE]

READY_FILE is created once the first reading is decoded; SIGTERM ends the run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from pathlib import Path
import signal
from zoneinfo import ZoneInfo

from custom_components.smartmeter_datacollector.connection import MeterStream

from ._decoder import PROFILES, MeterDecoder

PROFILE = "lge450"


async def read_and_decode(port: str, ready: Path, tz: ZoneInfo) -> None:
    """Read and decode until cancelled (or the port is lost)."""
    profile = PROFILES[PROFILE]
    decoder = MeterDecoder(profile, tz=tz)
    stream = await MeterStream.open(port, profile)
    loop = asyncio.get_running_loop()
    decoded = False
    try:
        async with contextlib.aclosing(stream.chunks()) as chunks:
            async for chunk in chunks:
                if decoder.feed(chunk, now=loop.time()) and not decoded:
                    await asyncio.to_thread(ready.touch)
                    decoded = True
    finally:
        await stream.close()


def main(argv: list[str] | None = None) -> int:
    """Run until SIGTERM."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("port")
    parser.add_argument("ready", type=Path)
    parser.add_argument("--tz", default="UTC")
    args = parser.parse_args(argv)

    async def run() -> None:
        task = asyncio.create_task(read_and_decode(args.port, args.ready, ZoneInfo(args.tz)))
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await task

    asyncio.run(run())
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
