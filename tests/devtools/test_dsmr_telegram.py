"""The DSMR 5 simulator, read by dsmr_parser: the library core `dsmr` decodes P1 telegrams with."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
import os
from pathlib import Path
import select
import threading
from zoneinfo import ZoneInfo

from dsmr_parser import telegram_specifications
from dsmr_parser.exceptions import InvalidChecksumError
from dsmr_parser.objects import Telegram
from dsmr_parser.parsers import TelegramParser
import pytest

from smartmeter_devtools.dsmr_telegram import EQUIPMENT_ID, crc16, run, telegram
from smartmeter_devtools.load_model import Household

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
# Guards against a hung simulator; no test asserts how long anything takes.
GIVE_UP_S = 30.0


def _parse(data: bytes) -> Telegram:
    """What core dsmr does with a telegram: parse it to the DSMR 5 spec, checking its CRC."""
    parsed: Telegram = TelegramParser(telegram_specifications.V5).parse(
        data.decode("ascii"), throw_ex=True
    )
    return parsed


def test_crc_is_crc16_arc() -> None:
    """The check value of CRC-16/ARC: what DSMR 5.0.2 clause 6.12 specifies."""
    assert crc16(b"123456789") == 0xBB3D


@pytest.mark.parametrize(
    ("moment", "suffix"),
    [
        (datetime(2026, 7, 1, 12, 0, 5, tzinfo=UTC), "S"),
        (datetime(2026, 1, 14, 18, 30, 0, tzinfo=UTC), "W"),
    ],
)
def test_telegram_carries_the_household_values(moment: datetime, suffix: str) -> None:
    """Powers in kW, energy in kWh with DSMR's tariff numbering, time in Dutch local time."""
    snapshot = Household(seed=1, start=moment, tz=AMSTERDAM).advance(moment)
    regs = snapshot.registers
    data = telegram(snapshot)

    parsed = _parse(data)

    assert f"({moment.astimezone(AMSTERDAM):%y%m%d%H%M%S}{suffix})".encode() in data
    assert parsed.P1_MESSAGE_TIMESTAMP.value == moment
    assert parsed.EQUIPMENT_IDENTIFIER.value == EQUIPMENT_ID
    # DSMR tariff 1 is the low tariff, the household model's "2".
    assert parsed.ELECTRICITY_USED_TARIFF_1.value == Decimal(f"{regs['1.8.2'] / 1000:.3f}")
    assert parsed.ELECTRICITY_USED_TARIFF_2.value == Decimal(f"{regs['1.8.1'] / 1000:.3f}")
    assert parsed.ELECTRICITY_DELIVERED_TARIFF_1.value == Decimal(f"{regs['2.8.2'] / 1000:.3f}")
    assert parsed.CURRENT_ELECTRICITY_USAGE.value == Decimal(f"{regs['1.7.0'] / 1000:.3f}")
    assert parsed.CURRENT_ELECTRICITY_USAGE.unit == "kW"
    assert parsed.INSTANTANEOUS_VOLTAGE_L1.value == Decimal(f"{regs['32.7.0']:.1f}")


def test_telegram_with_a_bad_crc_is_refused() -> None:
    """A flipped digit fails the CRC: the simulator's CRC is what makes a telegram acceptable."""
    moment = datetime(2026, 7, 1, 12, tzinfo=UTC)
    data = bytearray(telegram(Household(seed=2, start=moment, tz=AMSTERDAM).advance(moment)))
    at = data.index(b"96.1.1(") + 7
    data[at] = ord("5") if data[at] != ord("5") else ord("6")

    with pytest.raises(InvalidChecksumError):
        _parse(bytes(data))


def test_run_pushes_telegrams_to_a_reader_until_stopped(tmp_path: Path) -> None:
    """On the pty, each telegram arrives whole; stopping returns the count and removes the link."""
    link = tmp_path / "ttyDSMR"
    stop = threading.Event()
    sent: list[int] = []
    pusher = threading.Thread(target=lambda: sent.append(run(link, 0.05, 1, stop)))
    pusher.start()
    try:
        while not link.is_symlink():
            assert pusher.is_alive()
            select.select([], [], [], 0.01)
        fd = os.open(link, os.O_RDONLY | os.O_NOCTTY)
        data = b""
        try:
            # Two "!": the first telegram may have been cut by opening mid-write; the second is whole.
            while data.count(b"!") < 2 or not data.endswith(b"\r\n"):
                ready, _, _ = select.select([fd], [], [], GIVE_UP_S)
                assert ready, "the simulator sent nothing"
                data += os.read(fd, 4096)
        finally:
            os.close(fd)
    finally:
        stop.set()
        pusher.join(GIVE_UP_S)

    last = data[data.rindex(b"/ISK5") :]
    assert _parse(last).EQUIPMENT_IDENTIFIER.value == EQUIPMENT_ID
    assert sent[0] >= 1
    assert not link.exists()
