"""The setup dialogs as a user meets them: real ports (ptys), real captures, real Home Assistant."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import os
from pathlib import Path
import socket
import string
import termios
import time
import tty
from typing import TYPE_CHECKING, Any
from unittest.mock import patch

from homeassistant.config_entries import SOURCE_USER, ConfigEntryState, ConfigFlowResult
from homeassistant.core import callback
from homeassistant.data_entry_flow import EVENT_DATA_ENTRY_FLOW_PROGRESSED, FlowResultType
from homeassistant.helpers import entity_registry as er, selector
from homeassistant.setup import async_setup_component
from meter_helpers import is_push_capture, load_vector, vector_names
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
import serialx
import voluptuous as vol

from custom_components.smartmeter_datacollector import (
    config_flow,
    detection,
    flow_listen,
    flow_port,
    flow_progress,
    serial_ports,
)
from custom_components.smartmeter_datacollector.const import (
    CONF_AUTH_KEY,
    CONF_KEY,
    CONF_PORT,
    CONF_PROFILE,
    DOMAIN,
)
from custom_components.smartmeter_datacollector.dlms import PROFILES, MeterDecoder
from custom_components.smartmeter_datacollector.dlms.detect import (
    PUSH_LINE_SETTINGS,
    READOUT_LINE_SETTING,
)
from custom_components.smartmeter_datacollector.dlms.identity import own_meter_id
from custom_components.smartmeter_datacollector.line_settings import settings_data

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Iterator, Mapping

    from homeassistant.core import Event, HomeAssistant
    from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

TRANSLATIONS = json.loads(
    (Path(config_flow.__file__).parent / "translations" / "en.json").read_text(encoding="utf-8")
)
# The fake meter pushes this often; far faster than a real one so failing listens stay short.
PUSH_PERIOD = 0.1
# Listening window for tests that expect no reading (the flow's 30 s cap, patched down).
SHORT_LISTEN = 1.0
WRONG_KEY = "00112233445566778899AABBCCDDEEFF"
MISSING_PORT = "/dev/serial/by-id/usb-no-such-adapter-if00-port0"
ADVANCED = config_flow.SECTION_ADVANCED


_SPEED_CODES = {rate: getattr(termios, f"B{rate}") for rate in (2400, 9600, 115200)}


def _vector(stem: str) -> tuple[bytes, dict[str, Any]]:
    vector = load_vector(stem)
    return vector.data, vector.meta


class PtyMeter:
    """A meter on the far side of a pseudo terminal: pushes its message again and again.

    Linux ptys drop PARENB and then reject (EINVAL) an 8E1 tcsetattr that changes nothing else,
    so a second open of the same pty with an 8E1 profile fails. Each tick sets IGNBRK on the
    line, which every open clears again: the next open always changes something and succeeds.
    """

    def __init__(self, baudrate: int | None = None, period: float = PUSH_PERIOD) -> None:
        # With a baud rate, a reader at another speed gets noise, as on a real line.
        self._baudrate = baudrate
        # Pushes come every period seconds; the line is marked every PUSH_PERIOD regardless.
        self._period = period
        self._due = 0.0
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        os.set_blocking(self._master, False)
        self.path = os.ttyname(self._slave)
        self._payload = b""
        self._ticked = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._pushing())

    def push(self, payload: bytes) -> None:
        """Start (or change) what the meter sends every period seconds."""
        self._payload = payload

    async def next_push(self) -> None:
        """Wait until the meter pushed (and marked the line) once more."""
        self._ticked.clear()
        await self._ticked.wait()

    async def _pushing(self) -> None:
        while True:
            attrs = termios.tcgetattr(self._slave)
            attrs[0] |= termios.IGNBRK
            termios.tcsetattr(self._slave, termios.TCSANOW, attrs)
            now = asyncio.get_running_loop().time()
            if self._payload and now >= self._due:
                self._due = now + self._period
                payload = self._payload
                if self._baudrate is not None and attrs[5] != _SPEED_CODES[self._baudrate]:
                    payload = bytes(len(payload))
                # Nobody reading fills the pty buffer; a real meter pushes regardless.
                with contextlib.suppress(BlockingIOError):
                    os.write(self._master, payload)
            self._ticked.set()
            await asyncio.sleep(PUSH_PERIOD)

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        os.close(self._master)
        os.close(self._slave)


@pytest.fixture
async def new_meter() -> AsyncIterator[Callable[..., PtyMeter]]:
    meters: list[PtyMeter] = []

    def make(baudrate: int | None = None, period: float = PUSH_PERIOD) -> PtyMeter:
        meters.append(PtyMeter(baudrate, period))
        return meters[-1]

    yield make
    for meter in meters:
        await meter.close()


@pytest.fixture
async def meter(new_meter: Callable[[], PtyMeter]) -> PtyMeter:
    return new_meter()


@pytest.fixture
def short_listen(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(flow_listen, "LISTEN_TIMEOUT_MAX", SHORT_LISTEN)


@pytest.fixture
def setup_entry() -> Iterator[None]:
    """Keep the runtime out of the setup dialog's tests: the entry is only stored."""
    with patch("custom_components.smartmeter_datacollector.async_setup_entry", return_value=True):
        yield


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def _assert_translated(result: ConfigFlowResult, section: str = "config") -> None:
    """Every message the user sees exists in en.json and gets all its placeholders."""
    strings = TRANSLATIONS[section]
    given = set(result.get("description_placeholders") or {})
    if result["type"] is FlowResultType.FORM:
        assert result["step_id"] in strings["step"]
        for error in (result["errors"] or {}).values():
            assert _placeholders(strings["error"][error]) <= given, error
    elif result["type"] is FlowResultType.ABORT:
        assert result["reason"] in strings["abort"]
    elif result["type"] is FlowResultType.SHOW_PROGRESS:
        assert _placeholders(strings["progress"][result["progress_action"]]) <= given


