"""Re-publishing to a user's own broker: a real Mosquitto, a real subscriber, real TLS."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from functools import partial
import json
import logging
import ssl
from typing import TYPE_CHECKING, Any

from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util
from mosquitto import (
    Certificates,
    Mosquitto,
    Subscriber,
    free_port,
    requires_mosquitto,
)
import pytest
from pytest_homeassistant_custom_component.common import async_fire_time_changed
from seed_expectations import (
    Vector,
    bundle,
    decode,
    expected_source,
    expected_time,
    per_value,
    reading_vectors,
)

from custom_components.smartmeter_datacollector.const import DOMAIN
from custom_components.smartmeter_datacollector.publish import (
    async_create_publishers,
    mqtt_external,
)
from custom_components.smartmeter_datacollector.publish.mqtt import (
    ExternalBrokerTransport,
    MqttOutput,
    MqttPublisher,
)
from custom_components.smartmeter_datacollector.publish.mqtt_external import BrokerSettings
from custom_components.smartmeter_datacollector.publish.options_mqtt import (
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
    CONF_MQTT_TLS,
    CONF_MQTT_USERNAME,
    FORMAT_PER_VALUE,
    FORMAT_RLDSP,
    MODE_EXTERNAL,
    async_validate_broker,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from homeassistant.core import HomeAssistant

    from custom_components.smartmeter_datacollector.coordinator import ReadingPublisher
    from custom_components.smartmeter_datacollector.dlms.models import Reading

PASSWORD = "correct horse battery staple"  # noqa: S105 - the test broker's password
# Sockets are off in Home Assistant tests; these talk to brokers on 127.0.0.1 only.
pytestmark = [requires_mosquitto, pytest.mark.usefixtures("socket_enabled")]
VECTORS: list[Vector] = [p.values[0] for p in reading_vectors() if p.values[0] is not None]


@pytest.fixture
def subscribe(hass: HomeAssistant) -> Iterator[Callable[..., Any]]:
    """Connect paho subscribers (in the executor: connecting blocks); closed after the test."""
    made: list[Subscriber] = []

    async def connect(port: int, **kwargs: Any) -> Subscriber:
        subscriber = await hass.async_add_executor_job(partial(Subscriber, port, **kwargs))
        made.append(subscriber)
        await hass.async_add_executor_job(subscriber.wait_subscribed)
        return subscriber

    yield connect
    for subscriber in made:
        subscriber.close()


async def wait_until(predicate: Callable[[], bool]) -> None:
    """Let the event loop run until the condition holds (the bound only stops a hung test)."""
    async with asyncio.timeout(30):
        while not predicate():  # noqa: ASYNC110 - the state lives in paho callbacks and counters
            await asyncio.sleep(0.02)


async def received(
    hass: HomeAssistant, subscriber: Subscriber, count: int
) -> list[tuple[str, bytes]]:
    """Wait (off the event loop) until the subscriber has `count` messages."""
    return await hass.async_add_executor_job(subscriber.wait_count, count)


def _first_vector() -> Vector:
    if not VECTORS:
        pytest.skip("no shared vectors")
    return VECTORS[0]


def _options(port: int, **extra: Any) -> dict[str, Any]:
    return {
        CONF_MQTT_MODE: MODE_EXTERNAL,
        CONF_MQTT_HOST: "127.0.0.1",
        CONF_MQTT_PORT: port,
        **extra,
    }


def _when_of(payload: bytes, fmt: str) -> dt.datetime:
    """The time a message carries (used where the meter sent none and host time was taken)."""
    if fmt == FORMAT_RLDSP:
        return dt.datetime.fromisoformat(json.loads(payload)["meter"]["ts"])
    return dt.datetime.fromtimestamp(json.loads(payload)["timestamp"], dt.UTC)


@pytest.mark.parametrize("fmt", [FORMAT_PER_VALUE, FORMAT_RLDSP])
async def test_every_vector_arrives_byte_for_byte(
    hass: HomeAssistant,
    brokers: Callable[..., Mosquitto],
    subscribe: Callable[..., Any],
    fmt: str,
) -> None:
    """What a Telegraf or openHAB subscriber of the seed tool got, it gets from us."""
    if not VECTORS:
        pytest.skip("no shared vectors")
    build = bundle if fmt == FORMAT_RLDSP else per_value
    broker = brokers()
    subscriber = await subscribe(broker.port)
    runs: list[tuple[Vector, ReadingPublisher, int]] = []
    for vector in VECTORS:
        reading = decode(vector)
        (publisher,) = await async_create_publishers(
            hass,
            _options(broker.port, **{CONF_MQTT_FORMAT: fmt}),
            vector.name,
            profile=vector.profile,
            entry_id=vector.name,
        )
        await publisher.async_start()
        for _ in range(3):  # meters without an identifier publish after three messages
            publisher.publish(reading)
        runs.append((vector, publisher, len(build(vector, dt_util.utcnow(), vector.name))))

    messages = await received(hass, subscriber, sum(3 * count for _, _, count in runs))
    source_level = 2 if fmt == FORMAT_RLDSP else 1
    for vector, publisher, per_reading in runs:
        assert publisher.stats["published"] == 3 * per_reading
        assert publisher.stats["dropped"] == 0
        await publisher.async_stop()
        if not per_reading:  # a reading with no value the seed knows publishes nothing
            continue
        source = expected_source(vector, vector.name)
        mine = [m for m in messages if m[0].split("/")[source_level] == source]
        expected = [
            build(vector, expected_time(vector) or _when_of(payload, fmt), vector.name)[
                index % per_reading
            ]
            for index, (_, payload) in enumerate(mine)
        ]
        assert len(mine) == 3 * per_reading, vector.name
        assert mine == expected, vector.name


def _tls_context(pki: Certificates, *, client: bool = False) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(pki.ca))
    if client:
        context.load_cert_chain(pki.client_cert, pki.client_key)
    return context


async def test_validation_plain(hass: HomeAssistant, brokers: Callable[..., Mosquitto]) -> None:
    broker = brokers()
    assert await async_validate_broker(hass, _options(broker.port)) is None
    assert await async_validate_broker(hass, _options(free_port())) == "refused"
    assert await async_validate_broker(hass, _options(broker.port, **{CONF_MQTT_HOST: ""})) == (
        "cannot_connect"
    )
    # TLS spoken to a plain listener: the handshake fails.
    assert await async_validate_broker(hass, _options(broker.port, **{CONF_MQTT_TLS: True})) == (
        "tls_failed"
    )


async def test_validation_tls(
    hass: HomeAssistant, brokers: Callable[..., Mosquitto], pki: Certificates, tmp_path: Path
) -> None:
    broker = brokers(certificates=pki)
    tls = {CONF_MQTT_TLS: True, CONF_MQTT_CA_FILE: str(pki.ca)}
    by_name = _options(broker.port, **tls, **{CONF_MQTT_HOST: "localhost"})
    assert await async_validate_broker(hass, by_name) is None
    assert await async_validate_broker(hass, {**by_name, CONF_MQTT_CA_FILE: str(pki.rogue_ca)}) == (
        "tls_verify_failed"
    )
    # The certificate names "localhost" only.
    by_address = _options(broker.port, **tls)
    assert await async_validate_broker(hass, by_address) == "tls_verify_failed"
    assert (
        await async_validate_broker(hass, {**by_address, CONF_MQTT_CHECK_HOSTNAME: False}) is None
    )
    missing = str(tmp_path / "missing-ca.pem")
    assert await async_validate_broker(hass, {**by_name, CONF_MQTT_CA_FILE: missing}) == (
        "file_not_found"
    )
    # Plain MQTT spoken to a TLS listener: the broker hangs up.
    assert await async_validate_broker(hass, _options(broker.port)) == "refused"


async def test_validation_passwords(hass: HomeAssistant, brokers: Callable[..., Mosquitto]) -> None:
    broker = brokers(users={"meter": PASSWORD})
    good = _options(broker.port, **{CONF_MQTT_USERNAME: "meter", CONF_MQTT_PASSWORD: PASSWORD})
    assert await async_validate_broker(hass, good) is None
    assert (
        await async_validate_broker(hass, {**good, CONF_MQTT_PASSWORD: "wrong"}) == "invalid_auth"
    )
    assert await async_validate_broker(hass, _options(broker.port)) == "invalid_auth"


async def test_validation_client_certificate(
    hass: HomeAssistant, brokers: Callable[..., Mosquitto], pki: Certificates, tmp_path: Path
) -> None:
    broker = brokers(certificates=pki, require_client_certificate=True)
    anonymous = _options(
        broker.port,
        **{CONF_MQTT_TLS: True, CONF_MQTT_CA_FILE: str(pki.ca), CONF_MQTT_HOST: "localhost"},
    )
    with_cert = {
        **anonymous,
        CONF_MQTT_CLIENT_CERT: str(pki.client_cert),
        CONF_MQTT_CLIENT_KEY: str(pki.client_key),
    }
    assert await async_validate_broker(hass, with_cert) is None
    assert await async_validate_broker(hass, anonymous) == "tls_failed"
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate\n")
    assert await async_validate_broker(
        hass, {**with_cert, CONF_MQTT_CLIENT_CERT: str(garbage)}
    ) == ("invalid_certificate")
    missing = str(tmp_path / "missing.key")
    assert await async_validate_broker(hass, {**with_cert, CONF_MQTT_CLIENT_KEY: missing}) == (
        "file_not_found"
    )


@pytest.mark.parametrize("kind", ["plain", "tls", "password", "client_certificate"])
async def test_publishing_to_each_kind_of_broker(
    hass: HomeAssistant,
    brokers: Callable[..., Mosquitto],
    subscribe: Callable[..., Any],
    pki: Certificates,
    kind: str,
) -> None:
    vector = _first_vector()
    reading = decode(vector)
    tls = {CONF_MQTT_TLS: True, CONF_MQTT_CA_FILE: str(pki.ca), CONF_MQTT_HOST: "localhost"}
    if kind == "plain":
        broker = brokers()
        options, subscriber_args = _options(broker.port), {}
    elif kind == "tls":
        broker = brokers(certificates=pki)
        options = _options(broker.port, **tls)
        subscriber_args = {"host": "localhost", "tls_context": _tls_context(pki)}
    elif kind == "password":
        broker = brokers(users={"meter": PASSWORD, "reader": PASSWORD})
        options = _options(
            broker.port, **{CONF_MQTT_USERNAME: "meter", CONF_MQTT_PASSWORD: PASSWORD}
        )
        subscriber_args = {"username": "reader", "password": PASSWORD}
    else:
        broker = brokers(certificates=pki, require_client_certificate=True)
        options = _options(
            broker.port,
            **tls,
            **{
                CONF_MQTT_CLIENT_CERT: str(pki.client_cert),
                CONF_MQTT_CLIENT_KEY: str(pki.client_key),
            },
        )
        subscriber_args = {"host": "localhost", "tls_context": _tls_context(pki, client=True)}
    subscriber = await subscribe(broker.port, **subscriber_args)
    options[CONF_MQTT_CLIENT_ID] = "smartmeter-test"
    (publisher,) = await async_create_publishers(
        hass, options, vector.name, profile=vector.profile, entry_id="entry"
    )
    await publisher.async_start()
    for _ in range(3):
        publisher.publish(reading)
    expected = per_value(vector, expected_time(vector) or dt_util.utcnow(), vector.name) * 3
    messages = await received(hass, subscriber, len(expected))
    if expected_time(vector) is not None:
        assert messages == expected
    assert [topic for topic, _ in messages] == [topic for topic, _ in expected]
    assert publisher.stats["connects"] == 1
    await publisher.async_stop()


def _stamped(reading: Reading, second: int) -> Reading:
    base = dt.datetime(2024, 5, 4, 11, 39, 0, tzinfo=dt.UTC)
    return dataclasses.replace(reading, timestamp=base + dt.timedelta(seconds=second))


async def test_broker_killed_and_restarted_mid_stream(
    hass: HomeAssistant,
    brokers: Callable[..., Mosquitto],
    subscribe: Callable[..., Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Readings keep coming while the broker is gone; the newest queued ones arrive after."""
    vector = _first_vector()
    reading = decode(vector)
    # The broker keeps the subscriber's session on disk, so nothing depends on who reconnects first.
    broker = brokers(persistence=True)
    subscriber = await subscribe(broker.port, client_id="reader", persistent=True)
    transport = ExternalBrokerTransport(hass, BrokerSettings("127.0.0.1", broker.port), "issue")
    output = MqttOutput(profile=vector.profile, bundle=True, qos=1)
    publisher = MqttPublisher(hass, transport, output, meter_id_fallback="meter", queue_size=4)
    await publisher.async_start()
    for second in range(3):
        publisher.publish(_stamped(reading, second))
    await received(hass, subscriber, 3)

    await hass.async_add_executor_job(broker.kill)
    await wait_until(lambda: not publisher.stats["connected"])
    for second in range(3, 13):
        publisher.publish(_stamped(reading, second))  # returns at once, broker or not
    assert publisher.stats["queued"] == 4
    assert publisher.stats["dropped"] == 6

    await hass.async_add_executor_job(broker.start)
    # Handed to paho first: a live reading published into a still-full queue would push the
    # oldest queued one out, as it should.
    await wait_until(lambda: publisher.stats["connected"] and not publisher.stats["queued"])
    publisher.publish(_stamped(reading, 13))

    def seconds_of(got: list[tuple[str, bytes]]) -> list[str]:
        return sorted({json.loads(payload)["meter"]["ts"][17:19] for _, payload in got})

    # QoS 1 promises delivery, not order: a message in flight when the link came back is sent
    # again after the live one, so wait for all of them rather than for the last one published.
    expected = ["00", "01", "02", "09", "10", "11", "12", "13"]
    try:
        messages = await hass.async_add_executor_job(
            subscriber.wait_for, lambda got: set(expected) <= set(seconds_of(got)), 60.0
        )
    except AssertionError:
        got = [json.loads(payload)["meter"]["ts"][17:19] for _, payload in subscriber.messages]
        raise AssertionError(f"received {got}, stats {publisher.stats}") from None
    # The oldest of the outage were dropped (and counted); the four newest and the live one came.
    assert seconds_of(messages) == expected
    assert publisher.stats["published"] >= 8
    assert publisher.stats["failures"] >= 1
    assert publisher.stats["connects"] == 2
    await publisher.async_stop()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_repair_issue_after_ten_minutes_unreachable(
    hass: HomeAssistant, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    port = free_port()
    options = _options(port, **{CONF_MQTT_USERNAME: "meter", CONF_MQTT_PASSWORD: PASSWORD})
    (publisher,) = await async_create_publishers(hass, options, "meter", entry_id="entry1")
    await publisher.async_start()
    await wait_until(lambda: publisher.stats["failures"] >= 1)
    registry = ir.async_get(hass)
    issue_id = "mqtt_broker_unreachable_entry1"
    assert registry.async_get_issue(DOMAIN, issue_id) is None

    async_fire_time_changed(hass, dt_util.utcnow() + dt.timedelta(minutes=10))
    await hass.async_block_till_done()
    issue = registry.async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_key == "mqtt_broker_unreachable"
    assert issue.translation_placeholders == {"broker": f"127.0.0.1:{port}"}
    assert publisher.stats["last_error"] == "refused"

    broker = Mosquitto(tmp_path / "late", users={"meter": PASSWORD}, port=port)
    await hass.async_add_executor_job(broker.start)
    try:
        await wait_until(lambda: publisher.stats["connected"])
        assert registry.async_get_issue(DOMAIN, issue_id) is None
        await publisher.async_stop()
    finally:
        broker.kill()
    # The password is in no log line and no diagnostics counter.
    assert PASSWORD not in caplog.text
    assert PASSWORD not in repr(publisher.stats)
    assert PASSWORD not in repr(BrokerSettings("h", 1, password=PASSWORD))


async def test_silent_server_is_cannot_connect(
    hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Something listens but never answers CONNECT (a wrong port, a firewall's tarpit)."""
    monkeypatch.setattr(mqtt_external, "CONNECT_TIMEOUT", 0.2)
    held: list[asyncio.StreamWriter] = []

    async def hold(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    try:
        port = server.sockets[0].getsockname()[1]
        assert await async_validate_broker(hass, _options(port)) == "cannot_connect"
    finally:
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()


async def test_unloading_while_a_tls_handshake_hangs(
    hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch, pki: Certificates
) -> None:
    """Removing the meter must not wait for (or leak) a connection attempt stuck in TLS."""
    monkeypatch.setattr(mqtt_external, "KEEPALIVE", 1)  # paho's handshake timeout
    held: list[asyncio.StreamWriter] = []

    async def hold(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    try:
        port = server.sockets[0].getsockname()[1]
        options = _options(port, **{CONF_MQTT_TLS: True, CONF_MQTT_CA_FILE: str(pki.ca)})
        (publisher,) = await async_create_publishers(hass, options, "meter")
        await publisher.async_start()
        await wait_until(lambda: bool(held))  # the handshake has begun in the executor
        await publisher.async_stop()
        assert publisher.stats["connected"] is False
    finally:
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()
