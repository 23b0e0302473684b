"""Shared fixtures: custom integrations on, ptys as meter ports, enabled-by-default entities."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from unittest.mock import PropertyMock, patch

from meter_helpers import PtyPort
from mosquitto import Certificates, Mosquitto, make_certificates
import pytest
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

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