def _user_input(
    port: str, profile: str, key: str | None = None, auth_key: str | None = None
) -> dict[str, Any]:
    data: dict[str, Any] = {CONF_PROFILE: profile, CONF_PORT: port, ADVANCED: {}}
    if key is not None:
        data[CONF_KEY] = key
    if auth_key is not None:
        data[ADVANCED][CONF_AUTH_KEY] = auth_key
    return data


def _shown(result: ConfigFlowResult) -> Mapping[str, str]:
    """The placeholders the dialog fills into its texts."""
    return result.get("description_placeholders") or {}


def _schema(result: ConfigFlowResult) -> vol.Schema:
    schema = result.get("data_schema")
    assert schema is not None
    return schema


def _suggested(result: ConfigFlowResult) -> dict[str, Any]:
    """The values the form shows pre-filled, sections flattened."""
    values: dict[str, Any] = {}
    for marker, validator in _schema(result).schema.items():
        inner = getattr(validator, "schema", None)
        if inner is not None and hasattr(validator, "options"):
            for sub in inner.schema:
                if (value := (sub.description or {}).get("suggested_value")) is not None:
                    values[str(sub)] = value
        elif (value := (marker.description or {}).get("suggested_value")) is not None:
            values[str(marker)] = value
    return values


async def _listened(hass: HomeAssistant, result: ConfigFlowResult) -> ConfigFlowResult:
    """Let the listening step run to its end and return what the dialog shows next."""
    _assert_translated(result)
    if result["type"] is FlowResultType.SHOW_PROGRESS:
        assert result["progress_action"] == "listen"
        await hass.async_block_till_done()
        result = await hass.config_entries.flow.async_configure(result["flow_id"])
    _assert_translated(result)
    return result


async def _user_flow(hass: HomeAssistant, user_input: dict[str, Any]) -> ConfigFlowResult:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.FORM
    result = await hass.config_entries.flow.async_configure(result["flow_id"], user_input)
    return await _listened(hass, result)


def _identity(payload: bytes, meta: dict[str, Any]) -> tuple[str | None, str | None]:
    """The meter's own id (or system title) and FLAG maker the decoder finds in a capture.

    A push of an E450's M-Bus channels names only its gas or water meter: no identity of its own.
    """
    decoder = MeterDecoder(meta["profile"], key=meta["key"], auth_key=meta["auth_key"])
    reading = decoder.feed(payload)[0]
    return own_meter_id(reading) or reading.system_title, reading.manufacturer


async def test_form_offers_readable_meter_types_and_free_port_entry(hass: HomeAssistant) -> None:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})

    _assert_translated(result)
    schema = _schema(result).schema
    profile = schema[CONF_PROFILE]
    assert profile.config["options"] == ["auto", *PROFILES]
    assert profile.config["translation_key"] == CONF_PROFILE
    labels = TRANSLATIONS["selector"][CONF_PROFILE]["options"]
    assert [labels[name] for name in profile.config["options"]][:2] == [
        "Detect automatically",
        "Landis+Gyr E450 (CII / M-Bus, 2400 8E1)",
    ]
    assert labels["generic"].startswith("Other DLMS meter")
    marker = next(m for m in schema if str(m) == CONF_PROFILE)
    assert marker.default() == "auto"
    assert _suggested(result)[CONF_PROFILE] == "auto"
    # No onboard /dev/ttyS0 guess: the field starts empty when no by-id adapter exists.
    assert _suggested(result).get(CONF_PORT, "") == ""
    assert schema[CONF_KEY].config["type"] == "password"
    port = schema[CONF_PORT]
    if serial_ports.SERIAL_PORT_SELECTOR is None:
        assert isinstance(port, selector.SelectSelector)
        assert port.config["custom_value"] is True
    advanced = schema[ADVANCED]
    assert advanced.options["collapsed"] is True
    assert CONF_AUTH_KEY in advanced.schema.schema
    assert {"baudrate", "bytesize", "parity", "stopbits"} <= set(map(str, advanced.schema.schema))


@pytest.mark.parametrize("stem", vector_names(is_push_capture))
# A capture that names only a sub-meter is listened to until the window ends, hoping for a push
# of the meter's own; the fake meter repeats each capture ten times a second.
@pytest.mark.usefixtures("setup_entry", "short_listen")
async def test_every_capture_sets_up_its_meter(
    hass: HomeAssistant, meter: PtyMeter, stem: str
) -> None:
    payload, meta = _vector(stem)
    identity, _ = _identity(payload, meta)
    meter.push(payload)

    result = await _user_flow(
        hass, _user_input(meter.path, meta["profile"], meta["key"], meta["auth_key"])
    )

    assert result["type"] is FlowResultType.CREATE_ENTRY
    entry = result["result"]
    assert entry.data == {
        CONF_PROFILE: meta["profile"],
        CONF_PORT: meter.path,
        CONF_KEY: meta["key"],
        CONF_AUTH_KEY: meta["auth_key"],
        **settings_data(PROFILES[meta["profile"]].serial),
    }
    assert entry.unique_id == (identity or f"port:{meter.path}")
    assert entry.title.endswith(identity or PROFILES[meta["profile"]].model)


