"""Shared fixtures: custom integrations on, ptys as meter ports, enabled-by-default entities."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any
from unittest.mock import PropertyMock, patch

from meter_helpers import PtyPort, SimulatedMeter, push
from mosquitto import Certificates, Mosquitto, make_certificates
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension

from custom_components.smartmeter_datacollector.const import (
    CONF_AUTH_KEY,
    CONF_KEY,
    CONF_MIN_INTERVAL,
    CONF_PORT,
    CONF_PROFILE,
    DOMAIN,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from homeassistant.core import HomeAssistant
    from syrupy.assertion import SnapshotAssertion


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load custom_components/ in every test."""


@pytest.fixture
def entity_registry_enabled_by_default() -> Iterator[None]:
    """Create disabled-by-default entities enabled, so snapshots cover every sensor."""
    with patch(
        "homeassistant.helpers.entity.Entity.entity_registry_enabled_default",
        new_callable=PropertyMock,
        return_value=True,
    ):
        yield


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Snapshots that know Home Assistant's types (registry entries, states) and mask ids/times."""
    return snapshot.use_extension(HomeAssistantSnapshotExtension)


@pytest.fixture
def pty_factory(tmp_path: Path) -> Iterator[Callable[[str], PtyPort]]:
    """Make named pty ports (several meters at once); all are closed after the test."""
    ports: list[PtyPort] = []

    def make(name: str = "meter") -> PtyPort:
        port = PtyPort(tmp_path / f"usb-{name}-if00-port0")
        ports.append(port)
        return port

    yield make
    for port in ports:
        port.close()


@pytest.fixture
def pty_port(pty_factory: Callable[[str], PtyPort]) -> PtyPort:
    """One pty port for the integration to open by path."""
    return pty_factory("meter")


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    """A CA, a server certificate for "localhost" and a client certificate."""
    return make_certificates(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def brokers(tmp_path: Path, socket_enabled: None) -> Iterator[Callable[..., Mosquitto]]:
    """Start real brokers on 127.0.0.1 (sockets are off in Home Assistant tests otherwise)."""
    started: list[Mosquitto] = []

    def start(**kwargs: Any) -> Mosquitto:
        broker = Mosquitto(tmp_path / f"broker{len(started)}", **kwargs)
        started.append(broker)
        broker.start()
        return broker

    yield start
    for broker in started:
        broker.kill()


@pytest.fixture
def simulated_meter() -> SimulatedMeter:
    """The meter behind the pty: a simulated household, encoded by the dev package."""
    return SimulatedMeter()


@pytest.fixture
def mock_config_entry(pty_port: PtyPort, simulated_meter: SimulatedMeter) -> MockConfigEntry:
    """The entry the config flow would create for the simulated meter on the pty."""
    return MockConfigEntry(
        domain=DOMAIN,
        title=f"Landis+Gyr {simulated_meter.meter_id}",
        unique_id=simulated_meter.meter_id,
        data={
            CONF_PROFILE: simulated_meter.profile,
            CONF_PORT: pty_port.path,
            CONF_KEY: None,
            CONF_AUTH_KEY: None,
        },
        # Every push reaches the state machine, so each one can be checked.
        options={CONF_MIN_INTERVAL: 0},
    )


@pytest.fixture
async def init_integration(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    pty_port: PtyPort,
    simulated_meter: SimulatedMeter,
) -> MockConfigEntry:
    """The simulated meter set up in Home Assistant, after its first push."""
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    await push(hass, mock_config_entry, pty_port, simulated_meter.message())
    return mock_config_entry


@pytest.fixture
def debug_logging(caplog: pytest.LogCaptureFixture) -> None:
    """Reconnect attempts are logged at debug level; tests of the reader and coordinator count them."""
    caplog.set_level(logging.DEBUG, logger="custom_components.smartmeter_datacollector")
