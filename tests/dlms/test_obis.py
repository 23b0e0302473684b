"""OBIS keys (IEC 62056-6-1): the text form readings are keyed by, and back to the 6 bytes."""

from __future__ import annotations

import pytest

from custom_components.smartmeter_datacollector.dlms.obis import format_obis, parse_obis


@pytest.mark.parametrize("raw", ["0100010800ff", "0000600100ff", "00012a0000ff", "0101010801ff"])
def test_a_key_parses_back_to_the_code_it_was_formatted_from(raw: str) -> None:
    code = bytes.fromhex(raw)
    assert parse_obis(format_obis(code)) == code


def test_a_billing_period_suffix_sets_f() -> None:
    assert parse_obis("0-1:24.2.1*101") == bytes((0, 1, 24, 2, 1, 101))


@pytest.mark.parametrize(
    "key", ["1.8.0", "C.1.0", "1-0:1.8", "1-0:1.8.0.0", "1-0:256.8.0", "1-x:1.8.0", "", "-"]
)
def test_a_key_of_another_form_is_none(key: str) -> None:
    """IEC 62056-21 readout codes and anything malformed are not 6-byte codes."""
    assert parse_obis(key) is None