@pytest.mark.parametrize(
    ("stem", "title"),
    [
        ("lge450-pushlist-1", "Landis+Gyr LGZ1030655933512"),
        ("kaifa-netznoe-mbus-enc", "Kaifa 181220000009"),
    ],
)
@pytest.mark.usefixtures("setup_entry")
async def test_title_names_maker_and_meter(
    hass: HomeAssistant, meter: PtyMeter, stem: str, title: str
) -> None:
    payload, meta = _vector(stem)
    meter.push(payload)

    result = await _user_flow(hass, _user_input(meter.path, meta["profile"], meta["key"]))

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == title


@pytest.mark.usefixtures("setup_entry")
async def test_key_is_stored_without_spaces_in_capitals(
    hass: HomeAssistant, meter: PtyMeter
) -> None:
    payload, meta = _vector("lge450-esphome-1-enc-auth")
    meter.push(payload)
    spaced = " ".join(meta["key"][i : i + 4] for i in range(0, 32, 4)).lower()

    result = await _user_flow(
        hass, _user_input(meter.path, "lge450", spaced, f"  {meta['auth_key'].lower()} ")
    )

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_KEY] == meta["key"].upper()
    assert result["data"][CONF_AUTH_KEY] == meta["auth_key"].upper()


@pytest.mark.parametrize(
    ("key", "auth_key", "error"),
    [
        ("5C316162209EBB790B52EB0E7FC5B1", None, "invalid_key_format"),
        ("5C316162209EBB790B52EB0E7FC5B11G", None, "invalid_key_format"),
        (WRONG_KEY, "not a key", "invalid_auth_key_format"),
    ],
)
async def test_malformed_key_is_refused_before_listening(
    hass: HomeAssistant, key: str, auth_key: str | None, error: str
) -> None:
    user_input = _user_input(MISSING_PORT, "lge450", key, auth_key)

    result = await _user_flow(hass, user_input)

    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert result["errors"] == {"base": error}
    kept = _suggested(result)
    assert kept[CONF_PORT] == MISSING_PORT
    assert kept[CONF_KEY] == key


@pytest.mark.usefixtures("short_listen")
async def test_silent_port_says_nothing_arrived(hass: HomeAssistant, meter: PtyMeter) -> None:
    result = await _user_flow(hass, _user_input(meter.path, "lge450"))

    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert result["errors"] == {"base": "no_data"}
    assert _shown(result)["seconds"] == f"{SHORT_LISTEN:g}"
    assert _suggested(result)[CONF_PORT] == meter.path


@pytest.mark.usefixtures("short_listen")
async def test_noise_says_how_many_bytes_arrived(hass: HomeAssistant, meter: PtyMeter) -> None:
    meter.push(b"this is not a meter talking\r\n" * 8)

    result = await _user_flow(hass, _user_input(meter.path, "lge450"))

    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "no_valid_frame"}
    assert int(_shown(result)["bytes"]) > 0


@pytest.mark.usefixtures("short_listen")
async def test_unknown_content_says_to_try_another_meter_type(
    hass: HomeAssistant, meter: PtyMeter
) -> None:
    # Deciphers fine, but the APDU inside is no meter reading any profile knows.
    payload, meta = _vector("ggc-apdu-dlms-cosem")
    meter.push(payload)

    result = await _user_flow(
        hass, _user_input(meter.path, meta["profile"], meta["key"], meta["auth_key"])
    )

    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "unknown_layout"}


@pytest.mark.parametrize(
    ("stem", "keys", "error"),
    [
        ("lge570-enc", (None, None), "key_required"),
        ("lge570-enc", (WRONG_KEY, None), "invalid_key"),
        ("kaifa-netznoe-mbus-enc", (None, None), "key_required"),
        ("kaifa-netznoe-mbus-enc", (WRONG_KEY, None), "invalid_key"),
        ("lge450-esphome-1-enc-auth", ("sidecar", WRONG_KEY), "auth_failed"),
    ],
)
@pytest.mark.usefixtures("short_listen", "setup_entry")
async def test_key_problems_are_named_and_fixed_in_the_same_dialog(
    hass: HomeAssistant, meter: PtyMeter, stem: str, keys: tuple[str | None, str | None], error: str
) -> None:
    payload, meta = _vector(stem)
    meter.push(payload)
    key = meta["key"] if keys[0] == "sidecar" else keys[0]

    result = await _user_flow(hass, _user_input(meter.path, meta["profile"], key, keys[1]))

    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert result["errors"] == {"base": error}
    assert _suggested(result)[CONF_PORT] == meter.path
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _user_input(meter.path, meta["profile"], meta["key"], meta["auth_key"])
    )
    result = await _listened(hass, result)
    assert result["type"] is FlowResultType.CREATE_ENTRY, (
        result.get("step_id"),
        result.get("errors"),
    )


