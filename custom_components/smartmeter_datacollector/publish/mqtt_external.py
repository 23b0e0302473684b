"""A connection to a user's own MQTT broker, driven by Home Assistant's event loop.

Client library: paho-mqtt 2.1.0 directly, not aiomqtt.
* Footprint: paho-mqtt is what Home Assistant's own MQTT integration pins (2025.4: 2.1.0), so
  the same pin adds nothing to an install and cannot conflict while it moves with core's pin;
  aiomqtt would be one more package, with its own paho range to keep in step with core's.
* Event loop: paho exposes its socket and `loop_read`/`loop_write`/`loop_misc`; we register the
  socket with the asyncio loop as core's MQTT client does, so there is no network thread and no
  polling (aiomqtt does the same behind its own API).
* Reconnect control: aiomqtt 2.x leaves reconnecting to the caller (re-enter the client's
  `async with` after an MqttError; automatic reconnection only exists in its 3.0 alphas) and ties
  a connection to a context block. Here one paho client lives for the whole run, `connect()` is
  called again after 1, 2, 4 ... 60 s, and paho resends unacknowledged QoS 1 messages itself.
* Blocking work: DNS, TCP connect, the TLS handshake and reading CA/certificate files block;
  they run in the executor (`connect()` and the SSL context build), never on the loop.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
import ssl
from typing import TYPE_CHECKING, Any

import certifi
from paho.mqtt.client import (
    Client,
    ConnectFlags,
    DisconnectFlags,
    MQTTMessageInfo,
    MQTTv311,
)
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode

if TYPE_CHECKING:
    from collections.abc import Callable

    from homeassistant.core import HomeAssistant
    from paho.mqtt.properties import Properties
    from paho.mqtt.reasoncodes import ReasonCode

CONNECT_TIMEOUT = 10.0
KEEPALIVE = 60
BACKOFF_START = 1.0
BACKOFF_MAX = 60.0
# MQTT 5 reason codes paho also maps the MQTT 3.1.1 CONNACK codes 4 and 5 onto.
_BAD_CREDENTIALS = 134
_NOT_AUTHORIZED = 135


class BrokerError(Exception):
    """A connection attempt failed; `reason` is the options-flow error key."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class BrokerSettings:
    """Where and how to connect; `password` is never logged or shown."""

    host: str
    port: int
    tls: bool = False
    ca_file: str | None = None
    check_hostname: bool = True
    username: str | None = None
    password: str | None = None
    client_cert: str | None = None
    client_key: str | None = None
    client_id: str = ""

    def __repr__(self) -> str:
        return f"BrokerSettings({self.host}:{self.port}, tls={self.tls})"


def build_ssl_context(settings: BrokerSettings) -> ssl.SSLContext:
    """Return the TLS context for a broker; reads files, so call it in the executor."""
    for path in (settings.ca_file, settings.client_cert, settings.client_key):
        if path and not Path(path).is_file():
            raise BrokerError("file_not_found", path)
    try:
        context = ssl.create_default_context(cafile=settings.ca_file or certifi.where())
        context.check_hostname = settings.check_hostname
        if settings.client_cert:
            context.load_cert_chain(settings.client_cert, settings.client_key or None)
    except (ssl.SSLError, ValueError) as err:
        raise BrokerError("invalid_certificate", str(err)) from err
    return context


