"""The options dialog as a user meets it: update rate, MQTT re-publishing, reading logs.

Brokers are real Mosquitto processes on 127.0.0.1, both as the external broker and behind Home
Assistant's own MQTT integration. Meter entries are only stored, never set up: the dialog is
under test here, the publishers have their own tests.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
import string
from typing import TYPE_CHECKING, Any

from homeassistant.components import mqtt
from homeassistant.const import CONF_PORT as HA_CONF_PORT
from homeassistant.data_entry_flow import FlowResultType
from mosquitto import Certificates, Mosquitto, free_port, requires_mosquitto
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
import voluptuous as vol

from custom_components.smartmeter_datacollector import config_flow
from custom_components.smartmeter_datacollector.const import (
    CONF_AUTH_KEY,
    CONF_KEY,
    CONF_MIN_INTERVAL,
    CONF_PORT,
    CONF_PROFILE,
    DEFAULT_MIN_INTERVAL,
    DOMAIN,
)
from custom_components.smartmeter_datacollector.publish import mqtt_external
from custom_components.smartmeter_datacollector.publish.options_mqtt import (
    CONF_LOG_READINGS,
    CONF_MQTT_CA_FILE,
    CONF_MQTT_CHECK_HOSTNAME,
    CONF_MQTT_CLIENT_CERT,
    CONF_MQTT_CLIENT_ID,
    CONF_MQTT_CLIENT_KEY,
    CONF_MQTT_FORMAT,
    CONF_MQTT_HOST,
    CONF_MQTT_MODE,
    CONF_MQTT_PASSWORD,
    CONF_MQTT_PORT,
    CONF_MQTT_QOS,
    CONF_MQTT_RETAIN,
    CONF_MQTT_TLS,
    CONF_MQTT_TOPIC_GROUP,
    CONF_MQTT_TOPIC_PREFIX,
    CONF_MQTT_USERNAME,
    FORMAT_PER_VALUE,
    FORMAT_RLDSP,
    MODE_EXTERNAL,
    MODE_HOMEASSISTANT,
    MODE_OFF,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

    from homeassistant.config_entries import ConfigFlowResult
    from homeassistant.core import HomeAssistant

TRANSLATIONS = json.loads(
    (Path(config_flow.__file__).parent / "translations" / "en.json").read_text(encoding="utf-8")
)["options"]
PASSWORD = "correct horse battery staple"  # noqa: S105 - the test broker's password
# Options an entry has after the dialog was confirmed without changing anything.
DEFAULTS = {
    CONF_MIN_INTERVAL: DEFAULT_MIN_INTERVAL,
    CONF_MQTT_MODE: MODE_OFF,
    CONF_MQTT_FORMAT: FORMAT_PER_VALUE,
    CONF_MQTT_TOPIC_PREFIX: "smartmeter",
    CONF_MQTT_TOPIC_GROUP: "building",
    CONF_MQTT_QOS: 0,
    CONF_MQTT_RETAIN: False,
    CONF_LOG_READINGS: False,
}


@pytest.fixture
async def silent_server(socket_enabled: None) -> AsyncIterator[int]:
    """A port that accepts TCP but never answers CONNECT, like a firewall's tarpit."""
    held: list[asyncio.StreamWriter] = []

    async def hold(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    for writer in held:
        writer.close()
    server.close()
    await server.wait_closed()


@pytest.fixture
async def home_assistant_mqtt(
    hass: HomeAssistant, brokers: Callable[..., Mosquitto], mock_hass_config: None
) -> AsyncIterator[None]:
    """Home Assistant's MQTT integration set up and connected to a real broker."""
    broker = brokers()
    entry = MockConfigEntry(
        domain=mqtt.DOMAIN,
        data={mqtt.CONF_BROKER: "127.0.0.1", HA_CONF_PORT: broker.port},
        version=mqtt.CONFIG_ENTRY_VERSION,
        minor_version=mqtt.CONFIG_ENTRY_MINOR_VERSION,
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    yield
    assert await hass.config_entries.async_unload(entry.entry_id)


def _entry(hass: HomeAssistant, options: dict[str, Any] | None = None) -> MockConfigEntry:
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id="LGZ1030000000000",
        data={
            CONF_PROFILE: "lge450",
            CONF_PORT: "/dev/serial/by-id/usb-meter-if00-port0",
            CONF_KEY: None,
            CONF_AUTH_KEY: None,
        },
        options=options or {},
    )
    entry.add_to_hass(hass)
    return entry


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def _schema(result: ConfigFlowResult) -> vol.Schema:
    schema = result.get("data_schema")
    assert schema is not None
    return schema


def _assert_translated(result: ConfigFlowResult) -> None:
    """Every field has a label and every error a message in en.json, placeholders filled."""
    if result["type"] is not FlowResultType.FORM:
        return
    step = TRANSLATIONS["step"][result["step_id"]]
    assert {str(marker) for marker in _schema(result).schema} <= set(step["data"])
    given = set(result.get("description_placeholders") or {})
    for error in (result["errors"] or {}).values():
        assert _placeholders(TRANSLATIONS["error"][error]) <= given, error


def _prefilled(result: ConfigFlowResult) -> dict[str, Any]:
    """What the form shows in each field: the suggested value, else the default."""
    shown: dict[str, Any] = {}
    for marker in _schema(result).schema:
        suggested = (marker.description or {}).get("suggested_value")
        if suggested is not None:
            shown[str(marker)] = suggested
        elif marker.default is not vol.UNDEFINED:
            shown[str(marker)] = marker.default()
    return shown


async def _open(hass: HomeAssistant, entry: MockConfigEntry) -> ConfigFlowResult:
    result = await hass.config_entries.options.async_init(entry.entry_id)
    _assert_translated(result)
    assert result["step_id"] == "init"
    return result


async def _submit(
    hass: HomeAssistant, result: ConfigFlowResult, user_input: dict[str, Any]
) -> ConfigFlowResult:
    result = await hass.config_entries.options.async_configure(result["flow_id"], user_input)
    _assert_translated(result)
    return result


_INIT_FIELDS = (CONF_MIN_INTERVAL, CONF_MQTT_MODE, CONF_LOG_READINGS)


async def _through_mqtt_step(
    hass: HomeAssistant, entry: MockConfigEntry, choices: dict[str, Any]
) -> ConfigFlowResult:
    """Answer the first step, then the MQTT step that follows when MQTT is on."""
    first = {k: v for k, v in choices.items() if k in _INIT_FIELDS}
    details = {k: v for k, v in choices.items() if k not in _INIT_FIELDS}
    if CONF_MQTT_QOS in details:
        details[CONF_MQTT_QOS] = str(int(details[CONF_MQTT_QOS]))  # a choice, sent as text
    result = await _submit(hass, await _open(hass, entry), first)
    assert result["step_id"] == "mqtt", result.get("errors")
    return await _submit(hass, result, details)


async def _to_broker_step(
    hass: HomeAssistant, entry: MockConfigEntry, **publishing: Any
) -> ConfigFlowResult:
    result = await _through_mqtt_step(hass, entry, {CONF_MQTT_MODE: MODE_EXTERNAL, **publishing})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "mqtt_broker"
    assert not result["errors"]
    return result


def _broker(port: int, **extra: Any) -> dict[str, Any]:
    return {CONF_MQTT_HOST: "127.0.0.1", CONF_MQTT_PORT: port, **extra}


async def test_defaults_publish_nothing(hass: HomeAssistant) -> None:
    """Confirming the dialog unchanged keeps every push and sends nothing anywhere."""
    entry = _entry(hass)

    result = await _submit(hass, await _open(hass, entry), {})

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options == DEFAULTS


async def test_minimum_interval_kept_as_whole_seconds_and_other_options_kept(
    hass: HomeAssistant,
) -> None:
    """A newer version's options survive a trip through this dialog."""
    entry = _entry(hass, {CONF_LOG_READINGS: True, "from_a_newer_version": "x"})

    result = await _submit(hass, await _open(hass, entry), {CONF_MIN_INTERVAL: 5.0})

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options == {
        **DEFAULTS,
        CONF_MIN_INTERVAL: 5,
        CONF_LOG_READINGS: True,
        "from_a_newer_version": "x",
    }
    assert isinstance(entry.options[CONF_MIN_INTERVAL], int)


async def test_form_shows_the_current_choices(hass: HomeAssistant) -> None:
    current = {
        CONF_MIN_INTERVAL: 10,
        CONF_MQTT_MODE: MODE_EXTERNAL,
        CONF_MQTT_FORMAT: FORMAT_RLDSP,
        CONF_MQTT_TOPIC_GROUP: "house",
        CONF_MQTT_QOS: 1,
        CONF_MQTT_RETAIN: True,
        CONF_LOG_READINGS: True,
    }
    entry = _entry(hass, current)

    result = await _open(hass, entry)
    # The first step asks only what every user answers; MQTT details come next, when MQTT is on.
    assert _prefilled(result) == {k: current[k] for k in _INIT_FIELDS}
    result = await _submit(hass, result, {})
    assert result["step_id"] == "mqtt"
    assert _prefilled(result) == {
        **{k: v for k, v in DEFAULTS.items() if k not in _INIT_FIELDS},
        **{k: v for k, v in current.items() if k not in _INIT_FIELDS},
        CONF_MQTT_QOS: "1",  # QoS is a choice of two
    }
    qos = next(m for m in _schema(result).schema if str(m) == CONF_MQTT_QOS)
    assert _schema(result).schema[qos].validators[0].config["options"] == ["0", "1"]


async def test_mqtt_details_are_not_asked_while_mqtt_is_off(hass: HomeAssistant) -> None:
    entry = _entry(hass)

    result = await _open(hass, entry)

    assert {str(m) for m in _schema(result).schema} == set(_INIT_FIELDS)


async def test_reading_log_without_mqtt(hass: HomeAssistant) -> None:
    """Logging alone needs no broker: the dialog ends after the first step."""
    entry = _entry(hass)

    result = await _submit(hass, await _open(hass, entry), {CONF_LOG_READINGS: True})

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options == {**DEFAULTS, CONF_LOG_READINGS: True}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        (CONF_MQTT_TOPIC_PREFIX, "smart+meter"),
        (CONF_MQTT_TOPIC_PREFIX, " "),
        (CONF_MQTT_TOPIC_GROUP, "#"),
    ],
)
async def test_unpublishable_topic_is_refused(hass: HomeAssistant, field: str, value: str) -> None:
    entry = _entry(hass, {CONF_MIN_INTERVAL: 3})

    result = await _through_mqtt_step(hass, entry, {CONF_MQTT_MODE: MODE_EXTERNAL, field: value})

    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "mqtt"
    assert result["errors"] == {field: "invalid_topic"}
    # The form keeps what the user typed, so it can be corrected rather than retyped.
    assert _prefilled(result)[field] == value
    assert entry.options == {CONF_MIN_INTERVAL: 3}

    result = await _submit(hass, result, {field: "home"})
    assert result["step_id"] == "mqtt_broker"


