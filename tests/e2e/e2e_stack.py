"""The stack script/develop runs, as real processes: simulated meters on ptys and Home Assistant.

Every process starts in its own session so that stopping it also stops anything it spawned, and
stopping always ends in SIGKILL: a test that failed halfway must not leave a server behind.
"""

from __future__ import annotations

import asyncio
from contextlib import closing, suppress
from dataclasses import dataclass
import importlib.util
import os
from pathlib import Path
import signal
import socket
import subprocess
import sys
import time
from types import ModuleType

import aiohttp

REPO_ROOT = Path(__file__).resolve().parents[2]
TIME_ZONE = "Europe/Zurich"
# Short, so a test sees the next push soon; the meter's own interval would be 5 s.
PUSH_INTERVAL_S = 2.0
# The encrypted simulated meter's key (made up) and a wrong one a user might type.
METER_KEY = "000102030405060708090A0B0C0D0E0F"
WRONG_KEY = "F0E1D2C3B4A5968778695A4B3C2D1E0F"
# Generous bounds for a loaded 2-core machine; nothing is asserted about how long things take.
START_TIMEOUT_S = 300.0
STOP_TIMEOUT_S = 30.0
# pytest-cov hands these to child processes; Home Assistant under a tracer starts far slower and
# the e2e test is about behaviour, not coverage.
_COVERAGE_ENV_PREFIXES = ("COV_CORE_", "COVERAGE_")


def develop_setup() -> ModuleType:
    """script/develop_setup.py as a module: its onboarding is exactly what script/develop does."""
    path = REPO_ROOT / "script" / "develop_setup.py"
    spec = importlib.util.spec_from_file_location("develop_setup", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    # Dataclasses look their module up in sys.modules while the class body is built.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _child_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(_COVERAGE_ENV_PREFIXES)}


@dataclass
class Process:
    """A child process with its log file."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    @classmethod
    def start(cls, name: str, args: list[str], log: Path) -> Process:
        """Start args in a new session, stdout and stderr into log."""
        with log.open("wb") as out:
            popen = subprocess.Popen(
                args,
                cwd=REPO_ROOT,
                env=_child_env(),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return cls(name, popen, log)

    def running(self) -> bool:
        """Tell whether the process is still alive."""
        return self.popen.poll() is None

    def tail(self, lines: int = 40) -> str:
        """The end of the log, for failure messages."""
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """SIGTERM the process group, then SIGKILL whatever is left."""
        if self.running():
            self._signal(signal.SIGTERM)
            with suppress(subprocess.TimeoutExpired):
                self.popen.wait(STOP_TIMEOUT_S)
        # The group may outlive its leader (a child that ignored SIGTERM).
        self._signal(signal.SIGKILL)
        self.popen.wait()

    def _signal(self, signum: int) -> None:
        with suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signum)


def start_simulator(
    link: Path,
    log: Path,
    profile: str,
    *,
    seed: int,
    key: str | None = None,
    line_check: bool = False,
    wait: bool = True,
) -> Process:
    """Start a simulated meter; return once its pty is linked at link (at once if not wait)."""
    args = [
        sys.executable,
        "-m",
        "smartmeter_devtools",
        "simulate",
        "--profile",
        profile,
        "--link",
        str(link),
        "--interval",
        f"{PUSH_INTERVAL_S:g}",
        "--tz",
        TIME_ZONE,
        "--seed",
        str(seed),
        # No solar inverter: grid import stays above zero, so its power changes on every push.
        "--solar-peak",
        "0",
    ]
    if key:
        args += ["--key", key]
    if line_check:
        # Noise for a reader at another baud rate, as a real line: detection must find the rate.
        args += ["--line-check"]
    process = Process.start(f"simulator {link.name}", args, log)
    if wait:
        wait_for_link(process, link)
    return process


def wait_for_link(process: Process, link: Path) -> None:
    """Return once the simulator linked its pty at link; stop it if it never does."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while not link.is_symlink():
        if not process.running() or time.monotonic() > deadline:
            process.stop()
            raise RuntimeError(f"the simulator did not create {link}:\n{process.tail()}")
        time.sleep(0.1)


def write_config(config: Path, http_port: int) -> None:
    """A configuration like script/develop's, on another port and without the Energy setup."""
    config.mkdir(parents=True, exist_ok=True)
    (config / "custom_components").symlink_to(REPO_ROOT / "custom_components")
    # No failed Met.no / Radio Browser / Google Translate cards: the same step as script/develop.
    develop_setup().premark_onboarding(config)
    (config / "configuration.yaml").write_text(
        f"""\
homeassistant:
  name: Smart meter end-to-end test
  time_zone: {TIME_ZONE}
  unit_system: metric
  currency: CHF
  country: CH
  latitude: 47.3769
  longitude: 8.5417
  elevation: 408
http:
  server_host: 127.0.0.1
  server_port: {http_port}
config:
logger:
  default: warning
  logs:
    custom_components.smartmeter_datacollector: debug
"""
    )


def start_home_assistant(config: Path, log: Path) -> Process:
    """Start hass on the configuration; --skip-pip so it never installs into the venv."""
    hass = Path(sys.executable).with_name("hass")
    return Process.start("Home Assistant", [str(hass), "--config", str(config), "--skip-pip"], log)


def onboard(url: str, hass: Process) -> None:
    """Wait for Home Assistant and create the demo user, as script/develop does."""
    setup = develop_setup()

    async def run() -> None:
        async with aiohttp.ClientSession() as session:
            api = setup.HomeAssistant(session, url)
            steps = await api.wait_until_up(hass.popen.pid)
            await api.onboard(steps)

    # A private loop, not asyncio.run(): that would also reset the thread's current loop, which
    # belongs to pytest-asyncio.
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(run())
    except setup.SetupError as err:
        raise RuntimeError(f"onboarding failed: {err}\n{hass.tail()}") from err
    finally:
        loop.close()
