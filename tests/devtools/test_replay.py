"""Captures cut into the messages a meter sent, for the simulator's --replay."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from smartmeter_devtools.load_model import Household
from smartmeter_devtools.push_encode import MeterEncoder
from smartmeter_devtools.replay import (
    readout_from_capture,
    split_datasets,
    split_messages,
)

TZ = ZoneInfo("Europe/Zurich")


def test_split_messages_groups_frames_as_the_meter_sent_them():
    start = datetime(2025, 7, 1, 12, 0, tzinfo=TZ)
    messages = []
    for profile in ("lge450", "iskraam550", "kaifa_mbus", "lge360"):
        household = Household(seed=2, start=start, tz=TZ)
        encoder = MeterEncoder(profile, tz=TZ, seed=2)
        messages += [encoder.encode(household.advance(start)).data for _ in range(2)]
    assert split_messages(b"".join(messages)) == messages
    # A message cut short (blocks 1 and 2 only) ends where the next block 1 starts.
    lge = MeterEncoder("lge450", tz=TZ, seed=2).encode(
        Household(seed=2, start=start, tz=TZ).advance(start)
    )
    cut = b"".join(lge.frames[:2])
    assert split_messages(cut + lge.data) == [cut, lge.data]
    # Stray bytes stay in the stream; a GBT block 1 still starts its own message.
    assert split_messages(b"\x01\x02" + lge.data) == [b"\x01\x02", lge.data]


def test_readout_captures_get_their_block_framing():
    block = readout_from_capture(b"0.0.0(1)\r\n1.8.0(1.000*kWh)\r\n!\r\n")
    assert block[0] == 0x02
    assert block[-2] == 0x03
    assert readout_from_capture(block) == block


def test_captured_readouts_split_into_their_two_datasets():
    block = readout_from_capture(
        b"0.0.0(1)\r\n1.8.0(1.000*kWh)\r\n1.7.0(0.1*kW)\r\n14.7(50.0*Hz)\r\n!\r\n"
    )
    assert split_datasets(block) == {
        "F001": ["0.0.0(1)", "1.8.0(1.000*kWh)"],
        "F009": ["1.7.0(0.1*kW)", "14.7(50.0*Hz)"],
    }