async def test_home_assistant_mqtt_must_be_set_up_first(hass: HomeAssistant) -> None:
    entry = _entry(hass)

    result = await _submit(hass, await _open(hass, entry), {CONF_MQTT_MODE: MODE_HOMEASSISTANT})

    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_MQTT_MODE: "mqtt_not_configured"}
    assert entry.options == {}


@requires_mosquitto
@pytest.mark.usefixtures("home_assistant_mqtt")
async def test_through_home_assistants_mqtt(hass: HomeAssistant) -> None:
    """With the MQTT integration set up there is no broker to ask for."""
    entry = _entry(hass)
    choices = {
        CONF_MQTT_MODE: MODE_HOMEASSISTANT,
        CONF_MQTT_FORMAT: FORMAT_RLDSP,
        CONF_MQTT_TOPIC_GROUP: "house",
        CONF_MQTT_QOS: 1.0,
        CONF_MQTT_RETAIN: True,
    }

    result = await _through_mqtt_step(hass, entry, choices)

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options == {**DEFAULTS, **choices, CONF_MQTT_QOS: 1}


@requires_mosquitto
async def test_external_broker_saved_after_it_accepted(
    hass: HomeAssistant, brokers: Callable[..., Mosquitto]
) -> None:
    broker = brokers()
    entry = _entry(hass, {CONF_MIN_INTERVAL: 7, "from_a_newer_version": "x"})

    result = await _to_broker_step(hass, entry, **{CONF_MQTT_QOS: 1})
    assert _prefilled(result)[CONF_MQTT_PORT] == 1883
    result = await _submit(hass, result, _broker(broker.port, **{CONF_MQTT_CLIENT_ID: "meter1"}))

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options == {
        **DEFAULTS,
        CONF_MIN_INTERVAL: 7,
        "from_a_newer_version": "x",
        CONF_MQTT_MODE: MODE_EXTERNAL,
        CONF_MQTT_QOS: 1,
        CONF_MQTT_HOST: "127.0.0.1",
        CONF_MQTT_PORT: broker.port,
        CONF_MQTT_TLS: False,
        CONF_MQTT_CHECK_HOSTNAME: True,
        CONF_MQTT_CLIENT_ID: "meter1",
    }