def _refused_socket() -> str:
    """A socket:// URL on 127.0.0.1 where nothing listens (the port was just given back)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"socket://127.0.0.1:{port}"


@pytest.mark.usefixtures("socket_enabled")
@pytest.mark.parametrize(
    ("port", "reason"),
    [(MISSING_PORT, os.strerror(errno.ENOENT)), (None, "Connect call failed")],
    ids=["nonexistent", "refused_socket"],
)
async def test_port_that_cannot_be_opened_is_named_at_once(
    hass: HomeAssistant, port: str | None, reason: str
) -> None:
    """No progress step for an instant failure: the form comes back with the reason."""
    port = port or _refused_socket()
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _user_input(port, "lge450")
    )

    _assert_translated(result)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "cannot_open"}
    assert _shown(result)["port"] == port
    assert reason in _shown(result)["reason"]


@pytest.mark.usefixtures("socket_enabled")
async def test_network_port_that_never_answers_is_given_up(
    hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An RFC 2217 server that accepts but never negotiates cannot hold the form forever."""
    monkeypatch.setattr(flow_port, "OPEN_TIMEOUT", 0.5)
    silent: list[asyncio.StreamWriter] = []

    async def accept(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        silent.append(writer)

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    port = f"rfc2217://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    try:
        result = await _user_flow(hass, _user_input(port, "lge450"))
    finally:
        for writer in silent:
            writer.close()
        server.close()
        await server.wait_closed()

    assert result["errors"] == {"base": "cannot_open"}
    assert _shown(result)["reason"] == "no answer within 0.5 seconds"


@pytest.fixture
def echo_any_step(monkeypatch: pytest.MonkeyPatch) -> None:
    """Echo the end of every progress step, however long a loaded machine made it take."""
    monkeypatch.setattr(flow_progress, "_ECHO_WITHIN", 3600.0)


async def _progress_events(hass: HomeAssistant, flow_id: str, count: int) -> None:
    """Wait for count progress events of the flow, as a dialog subscribed from now on hears them."""
    heard = asyncio.Event()
    left = [count]

    @callback
    def progressed(event: Event) -> None:
        assert event.data["flow_id"] == flow_id
        left[0] -= 1
        if left[0] == 0:
            heard.set()

    unsubscribe = hass.bus.async_listen(EVENT_DATA_ENTRY_FLOW_PROGRESSED, progressed)
    try:
        async with asyncio.timeout(30):
            await heard.wait()
    finally:
        unsubscribe()


async def _listening_flow(hass: HomeAssistant, meter: PtyMeter) -> str:
    """Start a flow on the pty meter and return its id while it shows the listening progress."""
    flow = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        flow["flow_id"], _user_input(meter.path, "lge450")
    )
    assert result["type"] is FlowResultType.SHOW_PROGRESS
    return flow["flow_id"]


@pytest.mark.usefixtures("short_listen", "echo_any_step")
async def test_a_listen_that_ended_unseen_is_announced_again(
    hass: HomeAssistant, meter: PtyMeter
) -> None:
    """A dialog that subscribed after the step ended, so still shows it, hears that it did."""
    flow_id = await _listening_flow(hass, meter)
    # The listen ends and says so to nobody; the dialog subscribes only then.
    await hass.async_block_till_done()

    await _progress_events(hass, flow_id, 1)

    result = await hass.config_entries.flow.async_configure(flow_id)
    assert result["errors"] == {"base": "no_data"}


@pytest.mark.usefixtures("short_listen", "echo_any_step")
async def test_a_dialog_that_never_fetched_the_end_hears_it_again(
    hass: HomeAssistant, meter: PtyMeter
) -> None:
    """However its subscription went, a dialog still on the progress is told once more."""
    flow_id = await _listening_flow(hass, meter)

    # The end's own event, then the same again: nothing fetched the flow in between.
    await _progress_events(hass, flow_id, 2)

    result = await hass.config_entries.flow.async_configure(flow_id)
    assert result["errors"] == {"base": "no_data"}


@pytest.mark.usefixtures("setup_entry")
async def test_same_meter_twice_aborts(hass: HomeAssistant, meter: PtyMeter) -> None:
    payload, meta = _vector("lge450-pushlist-1")
    MockConfigEntry(
        domain=DOMAIN,
        unique_id=meta["meter_id"],
        data=_entry_data("/dev/ttyUSB7", "lge450"),
    ).add_to_hass(hass)
    meter.push(payload)

    result = await _user_flow(hass, _user_input(meter.path, "lge450"))

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_second_meter_on_a_used_port_aborts_without_listening(
    hass: HomeAssistant, meter: PtyMeter, tmp_path: Path
) -> None:
    alias = tmp_path / "meter-adapter"
    alias.symlink_to(meter.path)
    MockConfigEntry(
        domain=DOMAIN, unique_id="A", data=_entry_data(str(alias), "lge450")
    ).add_to_hass(hass)

    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _user_input(meter.path, "lge570")
    )

    _assert_translated(result)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "port_in_use"


@pytest.mark.usefixtures("setup_entry")
async def test_stable_by_id_name_is_stored(
    hass: HomeAssistant, meter: PtyMeter, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    by_id = tmp_path / "by-id"
    by_id.mkdir()
    link = by_id / "usb-FTDI_FT232R_USB_UART_A10KXYZ-if00-port0"
    link.symlink_to(meter.path)
    monkeypatch.setattr(serial_ports, "BY_ID_DIR", by_id)
    payload, _ = _vector("lge450-pushlist-1")
    meter.push(payload)

    result = await _user_flow(hass, _user_input(meter.path, "lge450"))

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_PORT] == str(link)


async def test_closing_the_dialog_while_listening_frees_the_port(
    hass: HomeAssistant, meter: PtyMeter
) -> None:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _user_input(meter.path, "lge450")
    )
    assert result["type"] is FlowResultType.SHOW_PROGRESS
    assert _shown(result) == {"port": meter.path, "seconds": "15"}

    hass.config_entries.flow.async_abort(result["flow_id"])
    await hass.async_block_till_done()

    _, writer = await serialx.open_serial_connection(meter.path, baudrate=2400)
    writer.close()
    await writer.wait_closed()


