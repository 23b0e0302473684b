"""The IEC 62056-21 mode C session's messages (clause 6.3): commands, baud switch, datasets.

Bytes only, no port: the conversation with a meter over a pty is in
tests/test_connection_iec62056_21.py, where the integration drives it.
"""

from __future__ import annotations

import pytest

from custom_components.smartmeter_datacollector.dlms.iec62056_21 import (
    Iec62056Error,
    bcc,
    command,
    dataset_lines,
    option_select,
    readout_baud_char,
)

SOH, ETX = b"\x01", b"\x03"


def test_commands_carry_the_block_check_character() -> None:
    # The seed's captured request for dataset F001 (hex 01 52 32 02 46 30 30 31 03 16).
    assert command(b"R2", b"F001") == bytes.fromhex("01523202463030310316")
    assert command(b"B0") == SOH + b"B0" + ETX + bytes([bcc(b"B0" + ETX)])
    assert option_select("6") == b"\x06061\r\n"


@pytest.mark.parametrize(
    ("identification", "wanted", "char"),
    [
        (b"/SIE6TD3511\r\n", 19200, "6"),
        (b"/SIE5TD3511\r\n", 19200, "5"),  # meter tops out at 9600: never ask for more
        (b"/SIE6TD3511\r\n", 4800, "4"),
        (b"/SIEATD3511\r\n", 19200, "0"),  # mode A/B letter: stay at 300
    ],
)
def test_baud_switch_never_exceeds_what_the_meter_offers(
    identification: bytes, wanted: int, char: str
) -> None:
    assert readout_baud_char(identification, wanted) == char


@pytest.mark.parametrize("identification", [b"garbage\r\n", b"/SI\r\n"])
def test_an_identification_that_is_not_one_is_a_protocol_error(identification: bytes) -> None:
    with pytest.raises(Iec62056Error):
        readout_baud_char(identification, 19200)


def test_datasets_join_into_one_readout() -> None:
    assert dataset_lines(b"1.8.0(1*kWh)\r\n!\r\n\r\n") == [b"1.8.0(1*kWh)\r\n"]
