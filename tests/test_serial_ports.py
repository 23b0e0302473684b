"""Port picking and port identity: what the setup form offers and what counts as the same port."""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeassistant.helpers import selector
import pytest
import serialx

from custom_components.smartmeter_datacollector import serial_ports

if TYPE_CHECKING:
    from pathlib import Path

    from homeassistant.core import HomeAssistant


def _info(
    device: str, resolved: str, product: str | None, maker: str | None
) -> serialx.SerialPortInfo:
    return serialx.SerialPortInfo(
        device=device,
        resolved_device=resolved,
        vid=0x0403 if product else None,
        pid=0x6001 if product else None,
        serial_number="A10KXYZ" if product else None,
        manufacturer=maker,
        product=product,
        bcd_device=None,
        interface_description=None,
        interface_num=None,
    )


def test_usb_adapter_is_offered_by_its_stable_name_with_what_it_is() -> None:
    info = _info(
        "/dev/serial/by-id/usb-FTDI_FT232R_USB_UART_A10KXYZ-if00-port0",
        "/dev/ttyUSB0",
        "FT232R USB UART",
        "FTDI",
    )

    option = serial_ports.port_option(info)

    assert option["value"] == info.device
    assert option["label"] == f"{info.device} (FT232R USB UART, FTDI, /dev/ttyUSB0)"


def test_built_in_port_is_offered_by_its_path() -> None:
    option = serial_ports.port_option(_info("/dev/ttyAMA0", "/dev/ttyAMA0", None, None))

    assert option == {"value": "/dev/ttyAMA0", "label": "/dev/ttyAMA0"}


async def test_without_a_serial_port_selector_the_host_ports_are_listed_with_free_entry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(serial_ports, "SERIAL_PORT_SELECTOR", None)
    host_ports = {info.device for info in await serialx.async_list_serial_ports()}

    picker = await serial_ports.async_port_selector()

    assert isinstance(picker, selector.SelectSelector)
    assert picker.config["custom_value"] is True
    options = picker.config["options"]
    assert all(isinstance(option, dict) for option in options)
    assert {option["value"] for option in options if isinstance(option, dict)} == host_ports


async def test_home_assistant_serial_port_selector_is_used_where_it_exists(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Stands in for the selector newer Home Assistant releases ship.
    monkeypatch.setattr(serial_ports, "SERIAL_PORT_SELECTOR", selector.TextSelector)

    picker = await serial_ports.async_port_selector()

    assert isinstance(picker, selector.TextSelector)


@pytest.fixture
def by_id(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "by-id"
    folder.mkdir()
    monkeypatch.setattr(serial_ports, "BY_ID_DIR", folder)
    return folder


@pytest.mark.parametrize(
    "port", ["socket://192.168.1.20:8899", "rfc2217://meter-bridge.local:4001"]
)
async def test_network_ports_are_kept_as_typed(hass: HomeAssistant, by_id: Path, port: str) -> None:
    assert await serial_ports.async_stable_port(hass, f" {port} ") == port


async def test_device_path_becomes_its_by_id_name(
    hass: HomeAssistant, by_id: Path, tmp_path: Path
) -> None:
    device = tmp_path / "ttyUSB0"
    device.touch()
    (by_id / "usb-Other_Adapter-if00-port0").symlink_to(tmp_path / "ttyUSB1")
    link = by_id / "usb-FTDI_FT232R_USB_UART_A10KXYZ-if00-port0"
    link.symlink_to(device)

    assert await serial_ports.async_stable_port(hass, str(device)) == str(link)
    assert await serial_ports.async_stable_port(hass, str(link)) == str(link)


async def test_device_without_by_id_name_is_kept(
    hass: HomeAssistant, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(serial_ports, "BY_ID_DIR", tmp_path / "missing")

    assert await serial_ports.async_stable_port(hass, "/dev/ttyAMA0") == "/dev/ttyAMA0"


async def test_unlisted_device_is_kept(hass: HomeAssistant, by_id: Path) -> None:
    assert await serial_ports.async_stable_port(hass, "/dev/ttyAMA0") == "/dev/ttyAMA0"


async def test_two_names_of_one_device_are_the_same_port(
    hass: HomeAssistant, tmp_path: Path
) -> None:
    device = tmp_path / "ttyUSB0"
    device.touch()
    alias = tmp_path / "usb-adapter"
    alias.symlink_to(device)

    assert await serial_ports.async_port_in_use(hass, str(device), ["/dev/ttyAMA0", str(alias)])
    assert not await serial_ports.async_port_in_use(hass, str(device), ["/dev/ttyAMA0"])


async def test_network_ports_compare_without_case(hass: HomeAssistant) -> None:
    assert await serial_ports.async_port_in_use(
        hass, "socket://Meter-Bridge:8899", ["socket://meter-bridge:8899"]
    )
    assert not await serial_ports.async_port_in_use(
        hass, "socket://meter-bridge:8899", ["socket://meter-bridge:8898"]
    )
