"""Repair issues: raised when the meter stays silent or cannot be decrypted, fixed, cleared."""

from __future__ import annotations

from datetime import timedelta
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from meter_helpers import load_vector, mock_entry, push, settle, setup_entry
import pytest
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from custom_components.smartmeter_datacollector.const import (
    CONF_AUTH_KEY,
    CONF_KEY,
    CONF_PORT,
    DOMAIN,
)
from custom_components.smartmeter_datacollector.coordinator import (
    DECRYPT_FAILURES_FOR_ISSUE,
    NO_DATA_ISSUE_AFTER,
)
from custom_components.smartmeter_datacollector.issues import (
    ISSUE_DECRYPTION,
    ISSUE_NO_DATA,
    issue_id,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from homeassistant.core import HomeAssistant
    from meter_helpers import PtyPort
    from pytest_homeassistant_custom_component.common import MockConfigEntry
    from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

WRONG_KEY = "00112233445566778899AABBCCDDEEFF"
# Captures are pushed with an 8N1 profile where the test reloads the entry: this sandbox's ptys
# refuse to be opened a second time with parity. The bytes (HDLC) decode the same either way.
REOPENABLE_PROFILE = "lge360"


@pytest.fixture
async def repairs(hass: HomeAssistant, hass_client: ClientSessionGenerator) -> Any:
    """The repairs HTTP API the frontend uses to run fix flows."""
    assert await async_setup_component(hass, "repairs", {})
    return await hass_client()


async def _start_fix(client: Any, issue: str) -> dict[str, Any]:
    response = await client.post(
        "/api/repairs/issues/fix", json={"handler": DOMAIN, "issue_id": issue}
    )
    assert response.status == HTTPStatus.OK
    return await response.json()


async def _submit(client: Any, flow_id: str, data: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(f"/api/repairs/issues/fix/{flow_id}", json=data)
    assert response.status == HTTPStatus.OK
    return await response.json()


def _issue(hass: HomeAssistant, kind: str, entry: MockConfigEntry) -> ir.IssueEntry | None:
    return ir.async_get(hass).async_get_issue(DOMAIN, issue_id(kind, entry.entry_id))


async def _silent_for_ten_minutes(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=NO_DATA_ISSUE_AFTER + 1))
    await settle(hass, lambda: _issue(hass, ISSUE_NO_DATA, entry) is not None)


async def _reconnected(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Let the back-off pass until the coordinator has the port open again."""
    reader = entry.runtime_data.coordinator.reader
    # The watchdog closed the silent port; wait for that before moving the clock on.
    await settle(hass, lambda: not reader.connected)
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=61))
    await settle(hass, lambda: reader.connected)


async def test_silent_meter_raises_an_issue_that_clears_when_data_returns(
    hass: HomeAssistant, pty_port: PtyPort
) -> None:
    vector = load_vector("lge360-cfg2026")
    entry = mock_entry(vector, port=pty_port.path)
    await setup_entry(hass, entry)
    await _silent_for_ten_minutes(hass, entry)

    issue = _issue(hass, ISSUE_NO_DATA, entry)
    assert issue.is_fixable
    assert issue.severity is ir.IssueSeverity.ERROR
    assert issue.translation_placeholders["title"] == entry.title

    await _reconnected(hass, entry)
    await push(hass, entry, pty_port, vector.data)
    assert _issue(hass, ISSUE_NO_DATA, entry) is None


async def test_no_data_fix_flow_keeps_the_port_and_reconnects(
    hass: HomeAssistant, pty_port: PtyPort, repairs: Any
) -> None:
    vector = load_vector("lge360-cfg2026")
    entry = mock_entry(vector, port=pty_port.path)
    await setup_entry(hass, entry)
    await _silent_for_ten_minutes(hass, entry)

    flow = await _start_fix(repairs, issue_id(ISSUE_NO_DATA, entry.entry_id))
    assert flow["type"] == "form"
    assert flow["description_placeholders"]["bytes"] == "0"
    result = await _submit(repairs, flow["flow_id"], {CONF_PORT: pty_port.path})
    assert result["type"] == "create_entry"
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED


async def test_no_data_fix_flow_moves_the_meter_to_another_port(
    hass: HomeAssistant, pty_factory: Callable[[str], PtyPort], repairs: Any
) -> None:
    vector = load_vector("lge360-cfg2026")
    old_port, new_port, other_port = pty_factory("old"), pty_factory("new"), pty_factory("other")
    entry = mock_entry(vector, port=old_port.path)
    await setup_entry(hass, entry)
    other = mock_entry(port=other_port.path, profile="lge360", unique_id="other")
    other.add_to_hass(hass)
    await _silent_for_ten_minutes(hass, entry)
    flow = await _start_fix(repairs, issue_id(ISSUE_NO_DATA, entry.entry_id))

    result = await _submit(repairs, flow["flow_id"], {CONF_PORT: "/dev/serial/by-id/nothing"})
    assert result["errors"] == {CONF_PORT: "cannot_open_port"}
    assert "No such file" in result["description_placeholders"]["reason"]
    result = await _submit(repairs, flow["flow_id"], {CONF_PORT: other_port.path})
    assert result["errors"] == {CONF_PORT: "port_in_use"}
    result = await _submit(repairs, flow["flow_id"], {CONF_PORT: f" {new_port.path} "})
    assert result["type"] == "create_entry"
    await hass.async_block_till_done()

    assert entry.data[CONF_PORT] == new_port.path
    assert entry.state is ConfigEntryState.LOADED
    await push(hass, entry, new_port, vector.data)
    assert _issue(hass, ISSUE_NO_DATA, entry) is None


async def _undecryptable(hass: HomeAssistant, port: PtyPort) -> tuple[MockConfigEntry, bytes]:
    vector = load_vector("lge570-enc")
    entry = mock_entry(vector, port=port.path, profile=REOPENABLE_PROFILE, key=WRONG_KEY)
    await setup_entry(hass, entry)
    for _ in range(DECRYPT_FAILURES_FOR_ISSUE):
        await port.write(vector.data)
    await settle(hass, lambda: _issue(hass, ISSUE_DECRYPTION, entry) is not None)
    return entry, vector.data


async def test_one_undecryptable_message_is_no_issue(
    hass: HomeAssistant, pty_port: PtyPort
) -> None:
    vector = load_vector("lge570-enc")
    entry = mock_entry(vector, port=pty_port.path, key=WRONG_KEY)
    await setup_entry(hass, entry)
    await pty_port.write(vector.data)
    await settle(hass, lambda: entry.runtime_data.coordinator.decoder.stats.decrypt_errors == 1)
    assert _issue(hass, ISSUE_DECRYPTION, entry) is None


async def test_wrong_key_raises_an_issue_whose_fix_tries_the_new_key(
    hass: HomeAssistant, pty_port: PtyPort, repairs: Any
) -> None:
    entry, data = await _undecryptable(hass, pty_port)
    good_key = load_vector("lge570-enc").meta["key"]
    flow = await _start_fix(repairs, issue_id(ISSUE_DECRYPTION, entry.entry_id))
    assert flow["step_id"] == "keys"

    result = await _submit(repairs, flow["flow_id"], {CONF_KEY: "not hex"})
    assert result["errors"] == {"base": "invalid_key_format"}
    result = await _submit(repairs, flow["flow_id"], {CONF_KEY: good_key, CONF_AUTH_KEY: "12"})
    assert result["errors"] == {"base": "invalid_auth_key_format"}
    # The key is tried on the messages that just arrived before anything is saved.
    result = await _submit(repairs, flow["flow_id"], {CONF_KEY: "FF" * 16})
    assert result["errors"] == {"base": "invalid_key"}
    spaced = " ".join(good_key[i : i + 4] for i in range(0, len(good_key), 4)).lower()
    result = await _submit(repairs, flow["flow_id"], {CONF_KEY: spaced})
    assert result["type"] == "create_entry"
    await hass.async_block_till_done()

    assert entry.data[CONF_KEY] == good_key.upper()
    assert entry.data[CONF_AUTH_KEY] is None
    assert entry.state is ConfigEntryState.LOADED
    await push(hass, entry, pty_port, data)
    assert _issue(hass, ISSUE_DECRYPTION, entry) is None


async def test_encrypted_data_without_key_asks_for_one(
    hass: HomeAssistant, pty_port: PtyPort, repairs: Any
) -> None:
    vector = load_vector("lge570-enc")
    entry = mock_entry(vector, port=pty_port.path, profile=REOPENABLE_PROFILE, key=None)
    await setup_entry(hass, entry)
    for _ in range(DECRYPT_FAILURES_FOR_ISSUE):
        await pty_port.write(vector.data)
    await settle(hass, lambda: _issue(hass, ISSUE_DECRYPTION, entry) is not None)

    flow = await _start_fix(repairs, issue_id(ISSUE_DECRYPTION, entry.entry_id))
    result = await _submit(repairs, flow["flow_id"], {})
    assert result["errors"] == {"base": "key_required"}


async def test_fix_flow_for_a_removed_entry_is_refused(
    hass: HomeAssistant, pty_port: PtyPort, repairs: Any
) -> None:
    entry, _ = await _undecryptable(hass, pty_port)
    issue = issue_id(ISSUE_DECRYPTION, entry.entry_id)
    assert await hass.config_entries.async_remove(entry.entry_id)
    ir.async_create_issue(
        hass,
        DOMAIN,
        issue,
        is_fixable=True,
        severity=ir.IssueSeverity.ERROR,
        translation_key=ISSUE_DECRYPTION,
        data={"entry_id": entry.entry_id},
    )
    response = await repairs.post(
        "/api/repairs/issues/fix", json={"handler": DOMAIN, "issue_id": issue}
    )
    assert response.status != HTTPStatus.OK


async def test_keys_are_saved_unchecked_when_nothing_is_left_to_try_them_on(
    hass: HomeAssistant, pty_port: PtyPort, repairs: Any
) -> None:
    entry, data = await _undecryptable(hass, pty_port)
    good_key = load_vector("lge570-enc").meta["key"]
    # After a restart nothing has arrived yet: the key is saved and proven by the next push.
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    flow = await _start_fix(repairs, issue_id(ISSUE_DECRYPTION, entry.entry_id))
    result = await _submit(repairs, flow["flow_id"], {CONF_KEY: good_key})
    assert result["type"] == "create_entry"
    await hass.async_block_till_done()
    await push(hass, entry, pty_port, data)
    assert _issue(hass, ISSUE_DECRYPTION, entry) is None


async def test_keys_for_a_stopped_meter_are_saved_for_its_next_start(
    hass: HomeAssistant, pty_port: PtyPort, repairs: Any
) -> None:
    entry, _ = await _undecryptable(hass, pty_port)
    assert await hass.config_entries.async_unload(entry.entry_id)
    flow = await _start_fix(repairs, issue_id(ISSUE_DECRYPTION, entry.entry_id))
    result = await _submit(repairs, flow["flow_id"], {CONF_KEY: "AA" * 16})
    assert result["type"] == "create_entry"
    assert entry.data[CONF_KEY] == "AA" * 16