class BrokerConnection:
    """One paho client whose socket the event loop serves; connect, publish, close."""

    def __init__(
        self,
        hass: HomeAssistant,
        settings: BrokerSettings,
        on_lost: Callable[[], None] | None = None,
    ) -> None:
        self._hass = hass
        self._settings = settings
        self._on_lost = on_lost
        self._client = Client(
            CallbackAPIVersion.VERSION2,
            client_id=settings.client_id,
            protocol=MQTTv311,
            reconnect_on_failure=False,
        )
        self._client.connect_timeout = CONNECT_TIMEOUT
        if settings.username:
            self._client.username_pw_set(settings.username, settings.password or None)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._tls_ready = False
        self._connack: asyncio.Future[ReasonCode] | None = None
        self._connected = False
        self._fd: int | None = None
        self._misc: asyncio.TimerHandle | None = None

    @property
    def connected(self) -> bool:
        """Whether the broker accepted us and the socket is still open."""
        return self._connected

    async def async_connect(self) -> None:
        """Connect (or reconnect) and wait for the broker's CONNACK; raise BrokerError."""
        if self._settings.tls and not self._tls_ready:
            context = await self._hass.async_add_executor_job(build_ssl_context, self._settings)
            self._client.tls_set_context(context)
            self._tls_ready = True
        self._detach()
        loop = self._hass.loop
        self._connack = loop.create_future()
        job = loop.run_in_executor(None, self._blocking_connect)
        try:
            # Shielded: a cancelled setup must still close the socket the executor opens.
            await asyncio.shield(job)
        except asyncio.CancelledError:
            job.add_done_callback(self._close_after_cancelled_connect)
            raise
        self._attach()
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT):
                reason = await self._connack
        except TimeoutError as err:
            self._close_socket()
            raise BrokerError("cannot_connect", "no answer to CONNECT") from err
        if reason.is_failure:
            self._close_socket()
            if reason.value in (_BAD_CREDENTIALS, _NOT_AUTHORIZED):
                raise BrokerError("invalid_auth", str(reason))
            raise BrokerError("refused", str(reason))
        if self._client.socket() is None:  # accepted, then dropped before we got here
            raise BrokerError("cannot_connect", "connection closed right after CONNACK")
        self._connected = True
        self._schedule_misc()

    def _close_after_cancelled_connect(self, job: asyncio.Future[None]) -> None:
        if not job.cancelled():
            job.exception()  # retrieved: nobody waits for this attempt any more
        self._close_socket()

    def _blocking_connect(self) -> None:
        settings = self._settings
        try:
            self._client.connect(settings.host, settings.port, KEEPALIVE)
        except ssl.SSLCertVerificationError as err:
            raise BrokerError("tls_verify_failed", err.verify_message) from err
        except ssl.SSLError as err:
            raise BrokerError("tls_failed", err.reason or str(err)) from err
        except ConnectionRefusedError as err:
            raise BrokerError("refused", "connection refused") from err
        except (ConnectionResetError, ConnectionAbortedError, BrokenPipeError) as err:
            # The TCP connection stood, so the broker hung up on the TLS handshake.
            reason = "tls_failed" if settings.tls else "cannot_connect"
            raise BrokerError(reason, str(err)) from err
        except (OSError, ValueError) as err:  # timeouts, DNS, unreachable; paho: empty host
            raise BrokerError("cannot_connect", str(err)) from err

    def publish(self, topic: str, payload: bytes, qos: int, retain: bool) -> bool:
        """Hand one message to the connection; False when it was not taken."""
        if not self._connected:
            return False
        info: MQTTMessageInfo = self._client.publish(topic, payload, qos, retain)
        # QoS 1 messages stay in paho's session and are resent after a reconnect.
        return info.rc == MQTTErrorCode.MQTT_ERR_SUCCESS or (
            qos > 0 and info.rc == MQTTErrorCode.MQTT_ERR_NO_CONN
        )

    def close(self) -> None:
        """Say goodbye to the broker if connected and release the socket."""
        if self._connected:
            self._connected = False
            self._client.disconnect()
            if self._client.socket() is not None:
                self._client.loop_write()
        self._close_socket()

    # Event-loop glue. paho calls these from the loop thread only: during the executor
    # connect() the socket callbacks are unset and the socket is attached afterwards.

    def _attach(self) -> None:
        sock = self._client.socket()
        if sock is None:
            return
        self._fd = sock.fileno()
        self._client.on_socket_close = self._on_socket_close
        self._client.on_socket_register_write = self._on_register_write
        self._client.on_socket_unregister_write = self._on_unregister_write
        self._hass.loop.add_reader(self._fd, self._on_readable)
        if self._client.want_write():
            self._hass.loop.add_writer(self._fd, self._on_writable)

    def _detach(self) -> None:
        self._client.on_socket_close = None
        self._client.on_socket_register_write = None
        self._client.on_socket_unregister_write = None
        if self._misc is not None:
            self._misc.cancel()
            self._misc = None
        if self._fd is not None:
            self._hass.loop.remove_reader(self._fd)
            self._hass.loop.remove_writer(self._fd)
            self._fd = None

    def _close_socket(self) -> None:
        self._detach()
        sock = self._client.socket()
        if sock is not None:
            sock.close()

    def _on_socket_close(self, _client: Client, _userdata: Any, _sock: Any) -> None:
        self._detach()

    def _on_register_write(self, _client: Client, _userdata: Any, _sock: Any) -> None:
        if self._fd is not None:
            self._hass.loop.add_writer(self._fd, self._on_writable)

    def _on_unregister_write(self, _client: Client, _userdata: Any, _sock: Any) -> None:
        if self._fd is not None:
            self._hass.loop.remove_writer(self._fd)

    def _on_readable(self) -> None:
        self._client.loop_read()
        # TLS may hold decrypted bytes the kernel no longer signals as readable.
        sock = self._client.socket()
        while isinstance(sock, ssl.SSLSocket) and sock.pending():
            self._client.loop_read()
            sock = self._client.socket()

    def _on_writable(self) -> None:
        self._client.loop_write()

    def _schedule_misc(self) -> None:
        self._misc = self._hass.loop.call_later(1.0, self._run_misc)

    def _run_misc(self) -> None:
        self._misc = None
        if self._client.loop_misc() == MQTTErrorCode.MQTT_ERR_SUCCESS:
            self._schedule_misc()

    def _on_connect(
        self,
        _client: Client,
        _userdata: Any,
        _flags: ConnectFlags,
        reason: ReasonCode,
        _properties: Properties | None,
    ) -> None:
        if self._connack is not None and not self._connack.done():
            self._connack.set_result(reason)

    def _on_disconnect(
        self,
        _client: Client,
        _userdata: Any,
        _flags: DisconnectFlags,
        _reason: ReasonCode,
        _properties: Properties | None,
    ) -> None:
        if self._connack is not None and not self._connack.done():
            # Closed before CONNACK: over TLS this is how a broker rejects a client certificate.
            reason = "tls_failed" if self._settings.tls else "refused"
            self._connack.set_exception(BrokerError(reason, "closed before CONNACK"))
            return
        was_connected, self._connected = self._connected, False
        if was_connected and self._on_lost is not None:
            self._on_lost()


async def async_probe(hass: HomeAssistant, settings: BrokerSettings) -> None:
    """Connect once and disconnect; raise BrokerError saying what failed."""
    connection = BrokerConnection(hass, settings)
    try:
        await connection.async_connect()
    finally:
        connection.close()