def _entry_data(
    port: str, profile: str, key: str | None = None, auth_key: str | None = None
) -> dict[str, Any]:
    return {CONF_PROFILE: profile, CONF_PORT: port, CONF_KEY: key, CONF_AUTH_KEY: auth_key}


async def _running_entry(
    hass: HomeAssistant, meter: PtyMeter, stem: str, key: str | None = "sidecar"
) -> MockConfigEntry:
    """A set-up meter whose integration holds its port, as after a real setup."""
    payload, meta = _vector(stem)
    identity, _ = _identity(payload, meta)
    meter.push(payload)
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Meter",
        unique_id=identity or f"port:{meter.path}",
        data=_entry_data(
            meter.path, meta["profile"], meta["key"] if key == "sidecar" else key, meta["auth_key"]
        ),
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    # The running meter's port has seen a push, so it can be opened again (see PtyMeter).
    await meter.next_push()
    return entry


async def _reconfigure(
    hass: HomeAssistant, entry: MockConfigEntry, user_input: dict[str, Any]
) -> ConfigFlowResult:
    result = await entry.start_reconfigure_flow(hass)
    _assert_translated(result)
    assert result["step_id"] == "reconfigure"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], user_input)
    result = await _listened(hass, result)
    await hass.async_block_till_done()
    return result


def _keys(key: str | None = None, auth_key: str | None = None, **extra: str) -> dict[str, Any]:
    data: dict[str, Any] = {**extra, ADVANCED: {}}
    if key is not None:
        data[CONF_KEY] = key
    if auth_key is not None:
        data[ADVANCED][CONF_AUTH_KEY] = auth_key
    return data


async def test_reconfigure_shows_current_settings(hass: HomeAssistant, meter: PtyMeter) -> None:
    entry = await _running_entry(hass, meter, "lge450-esphome-1-enc-auth")

    result = await entry.start_reconfigure_flow(hass)

    assert _suggested(result) == {
        CONF_PORT: meter.path,
        CONF_KEY: entry.data[CONF_KEY],
        CONF_AUTH_KEY: entry.data[CONF_AUTH_KEY],
        # The line settings are those of the meter type (the entry stores none of its own).
        "baudrate": "2400",
        "bytesize": "8",
        "parity": "E",
        "stopbits": "1",
    }


async def test_reconfigure_on_the_port_the_running_meter_holds(
    hass: HomeAssistant, meter: PtyMeter
) -> None:
    entry = await _running_entry(hass, meter, "lge450-pushlist-1")

    result = await _reconfigure(hass, entry, _keys(port=meter.path))

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entry.state is ConfigEntryState.LOADED


async def test_reconfigure_moves_the_meter_to_another_port(
    hass: HomeAssistant, meter: PtyMeter, new_meter: Callable[[], PtyMeter]
) -> None:
    entry = await _running_entry(hass, meter, "lge570-enc")
    moved = new_meter()
    moved.push(_vector("lge570-enc")[0])

    result = await _reconfigure(hass, entry, _keys(entry.data[CONF_KEY], port=moved.path))

    assert result["reason"] == "reconfigure_successful"
    assert entry.data[CONF_PORT] == moved.path
    assert entry.state is ConfigEntryState.LOADED


async def test_reconfigure_to_a_different_meter_aborts(
    hass: HomeAssistant, meter: PtyMeter, new_meter: Callable[[], PtyMeter]
) -> None:
    entry = await _running_entry(hass, meter, "lge450-pushlist-1")
    other = new_meter()
    other.push(_vector("lge570-cfg2026-idle")[0])

    result = await _reconfigure(hass, entry, _keys(port=other.path))

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "wrong_meter"
    assert entry.data[CONF_PORT] == meter.path
    assert entry.state is ConfigEntryState.LOADED


async def test_reconfigure_failure_gives_the_port_back(
    hass: HomeAssistant, meter: PtyMeter
) -> None:
    entry = await _running_entry(hass, meter, "lge450-pushlist-1")

    result = await _reconfigure(hass, entry, _keys(port=MISSING_PORT))

    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "cannot_open"}
    assert _suggested(result)[CONF_PORT] == MISSING_PORT
    assert entry.state is ConfigEntryState.LOADED
    assert entry.data[CONF_PORT] == meter.path


@pytest.mark.usefixtures("short_listen")
async def test_reconfigure_to_a_silent_port_asks_again(
    hass: HomeAssistant, meter: PtyMeter, new_meter: Callable[[], PtyMeter]
) -> None:
    """The new port opens but stays silent: the reconfigure form says so, the meter keeps going."""
    entry = await _running_entry(hass, meter, "lge450-pushlist-1")
    silent = new_meter()

    result = await _reconfigure(hass, entry, _keys(port=silent.path))

    assert result["step_id"] == "reconfigure"
    assert result["errors"] == {"base": "no_data"}
    assert entry.state is ConfigEntryState.LOADED
    assert entry.data[CONF_PORT] == meter.path


async def test_reconfigure_onto_another_meters_port_aborts(
    hass: HomeAssistant, meter: PtyMeter
) -> None:
    entry = await _running_entry(hass, meter, "lge450-pushlist-1")
    MockConfigEntry(
        domain=DOMAIN, unique_id="B", data=_entry_data("/dev/ttyUSB9", "lge570")
    ).add_to_hass(hass)

    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _keys(port="/dev/ttyUSB9")
    )

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "port_in_use"


