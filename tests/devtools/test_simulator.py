"""The simulated meter on a real pseudo-terminal, read back through the slave end and decoded."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
import errno
import json
import math
import os
from pathlib import Path
import select
import signal
import subprocess
import sys
import termios
import threading
import time
from zoneinfo import ZoneInfo

import pytest

from custom_components.smartmeter_datacollector.dlms import PROFILES, MeterDecoder, Reading
from custom_components.smartmeter_datacollector.dlms.capture import load_capture
from smartmeter_devtools.framing_encode import iec62056_21_block
from smartmeter_devtools.load_model import Household
from smartmeter_devtools.push_encode import MeterEncoder
from smartmeter_devtools.simulate_cli import add_parser, run
from smartmeter_devtools.simulator import (
    PtyLink,
    Simulator,
    SimulatorConfig,
)

REPO = Path(__file__).parents[2]
VECTORS = REPO.parent / "shared" / "vectors"
TZ = ZoneInfo("Europe/Zurich")
KEY = "000102030405060708090A0B0C0D0E0F"
AUTH_KEY = "D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF"
# Guards against a hung simulator; no test asserts how long anything takes.
GIVE_UP_S = 30.0


class PortReader:
    """The reading side of the port, as an integration opens it."""

    def __init__(self, path: Path) -> None:
        self.fd = os.open(path, os.O_RDWR | os.O_NOCTTY)

    def read(self) -> bytes:
        """Next bytes; b"" once the simulator has closed its end."""
        ready, _, _ = select.select([self.fd], [], [], GIVE_UP_S)
        if not ready:
            pytest.fail("the simulator sent nothing")
        try:
            return os.read(self.fd, 4096)
        except OSError as err:
            if err.errno == errno.EIO:
                return b""
            raise

    def readings(self, decoder: MeterDecoder, want: int) -> list[Reading]:
        readings: list[Reading] = []
        while len(readings) < want and (data := self.read()):
            readings += decoder.feed(data)
        return readings

    def read_until(self, marker: bytes, extra: int = 0) -> bytes:
        """Read until `marker` and `extra` more bytes (the BCC after ETX) have arrived."""
        data = b""
        while (at := data.find(marker)) < 0 or len(data) < at + len(marker) + extra:
            chunk = self.read()
            if not chunk:
                break
            data += chunk
        return data

    def close(self) -> None:
        os.close(self.fd)


@contextmanager
def running(config: SimulatorConfig) -> Iterator[tuple[Simulator, threading.Event]]:
    stop = threading.Event()
    simulator = Simulator(config, stop)
    thread = threading.Thread(target=simulator.run, daemon=True)
    thread.start()
    try:
        yield simulator, stop
    finally:
        stop.set()
        thread.join(GIVE_UP_S)
        assert not thread.is_alive()


def config(tmp_path: Path, profile: str, *, interval: float = 0.05, **kwargs) -> SimulatorConfig:
    return SimulatorConfig(
        profile=profile, link=tmp_path / "ttySM0", interval=interval, tz=TZ, **kwargs
    )


def energy_keys(reading: Reading) -> list[str]:
    return [k for k, m in reading.values.items() if m.unit in ("Wh", "varh")]


@pytest.mark.parametrize(
    ("profile", "key", "auth_key"),
    [
        ("lge450", KEY, AUTH_KEY),
        ("lge570", KEY, None),
        ("lge360", None, None),
        ("iskraam550", None, None),
        ("kamstrup_han", None, None),
        ("kaifa_mbus", KEY, None),
        ("generic", None, None),
    ],
)
def test_pushes_arrive_on_the_pty_and_decode(tmp_path, profile, key, auth_key):
    cfg = config(
        tmp_path,
        profile,
        count=4,
        key=bytes.fromhex(key) if key else None,
        auth_key=bytes.fromhex(auth_key) if auth_key else None,
    )
    with running(cfg) as (simulator, _stop):
        assert cfg.link.is_symlink()
        assert str(cfg.link.readlink()) == simulator.link.device
        reader = PortReader(cfg.link)
        readings = reader.readings(MeterDecoder(profile, key=key, auth_key=auth_key, tz=TZ), 4)
        reader.close()
    assert len(readings) == 4
    assert simulator.delivered == 4
    assert not cfg.link.exists()
    assert len({r.meter_id for r in readings}) == 1
    assert readings[0].meter_id
    stamps = [r.timestamp for r in readings]
    assert stamps == sorted(stamps)
    for code in energy_keys(readings[0]):
        series = [r.values[code].value for r in readings if code in r.values]
        assert series == sorted(series), code
    for reading in readings:
        for code, measurement in reading.values.items():
            if measurement.unit == "V":
                assert 215 <= float(measurement.value) <= 245, code


def test_a_usb_adapters_pieces_make_whole_pushes(tmp_path):
    """--usb-latency hands each push over in line-speed pieces, as a USB adapter does."""
    cfg = config(tmp_path, "lge360", count=2, usb_latency=0.004)
    with running(cfg) as (simulator, _stop):
        reader = PortReader(cfg.link)
        decoder = MeterDecoder("lge360", tz=TZ)
        reads = 0
        readings: list[Reading] = []
        while len(readings) < 2 and (data := reader.read()):
            reads += 1
            readings += decoder.feed(data)
        reader.close()
    assert len(readings) == 2
    assert simulator.delivered == 2
    # 9600 Bd 8N1 for 4 ms is 4 bytes a piece: many reads per push, none of them the whole push.
    assert reads > 2 * 4
    assert decoder.stats.bytes_discarded == 0


def test_energy_counters_integrate_the_reported_power():
    start = datetime(2025, 6, 21, 9, 0, tzinfo=TZ)  # morning load, then solar export
    household = Household(seed=5, start=start, tz=TZ)
    encoder = MeterEncoder("lge450", tz=TZ, seed=5)
    decoder = MeterDecoder("lge450", tz=TZ)
    step = 10
    readings = [
        decoder.feed(encoder.encode(household.advance(start + timedelta(seconds=step * n))).data)[0]
        for n in range(6 * 60 * 4)  # four hours of pushes
    ]
    for power, energy in (("1-0:1.7.0", "1-1:1.8.0"), ("1-0:2.7.0", "1-1:2.8.0")):
        integrated = sum(float(r.values[power].value) for r in readings[1:]) * step / 3600
        counted = float(readings[-1].values[energy].value) - float(readings[0].values[energy].value)
        hours = (len(readings) - 1) * step / 3600
        # Counters show whole Wh; powers whole W (rounding error at most 0.5 W all along).
        assert counted == pytest.approx(integrated, abs=1 + 0.5 * hours)
        series = [r.values[energy].value for r in readings]
        assert series == sorted(series)
    assert integrated > 0  # the sun is up: some export


def test_household_values_fit_together_over_a_day():
    start = datetime(2025, 6, 21, 0, 0, tzinfo=TZ)
    household = Household(seed=11, start=start, tz=TZ)
    snapshots = [household.advance(start + timedelta(minutes=5 * n)) for n in range(288)]
    for snap in snapshots:
        regs = snap.registers
        for p, q, i, u, pf in (
            (21, 23, 31, 32, 33),
            (41, 43, 51, 52, 53),
            (61, 63, 71, 72, 73),
        ):
            net = regs[f"{p}.7.0"] - regs[f"{p + 1}.7.0"]
            reactive = regs[f"{q}.7.0"] - regs[f"{q + 1}.7.0"]
            apparent = math.hypot(net, reactive)
            assert 215 <= regs[f"{u}.7.0"] <= 245
            assert regs[f"{i}.7.0"] * regs[f"{u}.7.0"] == pytest.approx(apparent)
            assert regs[f"{pf}.7.0"] == pytest.approx(abs(net) / apparent if apparent else 1.0)
        assert 49.8 <= regs["14.7.0"] <= 50.2
        assert regs["1.8.0"] == pytest.approx(regs["1.8.1"] + regs["1.8.2"])
        assert regs["3.8.0"] == pytest.approx(regs["5.8.0"] + regs["6.8.0"])
        assert regs["4.8.0"] == pytest.approx(regs["7.8.0"] + regs["8.8.0"])
    imports = [s.registers["1.7.0"] for s in snapshots]
    exports = [s.registers["2.7.0"] for s in snapshots]
    assert min(imports[:48]) > 0  # midnight to 4 am: no sun
    assert max(exports[120:180]) > 0  # 10 am to 3 pm: solar export on the longest day
    assert max(imports) > 1500  # appliances switch on during the day


def test_a_restarted_simulator_continues_its_counters():
    early = datetime(2025, 3, 1, 12, 0, tzinfo=TZ)
    later = early + timedelta(days=2)
    first = Household(seed=1, start=early, tz=TZ).advance(early).registers["1.8.0"]
    second = Household(seed=1, start=later, tz=TZ).advance(later).registers["1.8.0"]
    assert second > first


def test_a_restarted_simulator_with_a_state_file_never_counts_backwards(tmp_path):
    state = tmp_path / "state.json"
    runs = []
    for _ in range(2):
        cfg = config(tmp_path, "lge450", count=3, state=state, solar_peak_w=0.0)
        with running(cfg):
            reader = PortReader(cfg.link)
            runs.append(reader.readings(MeterDecoder("lge450", tz=TZ), 3))
            reader.close()
        assert json.loads(state.read_text())["seed"] == cfg.seed
    last_of_first = runs[0][-1].values["1-1:1.8.0"].value
    first_of_second = runs[1][0].values["1-1:1.8.0"].value
    assert last_of_first <= first_of_second
    # A file from another seed (another simulated household) or garbage is not continued.
    for content in ('{"seed": 99, "counters": {"1.8.1": 5}}', "not json", "[]"):
        state.write_text(content)
        with running(config(tmp_path, "lge450", count=0, state=state)):
            pass
        assert json.loads(state.read_text())["counters"]["1.8.1"] > 5


def test_siemens_answers_sign_on_and_option_select_with_a_readout(tmp_path):
    cfg = config(tmp_path, "siemens_td3511", count=2)
    with running(cfg):
        reader = PortReader(cfg.link)
        readings = []
        for _ in range(2):
            os.write(reader.fd, b"/?!\r\n")
            identification = reader.read_until(b"\r\n")
            assert identification.startswith(b"/SIE6")  # '6': the meter offers 19200 Bd
            os.write(reader.fd, b"\x06060\r\n")
            readout = reader.read_until(b"\x03", extra=1)
            assert readout[0] == 0x02
            readings += MeterDecoder("siemens_td3511", tz=TZ).feed(readout)
        reader.close()
    assert len(readings) == 2
    assert readings[0].meter_id == readings[1].meter_id
    assert readings[0].values["1-0:1.8.0"].unit == "Wh"


def r2(dataset: bytes) -> bytes:
    """A programming-mode read command as the integration sends it (CR LF after it, like the seed)."""
    return iec62056_21_block(0x01, b"R2\x02" + dataset) + b"\r\n"


def test_siemens_programming_mode_reads_datasets_over_the_pty(tmp_path):
    cfg = config(tmp_path, "siemens_td3511", count=4)
    with running(cfg):
        reader = PortReader(cfg.link)
        readings = []
        for _ in range(2):
            os.write(reader.fd, b"/?!\r\n")
            assert reader.read_until(b"\r\n").startswith(b"/SIE6")
            os.write(reader.fd, b"\x06061\r\n")  # 19200 Bd, programming mode
            prompt = reader.read_until(b"\x03", extra=1)
            assert prompt.startswith(b"\x01P0\x02(")
            text = b""
            for dataset in (b"F001", b"F009()"):
                os.write(reader.fd, r2(dataset))
                block = reader.read_until(b"\x03", extra=1)
                assert block == iec62056_21_block(0x02, block[1:-2])
                text += block[1:-2]
            os.write(reader.fd, iec62056_21_block(0x01, b"B0"))
            # What the integration hands the decoder: both datasets, then the end line.
            readings += MeterDecoder("siemens_td3511", tz=TZ).feed(text + b"!\r\n")
        reader.close()
    assert len(readings) == 2
    assert readings[0].meter_id == readings[1].meter_id
    assert {"1-0:1.8.0", "1-0:1.7.0", "1-0:32.7.0"} <= set(readings[1].values)


def _replayable() -> list[Path]:
    if not VECTORS.is_dir():
        return []
    stems = []
    for sidecar in sorted(VECTORS.glob("*.json")):
        side = json.loads(sidecar.read_text())
        if side["readings"] >= 1 and not side["must_reject"]:
            stems.append(sidecar.with_suffix(""))
    return stems


@pytest.mark.skipif(not VECTORS.is_dir(), reason=f"shared vectors not found at {VECTORS}")
@pytest.mark.parametrize("stem", _replayable(), ids=lambda p: p.name)
def test_replay_reproduces_a_captures_readings(tmp_path, stem):
    side = json.loads(stem.with_suffix(".json").read_text())
    capture = stem.with_suffix(".hex")
    direct = MeterDecoder(side["profile"], key=side["key"], auth_key=side["auth_key"])
    expected = direct.feed(load_capture(capture))
    assert len(expected) == side["readings"]
    decoder = MeterDecoder(side["profile"], key=side["key"], auth_key=side["auth_key"])
    cfg = config(tmp_path, side["profile"], replay=capture, interval=0.02)
    with running(cfg):
        reader = PortReader(cfg.link)
        if side["profile"] == "siemens_td3511":
            os.write(reader.fd, b"/?!\r\n")
            reader.read_until(b"\r\n")
            os.write(reader.fd, b"\x06060\r\n")
        replayed = reader.readings(decoder, len(expected))
        reader.close()
    # A slow reader may get the loop's next pass in the same read: it must repeat the capture.
    assert replayed == [expected[i % len(expected)] for i in range(len(replayed))]


def _args(tmp_path: Path, *extra: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers())
    return parser.parse_args(["simulate", "--link", str(tmp_path / "ttySM0"), *extra])


def test_cli_run_stops_after_count_and_removes_its_link(tmp_path):
    args = _args(
        tmp_path,
        "--profile",
        "lge360",
        "--interval",
        "0.05",
        "--count",
        "2",
        "--tz",
        "Europe/Zurich",
    )
    assert args.func is run
    got: list[Reading] = []

    def read() -> None:
        deadline = time.monotonic() + GIVE_UP_S
        while not (tmp_path / "ttySM0").exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        reader = PortReader(tmp_path / "ttySM0")
        got.extend(reader.readings(MeterDecoder("lge360", tz=TZ), 2))
        reader.close()

    thread = threading.Thread(target=read)
    thread.start()
    assert run(args) == 0
    thread.join(GIVE_UP_S)
    assert len(got) == 2
    assert not (tmp_path / "ttySM0").exists()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--auth-key", AUTH_KEY], "needs --key"),
        (["--key", "abc"], "32 hex"),
        (["--interval", "0"], "positive"),
        (["--count", "-1"], "0 or more"),
        (["--tz", "Mars/Olympus"], "unknown time zone"),
        (["--replay", "/nonexistent/capture.hex"], "cannot read"),
        (["--channel-every", "-1"], "--channel-every"),
    ],
)
def test_cli_rejects_bad_arguments_with_exit_2(tmp_path, capsys, extra, message):
    assert run(_args(tmp_path, *extra)) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "ttySM0").exists()


def test_cli_does_not_replace_a_regular_file(tmp_path, capsys):
    (tmp_path / "ttySM0").write_text("keep me")
    assert run(_args(tmp_path, "--count", "1")) == 2
    assert "not a symlink" in capsys.readouterr().err
    assert (tmp_path / "ttySM0").read_text() == "keep me"


def test_a_reader_that_stops_reading_does_not_block_the_meter(tmp_path):
    link = PtyLink(tmp_path / "ttySM0")
    reader = PortReader(tmp_path / "ttySM0")
    try:
        assert link.reader_attached()
        assert not link.write(bytes(1 << 20))  # far more than a pty buffers: dropped, not stuck
    finally:
        reader.close()
        link.close()
    assert not (tmp_path / "ttySM0").exists()


def _set_8e1(fd: int) -> None:
    attrs = termios.tcgetattr(fd)
    attrs[2] = termios.CS8 | termios.CREAD | termios.PARENB | termios.CLOCAL
    attrs[4] = attrs[5] = termios.B2400
    termios.tcsetattr(fd, termios.TCSANOW, attrs)


def test_a_reader_can_reopen_the_port_with_parity(tmp_path):
    # What the config flow and then the integration do: open 2400 8E1, close, open again.
    link = PtyLink(tmp_path / "ttySM0")
    try:
        for _ in range(3):
            reader = PortReader(tmp_path / "ttySM0")
            assert link.reader_attached()
            _set_8e1(reader.fd)
            reader.close()
            assert not link.reader_attached()
    finally:
        link.close()


def test_an_old_link_is_replaced(tmp_path):
    link = tmp_path / "ttySM0"
    link.symlink_to("/dev/pts/gone")
    with running(config(tmp_path, "lge360")) as (simulator, _stop):
        assert str(link.readlink()) == simulator.link.device
    assert not link.exists()
    assert not link.is_symlink()


@pytest.mark.e2e
def test_the_module_cli_simulates_until_sigint(tmp_path):
    link = tmp_path / "ttySM0"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "smartmeter_devtools",
            "simulate",
            "--profile",
            "kaifa_mbus",
            "--key",
            KEY,
            "--interval",
            "0.1",
            "--link",
            str(link),
        ],
        cwd=REPO,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + GIVE_UP_S
        while not link.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        reader = PortReader(link)
        readings = reader.readings(MeterDecoder("kaifa_mbus", key=KEY, tz=TZ), 2)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=GIVE_UP_S)
        reader.close()
    finally:
        if process.poll() is None:
            process.kill()
    # It pushes every 0.1 s until stopped: on a busy machine one read can hold a third push.
    assert len(readings) >= 2
    assert process.returncode == 0
    assert b"stopped after" in stderr
    assert not link.exists()


def _set_speed(fd: int, rate: int) -> None:
    attrs = termios.tcgetattr(fd)
    attrs[4] = attrs[5] = getattr(termios, f"B{rate}")
    termios.tcsetattr(fd, termios.TCSANOW, attrs)


def test_a_reader_at_the_wrong_speed_hears_noise_until_it_matches(tmp_path):
    # --line-check: what a real UART does at a wrong baud rate; detection must try the next rate.
    rate = PROFILES["lge360"].serial.baudrate
    cfg = config(tmp_path, "lge360", line_baudrate=rate)
    with running(cfg):
        reader = PortReader(cfg.link)
        try:
            _set_speed(reader.fd, 9600 if rate != 9600 else 2400)
            noise = reader.read()
            _set_speed(reader.fd, rate)
            readings = reader.readings(MeterDecoder("lge360", tz=TZ), 1)
        finally:
            reader.close()
    assert noise
    assert set(noise) == {0}
    assert readings
