"""Detection on bytes: each simulated meter type is recognised from what it pushes."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from custom_components.smartmeter_datacollector.dlms import PROFILES
from custom_components.smartmeter_datacollector.dlms.detect import (
    PUSH_LINE_SETTINGS,
    detect,
    framing_of,
    system_title_maker,
)
from smartmeter_devtools.load_model import Household
from smartmeter_devtools.push_encode import MeterEncoder

TZ = ZoneInfo("Europe/Zurich")
START = datetime(2025, 1, 31, 12, 0, tzinfo=TZ)
KEY = bytes(range(16))
PUSH_PROFILES = [name for name, p in PROFILES.items() if p.framing != "iec62056-21"]


def _pushes(profile: str, key: bytes | None = None, count: int = 2) -> bytes:
    encoder = MeterEncoder(profile, tz=TZ, seed=1, key=key)
    household = Household(seed=1, start=START, tz=TZ)
    return b"".join(b"".join(encoder.encode(household.advance(START)).frames) for _ in range(count))


@pytest.mark.parametrize("profile", PUSH_PROFILES)
def test_each_push_meter_is_recognised_with_its_line_settings(profile: str) -> None:
    expected = PROFILES[profile]
    found = detect(_pushes(profile), expected.serial)

    assert found is not None
    assert found.profile.name == profile
    assert found.profile.serial == expected.serial
    assert not found.encrypted
    assert found.meter_id is not None


@pytest.mark.parametrize("profile", PUSH_PROFILES)
def test_encrypted_meter_is_named_and_its_key_checked_on_the_same_bytes(profile: str) -> None:
    data = _pushes(profile, KEY)
    settings = PROFILES[profile].serial

    locked = detect(data, settings)
    assert locked is not None
    assert locked.encrypted
    assert locked.reading is None
    assert locked.meter_id is None
    assert locked.stats.key_required > 0

    opened = detect(data, settings, key=KEY.hex())
    assert opened is not None
    assert opened.profile.name == profile
    assert opened.reading is not None


def test_noise_and_silence_are_no_meter() -> None:
    assert detect(b"", PUSH_LINE_SETTINGS[0]) is None
    assert detect(bytes(300), PUSH_LINE_SETTINGS[0]) is None
    assert framing_of(bytes(300)) is None


def test_framing_and_maker_come_from_the_bytes() -> None:
    assert framing_of(_pushes("lge450")) == "hdlc"
    assert framing_of(_pushes("kaifa_mbus")) == "mbus"
    assert system_title_maker(_pushes("kamstrup_han", KEY)) == "KAM"
    # A ciphering tag followed by something that is no FLAG id is skipped.
    assert system_title_maker(b"\xdb\x08\x00\x01\x02" + b"\xdb\x08ISK12345") == "ISK"
    assert system_title_maker(b"\xdb\x08abc") is None


def test_a_generic_meter_keeps_the_line_it_was_heard_at() -> None:
    heard_at = PUSH_LINE_SETTINGS[1]  # 2400 8N1, where the generic type says 8E1
    found = detect(_pushes("generic"), heard_at)

    assert found is not None
    assert found.profile.name == "generic"
    assert found.profile.serial == heard_at


@pytest.mark.parametrize("key", [None, KEY], ids=["plain", "ciphered"])
def test_an_e450_heard_between_its_channel_pushes_is_an_e450(key: bytes | None) -> None:
    """Issue 9: the channels' push (0-11:25.9.0) names the gas meter; the E450 is judged on its own."""
    encoder = MeterEncoder("lge450", tz=TZ, seed=1, key=key, channel_every=2)
    household = Household(seed=1, start=START, tz=TZ)
    own, channels = (encoder.encode(household.advance(START)).data for _ in range(2))
    hex_key = key.hex() if key else None

    found = detect(own + channels, PROFILES["lge450"].serial, hex_key)
    alone = detect(channels, PROFILES["lge450"].serial, hex_key)

    assert found is not None
    assert (found.profile.name, found.manufacturer) == ("lge450", "LGZ")
    assert found.meter_id == encoder.meter_id
    # The channels' push alone carries no id of the meter's own: only a system title names it.
    assert alone is not None
    assert alone.reading is not None
    assert alone.meter_id == (encoder.system_title.hex() if key else None)