async def test_meter_without_identity_keeps_its_id_on_a_new_port(
    hass: HomeAssistant, meter: PtyMeter, new_meter: Callable[[], PtyMeter]
) -> None:
    payload, meta = _vector("aidon-se-3ph")
    if _identity(payload, meta)[0] is not None:
        pytest.skip("the decoder found an identity in aidon-se-3ph")
    entry = await _running_entry(hass, meter, "aidon-se-3ph")
    moved = new_meter()
    moved.push(payload)

    result = await _reconfigure(hass, entry, _keys(port=moved.path))

    assert result["reason"] == "reconfigure_successful"
    assert entry.unique_id == f"port:{meter.path}"
    assert entry.data[CONF_PORT] == moved.path


@pytest.mark.usefixtures("short_listen")
async def test_closing_reconfigure_while_listening_restarts_the_meter(
    hass: HomeAssistant, meter: PtyMeter, new_meter: Callable[[], PtyMeter]
) -> None:
    entry = await _running_entry(hass, meter, "lge450-pushlist-1")
    silent = new_meter()
    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _keys(port=silent.path)
    )
    assert result["type"] is FlowResultType.SHOW_PROGRESS

    hass.config_entries.flow.async_abort(result["flow_id"])
    await hass.async_block_till_done()

    assert entry.state is ConfigEntryState.LOADED


async def _reauth(
    hass: HomeAssistant, entry: MockConfigEntry, keys: dict[str, Any]
) -> ConfigFlowResult:
    result = await entry.start_reauth_flow(hass)
    _assert_translated(result)
    assert result["step_id"] == "reauth_confirm"
    assert _shown(result)["title"] == entry.title
    result = await hass.config_entries.flow.async_configure(result["flow_id"], keys)
    result = await _listened(hass, result)
    await hass.async_block_till_done()
    return result


@pytest.mark.parametrize("stem", ["lge570-enc", "lge450-esphome-1-enc-auth"])
async def test_reauth_with_the_new_key_resumes_reading(
    hass: HomeAssistant, meter: PtyMeter, stem: str
) -> None:
    entry = await _running_entry(hass, meter, stem, key=WRONG_KEY)
    meta = _vector(stem)[1]

    result = await _reauth(hass, entry, _keys(meta["key"], meta["auth_key"]))

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert entry.data[CONF_KEY] == meta["key"]
    assert entry.data[CONF_PORT] == meter.path
    assert entry.state is ConfigEntryState.LOADED


@pytest.mark.usefixtures("short_listen")
async def test_reauth_with_a_wrong_key_asks_again(hass: HomeAssistant, meter: PtyMeter) -> None:
    entry = await _running_entry(hass, meter, "lge570-enc", key=WRONG_KEY)

    result = await _reauth(hass, entry, _keys(WRONG_KEY))

    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reauth_confirm"
    assert result["errors"] == {"base": "invalid_key"}
    assert entry.data[CONF_KEY] == WRONG_KEY
    assert entry.state is ConfigEntryState.LOADED


async def test_reauth_when_another_meter_answers_aborts(
    hass: HomeAssistant, meter: PtyMeter
) -> None:
    entry = await _running_entry(hass, meter, "lge570-enc", key=WRONG_KEY)
    hass.config_entries.async_update_entry(entry, unique_id="LGZ0000000000000")
    meta = _vector("lge570-enc")[1]

    result = await _reauth(hass, entry, _keys(meta["key"]))

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "wrong_meter"
    assert entry.data[CONF_KEY] == WRONG_KEY


async def test_reauth_on_a_vanished_port_names_it(hass: HomeAssistant) -> None:
    """The entry's own port is opened only while listening; that it is gone is still named."""
    entry = MockConfigEntry(
        domain=DOMAIN, title="Meter", unique_id="A", data=_entry_data(MISSING_PORT, "lge570")
    )
    entry.add_to_hass(hass)

    result = await _reauth(hass, entry, _keys(WRONG_KEY))

    assert result["errors"] == {"base": "cannot_open"}
    assert _shown(result)["port"] == MISSING_PORT


# --- Detection: only the port given ---------------------------------------------------------


@pytest.fixture
def quick_detect(monkeypatch: pytest.MonkeyPatch) -> None:
    """Listen one second per line setting: the fake meter pushes ten times a second."""
    monkeypatch.setattr(detection, "PUSH_WINDOW", 1.0)
    monkeypatch.setattr(detection, "READOUT_WINDOW", 1.0)