async def test_turning_mqtt_off_keeps_the_broker_for_later(hass: HomeAssistant) -> None:
    broker = _broker(1883, **{CONF_MQTT_USERNAME: "meter", CONF_MQTT_PASSWORD: PASSWORD})
    entry = _entry(hass, {CONF_MQTT_MODE: MODE_EXTERNAL, **broker})

    result = await _submit(hass, await _open(hass, entry), {CONF_MQTT_MODE: MODE_OFF})

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options == {**DEFAULTS, **broker}


@requires_mosquitto
async def test_cleared_broker_fields_stay_cleared(
    hass: HomeAssistant, brokers: Callable[..., Mosquitto]
) -> None:
    """An optional field the user empties must not come back from the old options."""
    broker = brokers()
    old = _broker(broker.port, **{CONF_MQTT_USERNAME: "old", CONF_MQTT_CLIENT_ID: "old-id"})
    entry = _entry(hass, {**DEFAULTS, CONF_MQTT_MODE: MODE_EXTERNAL, **old})

    result = await _to_broker_step(hass, entry)
    assert _prefilled(result) == {**old, CONF_MQTT_TLS: False, CONF_MQTT_CHECK_HOSTNAME: True}
    result = await _submit(hass, result, _broker(broker.port))

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert CONF_MQTT_USERNAME not in entry.options
    assert CONF_MQTT_CLIENT_ID not in entry.options
    assert entry.options[CONF_MQTT_HOST] == "127.0.0.1"


