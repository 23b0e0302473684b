"""Diagnostics a user can attach to a bug report: useful, and without their keys."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from homeassistant.config_entries import ConfigEntryState
from meter_helpers import load_vector, mock_entry, push, setup_entry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from syrupy.filters import props

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant
    from meter_helpers import PtyPort
    from pytest_homeassistant_custom_component.common import MockConfigEntry
    from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
    from syrupy.assertion import SnapshotAssertion


async def test_diagnostics_show_the_decoder_and_hide_the_keys(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    pty_port: PtyPort,
    snapshot: SnapshotAssertion,
) -> None:
    vector = load_vector("lge450-esphome-1-enc-auth")
    entry = mock_entry(vector, port=pty_port.path, unique_id="meter", title="Meter")
    await setup_entry(hass, entry)
    await push(hass, entry, pty_port, vector.data)

    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)

    # Neither key appears anywhere, in any spelling.
    dump = json.dumps(diagnostics).lower()
    for key in (vector.meta["key"], vector.meta["auth_key"]):
        assert key.lower() not in dump
    assert diagnostics["entry"]["data"]["key"] == "**REDACTED**"
    assert diagnostics["entry"]["data"]["auth_key"] == "**REDACTED**"
    # The raw frames are what came off the wire (ciphertext), for a maintainer to replay.
    assert (
        diagnostics["recent_frames"]
        == [frame.hex() for frame in vector.frames][-len(diagnostics["recent_frames"]) :]
    )
    assert diagnostics["decoder"]["readings"] == 1
    values = diagnostics["last_reading"]["values"]
    assert {key: v["value"] for key, v in values.items()} == {
        key: v["value"] for key, v in vector.meta["values"].items()
    }
    # The structure is snapshotted; capture bytes, values and the temporary port path are not.
    assert diagnostics == snapshot(
        exclude=props(
            "recent_frames", "values", "timestamp", "system_title", "port", "last_reading_at"
        )
    )


async def test_diagnostics_of_a_meter_that_never_came_up(
    hass: HomeAssistant, hass_client: ClientSessionGenerator
) -> None:
    """An entry retrying setup (adapter missing) is exactly when a user asks for diagnostics."""
    entry = mock_entry(
        port="/dev/serial/by-id/usb-no-such-adapter-if00-port0",
        profile="lge450",
        key="00112233445566778899AABBCCDDEEFF",
    )
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.SETUP_RETRY

    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)

    assert diagnostics["entry"]["state"] == "setup_retry"
    assert "No such file or directory" in diagnostics["entry"]["reason"]
    assert diagnostics["entry"]["data"]["key"] == "**REDACTED**"
    assert diagnostics["profile"]["name"] == "lge450"
    assert "decoder" not in diagnostics


async def test_diagnostics_of_a_running_meter(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    init_integration: MockConfigEntry,
    snapshot: SnapshotAssertion,
) -> None:
    """The whole dump of a simulated meter after one push (only the temporary port varies)."""
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, init_integration)

    assert diagnostics == snapshot(exclude=props("port", "last_reading_at"))