async def _detected(hass: HomeAssistant, port: str) -> ConfigFlowResult:
    """Submit only the port and follow the progress steps to what the dialog shows next."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_PORT: port})
    while result["type"] is FlowResultType.SHOW_PROGRESS:
        _assert_translated(result)
        assert result["progress_action"] == "detect"
        await hass.async_block_till_done()
        result = await hass.config_entries.flow.async_configure(result["flow_id"])
    _assert_translated(result)
    return result


@pytest.mark.parametrize(
    "stem",
    [
        "lge450-pushlist-1",
        "lge570-cfg2026-idle",
        "lge360-cfg2026",
        "iskraam550-pushlist-1",
        "kamstrup-no-10s",
        "aidon-no-hourly",
    ],
)
@pytest.mark.usefixtures("setup_entry", "quick_detect")
async def test_only_the_port_finds_type_line_settings_and_meter(
    hass: HomeAssistant, new_meter: Callable[..., PtyMeter], stem: str
) -> None:
    payload, meta = _vector(stem)
    expected = PROFILES[meta["profile"]]
    meter = new_meter(expected.serial.baudrate)
    meter.push(payload)
    identity, _ = _identity(payload, meta)

    result = await _detected(hass, meter.path)

    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "confirm"
    shown = _shown(result)
    assert shown["meter_id"] == identity
    assert shown["settings"] == str(expected.serial)
    assert shown["model"] == expected.model
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == {
        CONF_PROFILE: meta["profile"],
        CONF_PORT: meter.path,
        CONF_KEY: None,
        CONF_AUTH_KEY: None,
        **settings_data(expected.serial),
    }


@pytest.mark.usefixtures("setup_entry", "quick_detect")
async def test_encrypted_meter_asks_for_the_key_and_checks_it_on_what_arrived(
    hass: HomeAssistant, new_meter: Callable[..., PtyMeter]
) -> None:
    payload, meta = _vector("lge570-enc")
    meter = new_meter(2400)
    meter.push(payload)

    result = await _detected(hass, meter.path)
    assert result["step_id"] == "keys"
    assert result["errors"] == {}
    assert _shown(result)["maker"] == "LGZ"
    flow_id = result["flow_id"]
    meter.push(b"")  # from here on the key is tried on what already arrived

    result = await hass.config_entries.flow.async_configure(flow_id, _keys("zz"))
    assert result["errors"] == {"base": "invalid_key_format"}
    result = await hass.config_entries.flow.async_configure(flow_id, _keys(WRONG_KEY))
    assert result["errors"] == {"base": "invalid_key"}
    result = await hass.config_entries.flow.async_configure(flow_id, _keys(meta["key"].lower()))
    assert result["step_id"] == "confirm"
    result = await hass.config_entries.flow.async_configure(flow_id, {})

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_PROFILE] == "lge570"
    assert result["data"][CONF_KEY] == meta["key"]


@pytest.mark.usefixtures("quick_detect", "echo_any_step")
async def test_key_form_after_a_quick_detection_is_not_redrawn(
    hass: HomeAssistant, new_meter: Callable[..., PtyMeter]
) -> None:
    """Once the dialog shows the key form, no echo of the ended detection redraws it.

    The dialog redraws the flow on every event of it, which would clear a key being typed.
    """
    payload, _ = _vector("lge570-enc")
    meter = new_meter(2400)
    meter.push(payload)
    heard: list[str] = []
    unsubscribe = hass.bus.async_listen(
        EVENT_DATA_ENTRY_FLOW_PROGRESSED,
        callback(lambda event: heard.append(event.data["flow_id"])),
    )

    # The dialog fetches the flow at the end's own event, as a subscribed dialog does.
    result = await _detected(hass, meter.path)
    assert result["step_id"] == "keys"
    shown = len(heard)
    assert shown >= 1
    await hass.async_block_till_done(wait_background_tasks=True)
    unsubscribe()

    assert heard[shown:] == []


@pytest.mark.usefixtures("quick_detect")
async def test_detection_tells_a_silent_line_from_an_unknown_meter(
    hass: HomeAssistant, new_meter: Callable[..., PtyMeter]
) -> None:
    silent = new_meter()
    result = await _detected(hass, silent.path)
    assert result["step_id"] == "user"
    assert result["errors"] == {"base": "no_data_any"}
    # Silence at one speed is silence at all: a push meter at another would have sent noise.
    assert _shown(result)["settings"] == "2400 8E1, 300 7E1"

    noisy = new_meter()
    noisy.push(b"\x55" * 64)
    result = await _detected(hass, noisy.path)
    assert result["errors"] == {"base": "not_detected"}
    assert int(_shown(result)["bytes"]) > 0
    assert _shown(result)["settings"] == ", ".join(
        [*map(str, PUSH_LINE_SETTINGS), str(READOUT_LINE_SETTING)]
    )


@pytest.mark.usefixtures("setup_entry")
async def test_detection_leaves_a_speed_after_one_whole_message_of_noise(
    hass: HomeAssistant, new_meter: Callable[..., PtyMeter], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An AM550 at 115200 is found after noise at three speeds, none listened to for its window."""
    monkeypatch.setattr(detection, "PUSH_WINDOW", 3600.0)
    payload, meta = _vector("iskraam550-pushlist-1")
    meter = new_meter(115200, period=2.0)
    meter.push(payload)

    def hold_up_the_loop() -> None:
        # A busy Home Assistant: a read that ends late proves no silence, bytes may wait unread.
        until = time.monotonic() + 0.6
        while time.monotonic() < until:
            pass

    for delay in (1.0, 2.5, 4.0):
        hass.loop.call_later(delay, hold_up_the_loop)
    # A hang guard only: waiting out any one window would take an hour.
    async with asyncio.timeout(600):
        result = await _detected(hass, meter.path)

    assert result["step_id"] == "confirm"
    assert _shown(result)["settings"] == "115200 8N1"
    assert _shown(result)["meter_id"] == _identity(payload, meta)[0]