ERRORS = [
    "refused",
    "tls_failed",
    "tls_verify_failed",
    "invalid_auth",
    "file_not_found",
    "invalid_certificate",
]


def _wrong_then_right(
    error: str,
    brokers: Callable[..., Mosquitto],
    pki: Certificates,
    tmp_path: Path,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Broker settings that fail with `error`, and the corrected ones a user would enter."""
    tls = {CONF_MQTT_TLS: True, CONF_MQTT_CA_FILE: str(pki.ca)}
    if error == "refused":
        return _broker(free_port()), _broker(brokers().port)
    if error == "tls_failed":
        port = brokers().port
        return _broker(port, **{CONF_MQTT_TLS: True}), _broker(port, **{CONF_MQTT_TLS: False})
    if error == "tls_verify_failed":
        # The broker's certificate names "localhost", not the address the user typed.
        port = brokers(certificates=pki).port
        return _broker(port, **tls), _broker(port, **tls, **{CONF_MQTT_CHECK_HOSTNAME: False})
    if error == "invalid_auth":
        port = brokers(users={"meter": PASSWORD}).port
        user = {CONF_MQTT_USERNAME: "meter"}
        return (
            _broker(port, **user, **{CONF_MQTT_PASSWORD: "wrong"}),
            _broker(port, **user, **{CONF_MQTT_PASSWORD: PASSWORD}),
        )
    if error == "file_not_found":
        port = brokers(certificates=pki).port
        right = _broker(port, **tls, **{CONF_MQTT_HOST: "localhost"})
        return {**right, CONF_MQTT_CA_FILE: str(tmp_path / "missing-ca.pem")}, right
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate\n")
    port = brokers(certificates=pki, require_client_certificate=True).port
    right = _broker(
        port,
        **tls,
        **{
            CONF_MQTT_HOST: "localhost",
            CONF_MQTT_CLIENT_CERT: str(pki.client_cert),
            CONF_MQTT_CLIENT_KEY: str(pki.client_key),
        },
    )
    return {**right, CONF_MQTT_CLIENT_CERT: str(garbage)}, right


@requires_mosquitto
@pytest.mark.parametrize("error", ERRORS)
async def test_broker_error_says_what_failed_and_nothing_is_saved(
    hass: HomeAssistant,
    brokers: Callable[..., Mosquitto],
    pki: Certificates,
    tmp_path: Path,
    error: str,
) -> None:
    wrong, right = _wrong_then_right(error, brokers, pki, tmp_path)
    entry = _entry(hass, {CONF_MIN_INTERVAL: 2})

    result = await _to_broker_step(hass, entry, **{CONF_LOG_READINGS: True})
    result = await _submit(hass, result, wrong)

    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "mqtt_broker"
    assert result["errors"] == {"base": error}
    assert entry.options == {CONF_MIN_INTERVAL: 2}
    # What the user typed stays in the form, to be corrected rather than retyped.
    assert _prefilled(result).items() >= wrong.items()

    result = await _submit(hass, result, right)

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options.items() >= right.items()
    assert entry.options[CONF_MQTT_MODE] == MODE_EXTERNAL
    assert entry.options[CONF_LOG_READINGS] is True
    assert entry.options[CONF_MIN_INTERVAL] == 2


@requires_mosquitto
async def test_silent_broker_cannot_connect(
    hass: HomeAssistant,
    brokers: Callable[..., Mosquitto],
    silent_server: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Something listens but never answers: the user is told to check host and port."""
    entry = _entry(hass)
    # How long the probe waits for CONNACK; shortened so the test does not idle for 10 s.
    monkeypatch.setattr(mqtt_external, "CONNECT_TIMEOUT", 0.2)

    result = await _to_broker_step(hass, entry)
    result = await _submit(hass, result, _broker(silent_server))

    assert result["errors"] == {"base": "cannot_connect"}
    assert entry.options == {}

    monkeypatch.undo()
    broker = brokers()
    result = await _submit(hass, result, _broker(broker.port))

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options[CONF_MQTT_PORT] == broker.port
