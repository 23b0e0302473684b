"""A real Mosquitto broker for tests: plain, TLS, passwords, client certificates; kill and restart.

The broker listens on 127.0.0.1 on a free port with a config written per test; certificates come
from a CA generated here with `cryptography`, passwords from `mosquitto_passwd`. A paho subscriber
running in its own thread records what arrives.
"""

from __future__ import annotations

from collections.abc import Callable
import contextlib
from dataclasses import dataclass
import datetime as dt
import os
from pathlib import Path
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from paho.mqtt.client import Client, MQTTMessage
from paho.mqtt.enums import CallbackAPIVersion
import pytest

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
MOSQUITTO_PASSWD = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"
# Upper bounds for setup steps only (never asserted on): how long a broker may take to listen.
_START_TIMEOUT = 10.0


requires_mosquitto = pytest.mark.skipif(
    not Path(MOSQUITTO).exists(), reason="mosquitto is not installed (apt-get install -y mosquitto)"
)


def require_mosquitto() -> None:
    """Skip with a reason when the Debian package is missing (script/test installs it)."""
    if not Path(MOSQUITTO).exists():
        pytest.skip("mosquitto is not installed (apt-get install -y mosquitto)")


def free_port() -> int:
    """Return a TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Certificates:
    """PEM files of a test PKI; `rogue_ca` signed nothing the broker uses."""

    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    rogue_ca: Path


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _write_key(key: ec.EllipticCurvePrivateKey, path: Path) -> Path:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path


def _write_cert(cert: x509.Certificate, path: Path) -> Path:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _self_signed_ca(common_name: str) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = _key()
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(_name(common_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def _leaf(
    ca: tuple[x509.Certificate, ec.EllipticCurvePrivateKey],
    common_name: str,
    usage: x509.ObjectIdentifier,
    dns_names: list[str],
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    ca_cert, ca_key = ca
    key = _key()
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
    )
    if dns_names:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(name) for name in dns_names]),
            critical=False,
        )
    return builder.sign(ca_key, hashes.SHA256()), key


def make_certificates(directory: Path) -> Certificates:
    """Generate a CA, a server certificate for "localhost" only, and a client certificate."""
    directory.mkdir(parents=True, exist_ok=True)
    ca = _self_signed_ca("smartmeter test CA")
    server_cert, server_key = _leaf(ca, "localhost", ExtendedKeyUsageOID.SERVER_AUTH, ["localhost"])
    client_cert, client_key = _leaf(ca, "meter-client", ExtendedKeyUsageOID.CLIENT_AUTH, [])
    rogue, _ = _self_signed_ca("some other CA")
    return Certificates(
        ca=_write_cert(ca[0], directory / "ca.pem"),
        server_cert=_write_cert(server_cert, directory / "server.pem"),
        server_key=_write_key(server_key, directory / "server.key"),
        client_cert=_write_cert(client_cert, directory / "client.pem"),
        client_key=_write_key(client_key, directory / "client.key"),
        rogue_ca=_write_cert(rogue, directory / "rogue-ca.pem"),
    )


class Mosquitto:
    """One broker process with a generated config; start, kill, stop, restart on the same port."""

    def __init__(
        self,
        directory: Path,
        *,
        certificates: Certificates | None = None,
        require_client_certificate: bool = False,
        users: dict[str, str] | None = None,
        persistence: bool = False,
        port: int | None = None,
    ) -> None:
        require_mosquitto()
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.log = directory / "mosquitto.log"
        self._process: subprocess.Popen[bytes] | None = None
        lines = [f"listener {self.port} 127.0.0.1"]
        if os.geteuid() == 0:
            # As root mosquitto switches to the user "mosquitto", who cannot read the test dir.
            lines.append("user root")
        if users:
            password_file = directory / "passwords"
            password_file.touch()
            for user, password in users.items():
                subprocess.run(
                    [MOSQUITTO_PASSWD, "-b", str(password_file), user, password],
                    check=True,
                    capture_output=True,
                )
            lines += ["allow_anonymous false", f"password_file {password_file}"]
        else:
            lines.append("allow_anonymous true")
        if certificates is not None:
            lines += [
                f"cafile {certificates.ca}",
                f"certfile {certificates.server_cert}",
                f"keyfile {certificates.server_key}",
            ]
            if require_client_certificate:
                lines += ["require_certificate true", "use_identity_as_username true"]
        if persistence:
            # Save after every change, so a SIGKILL keeps subscriptions and queued messages.
            lines += [
                "persistence true",
                f"persistence_location {directory}/",
                "autosave_on_changes true",
                "autosave_interval 1",
            ]
        lines += [f"log_dest file {self.log}", "log_type all"]
        self.config = directory / "mosquitto.conf"
        self.config.write_text("\n".join(lines) + "\n")

    @property
    def running(self) -> bool:
        """Whether the process is alive."""
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        """Start the broker and return once it accepts TCP connections."""
        self._process = subprocess.Popen(
            [MOSQUITTO, "-c", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + _START_TIMEOUT
        while True:
            if self._process.poll() is not None:
                raise RuntimeError(f"mosquitto exited: {self.log.read_text(errors='replace')}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5),
            ):
                return
            if time.monotonic() > deadline:
                raise RuntimeError("mosquitto did not start listening")
            time.sleep(0.02)

    def kill(self) -> None:
        """Crash the broker (SIGKILL): clients see the connection drop at once."""
        self._signal(signal.SIGKILL)

    def stop(self) -> None:
        """Stop the broker cleanly (SIGTERM)."""
        self._signal(signal.SIGTERM)

    def restart(self) -> None:
        """Kill and start again on the same port with the same config."""
        self.kill()
        self.start()

    def _signal(self, signum: int) -> None:
        if self._process is None:
            return
        if self._process.poll() is None:
            self._process.send_signal(signum)
        self._process.wait(timeout=_START_TIMEOUT)
        self._process = None


class Subscriber:
    """A real MQTT client in its own thread that records every message it receives."""

    def __init__(
        self,
        port: int,
        *,
        host: str = "127.0.0.1",
        topic: str = "#",
        tls_context: ssl.SSLContext | None = None,
        username: str | None = None,
        password: str | None = None,
        client_id: str = "",
        persistent: bool = False,
    ) -> None:
        self.messages: list[tuple[str, bytes]] = []
        self._condition = threading.Condition()
        self._subscribed = threading.Event()
        self._topic = topic
        self._client = Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            clean_session=not persistent,
        )
        self._qos = 1 if persistent else 0
        if tls_context is not None:
            self._client.tls_set_context(tls_context)
        if username:
            self._client.username_pw_set(username, password)
        self._client.reconnect_delay_set(1, 2)
        self._client.on_connect = self._on_connect
        self._client.on_subscribe = self._on_subscribe
        self._client.on_message = self._on_message
        self._client.connect(host, port)
        self._client.loop_start()

    def _on_connect(self, client: Client, *_args: object) -> None:
        client.subscribe(self._topic, self._qos)

    def _on_subscribe(self, *_args: object) -> None:
        self._subscribed.set()

    def _on_message(self, _client: Client, _userdata: object, message: MQTTMessage) -> None:
        with self._condition:
            self.messages.append((message.topic, bytes(message.payload)))
            self._condition.notify_all()

    def wait_subscribed(self) -> None:
        """Block until the broker acknowledged the subscription."""
        if not self._subscribed.wait(_START_TIMEOUT):
            raise RuntimeError("subscription not acknowledged")

    def wait_for(
        self, predicate: Callable[[list[tuple[str, bytes]]], bool], timeout: float = 20.0
    ) -> list[tuple[str, bytes]]:
        """Block until `predicate(messages)` holds (the timeout only stops a hung test)."""
        with self._condition:
            if not self._condition.wait_for(lambda: predicate(self.messages), timeout):
                raise AssertionError(f"gave up waiting; received {len(self.messages)} messages")
            return list(self.messages)

    def wait_count(self, count: int) -> list[tuple[str, bytes]]:
        """Block until at least `count` messages arrived."""
        return self.wait_for(lambda messages: len(messages) >= count)

    def close(self) -> None:
        """Disconnect and stop the network thread."""
        self._client.disconnect()
        self._client.loop_stop()