@pytest.mark.usefixtures("socket_enabled", "quick_detect")
async def test_detection_on_a_lost_connection_names_it(hass: HomeAssistant) -> None:
    async def hang_up(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    server = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    port = f"socket://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    try:
        result = await _detected(hass, port)
    finally:
        server.close()
        await server.wait_closed()

    assert result["errors"] == {"base": "cannot_open"}
    assert "closed" in _shown(result)["reason"]


@pytest.mark.usefixtures("quick_detect")
async def test_detecting_a_meter_already_set_up_aborts(
    hass: HomeAssistant, new_meter: Callable[..., PtyMeter]
) -> None:
    payload, meta = _vector("lge450-pushlist-1")
    MockConfigEntry(
        domain=DOMAIN, unique_id=meta["meter_id"], data=_entry_data("/dev/ttyUSB7", "lge450")
    ).add_to_hass(hass)
    meter = new_meter(2400)
    meter.push(payload)

    result = await _detected(hass, meter.path)

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


@pytest.mark.usefixtures("quick_detect")
async def test_closing_the_dialog_while_detecting_frees_the_port(
    hass: HomeAssistant, meter: PtyMeter
) -> None:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_PORT: meter.path}
    )
    assert result["type"] is FlowResultType.SHOW_PROGRESS
    assert _shown(result)["setting"] == "2400 8E1"

    hass.config_entries.flow.async_abort(result["flow_id"])
    await hass.async_block_till_done()

    _, writer = await serialx.open_serial_connection(meter.path, baudrate=2400)
    writer.close()
    await writer.wait_closed()


async def test_port_field_starts_with_the_first_by_id_adapter(
    hass: HomeAssistant, meter: PtyMeter, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    by_id = tmp_path / "by-id"
    by_id.mkdir()
    for name in ("usb-FTDI_B-if00-port0", "usb-FTDI_A-if00-port0"):
        (by_id / name).symlink_to(meter.path)
    monkeypatch.setattr(serial_ports, "BY_ID_DIR", by_id)

    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})

    assert _suggested(result)[CONF_PORT] == str(by_id / "usb-FTDI_A-if00-port0")


@pytest.mark.usefixtures("quick_detect", "entity_registry_enabled_by_default")
async def test_rest_flow_with_only_the_port_ends_in_sensors_equal_to_what_the_meter_sent(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, new_meter: Callable[..., PtyMeter]
) -> None:
    """The REST flow API, as a script would use it: POST the port, follow, confirm."""
    assert await async_setup_component(hass, "config", {})
    payload, meta = _vector("lge450-pushlist-1")
    sent = MeterDecoder(meta["profile"]).feed(payload)[0]
    meter = new_meter(2400)
    meter.push(payload)
    client = await hass_client()
    flows = "/api/config/config_entries/flow"

    flow = await (await client.post(flows, json={"handler": DOMAIN})).json()
    result = await (
        await client.post(f"{flows}/{flow['flow_id']}", json={CONF_PORT: meter.path})
    ).json()
    while result["type"] == "progress":
        await hass.async_block_till_done()
        result = await (await client.get(f"{flows}/{flow['flow_id']}")).json()
    assert result["step_id"] == "confirm"
    result = await (await client.post(f"{flows}/{flow['flow_id']}", json={})).json()
    assert result["type"] == "create_entry"

    entity_registry = er.async_get(hass)
    unique_ids = {f"{sent.meter_id}_{key}": m for key, m in sent.values.items()}

    def shown() -> dict[str, str]:
        return {
            e.unique_id: state.state
            for e in er.async_entries_for_config_entry(
                entity_registry, result["result"]["entry_id"]
            )
            if (state := hass.states.get(e.entity_id)) is not None and e.unique_id in unique_ids
        }

    async with asyncio.timeout(60):
        while len(shown()) < len(unique_ids) or "unknown" in shown().values():
            await meter.next_push()
            await hass.async_block_till_done()
    for unique_id, state in shown().items():
        value = unique_ids[unique_id]
        if isinstance(value.value, str):
            assert state == value.value, unique_id
        else:
            entity = entity_registry.async_get(
                entity_registry.async_get_entity_id("sensor", DOMAIN, unique_id)
            )
            scale = 1000.0 if value.unit == "Wh" and entity.unit_of_measurement == "kWh" else 1.0
            assert float(state) == pytest.approx(float(value.value) / scale), unique_id


@pytest.mark.usefixtures("setup_entry")
async def test_line_settings_of_the_advanced_section_are_stored(
    hass: HomeAssistant, new_meter: Callable[..., PtyMeter]
) -> None:
    """A meter at an unusual speed: the type's parser, the user's line settings."""
    payload, _ = _vector("lge450-pushlist-1")
    meter = new_meter(9600)  # a reader at any other speed gets noise
    meter.push(payload)
    line = {"baudrate": "9600", "bytesize": "8", "parity": "N", "stopbits": "1"}

    result = await _user_flow(hass, {**_user_input(meter.path, "lge450"), ADVANCED: line})

    assert result["type"] is FlowResultType.CREATE_ENTRY
    stored = {k: result["data"][k] for k in ("baudrate", "bytesize", "parity", "stopbits")}
    assert stored == {"baudrate": 9600, "bytesize": 8, "parity": "N", "stopbits": 1}


async def test_reconfigure_changes_the_line_settings(
    hass: HomeAssistant, meter: PtyMeter, new_meter: Callable[..., PtyMeter]
) -> None:
    entry = await _running_entry(hass, meter, "lge450-pushlist-1")
    faster = new_meter(9600)
    faster.push(_vector("lge450-pushlist-1")[0])
    keys = _keys(port=faster.path)
    keys[ADVANCED] = {"baudrate": "9600", "parity": "N"}

    result = await _reconfigure(hass, entry, keys)

    assert result["reason"] == "reconfigure_successful"
    assert (entry.data["baudrate"], entry.data["parity"]) == (9600, "N")
    assert entry.state is ConfigEntryState.LOADED
