"""The bench's process handling: real simulators, real Home Assistant processes, stopped cleanly.

A full round with a meter takes minutes; here Home Assistant only starts (the idle case measures
a short window while it boots) or is stopped as soon as the bench has seen what it waits for.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
import re
import subprocess
import sys
import time

from entity_registry_file import write_entity_registry
from mosquitto import free_port
import pytest
from recorder_db import write_recorder_rows

from smartmeter_devtools.ha_bench import (
    FLOOR_READY,
    Running,
    _parser,
    _print_sensors,
    _ready_message,
    _start,
    _stop,
    _wait_ready,
    main,
    paced_decoder_ms_per_push,
)
from smartmeter_devtools.ha_bench_config import CASES, PORT_LINK, prepare
from smartmeter_devtools.ha_bench_probe import RECORDER_DB

REPO = Path(__file__).parents[2]


def test_arguments_are_checked_before_anything_starts(capsys: pytest.CaptureFixture[str]) -> None:
    """A misspelt case or a base_* case without its checkout stops the bench at once."""
    with pytest.raises(SystemExit) as unknown:
        main(["--cases", "default,nope"])
    assert unknown.value.code == 2
    assert "unknown cases: nope" in capsys.readouterr().err

    with pytest.raises(SystemExit) as baseline:
        main(["--cases", "base_min10"])
    assert baseline.value.code == 2
    err = capsys.readouterr().err
    assert "--baseline-root" in err
    assert "config folders" not in err


@pytest.mark.usefixtures("socket_enabled")
def test_a_meter_case_starts_is_seen_ready_and_stops(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A meter case gets its simulator on a pty and Home Assistant, and leaves no process behind.

    The DSMR case: its telegram simulator is the one no other test starts as a command.
    """
    args = _parser().parse_args(["--time-zone", "UTC", "--cprofile", "dsmr_0"])
    running: list[Running] = []
    config = prepare(CASES["dsmr_0"], tmp_path, REPO, "UTC", free_port())
    # What the recorder has written once the entry runs: the bench waits for this.
    write_recorder_rows(config / RECORDER_DB, [("sensor.power_consumption", time.time())])
    try:
        running.append(_start(CASES["dsmr_0"], config, args))
        _wait_ready(running)
        ports = [os.path.realpath(case.config / PORT_LINK) for case in running]
    finally:
        _stop(running)

    assert all(port.startswith("/dev/pts/") for port in ports)
    command = list(running[0].hass.args)  # type: ignore[arg-type]
    assert "smartmeter_devtools.ha_bench_profiled" in command
    assert all(case.simulator is not None for case in running)
    processes = [p for case in running for p in (case.hass, case.simulator) if p is not None]
    assert all(process.returncode is not None for process in processes)
    with pytest.raises(SystemExit, match="Home Assistant exited"):
        _wait_ready(running)
    # Stopped before Home Assistant wrote its entity registry: the report says none.
    _print_sensors(running)
    assert re.search(r"^  dsmr_0 +0  \(time_between_update 0\)$", capsys.readouterr().out, re.M)


@pytest.mark.usefixtures("socket_enabled")
def test_the_floor_decodes_the_simulated_meter_until_stopped(tmp_path: Path) -> None:
    """The floor case: the integration's stream and decoder on the simulator's pty, no Home
    Assistant; seen ready once a reading is decoded, ended cleanly by the bench's SIGTERM."""
    args = _parser().parse_args(["--time-zone", "Europe/Zurich", "--cprofile", "floor"])
    config = prepare(CASES["floor"], tmp_path, REPO, "Europe/Zurich", free_port())
    running: list[Running] = []
    try:
        running.append(_start(CASES["floor"], config, args))
        _wait_ready(running)
    finally:
        _stop(running)

    (case,) = running
    command = list(case.hass.args)  # type: ignore[arg-type]
    assert command[1:3] == ["-m", "smartmeter_devtools.ha_bench_floor"]
    # Not profiled: the profiler wraps Home Assistant, which the floor does not run.
    assert not case.profiled
    assert (config / FLOOR_READY).exists()
    assert case.hass.returncode == 0
    assert not (config / RECORDER_DB).exists()


def test_a_case_without_sensors_runs_once_they_are_registered(tmp_path: Path) -> None:
    """no_sensors records nothing: its entry runs once the registry lists its sensors, disabled."""
    config = prepare(CASES["no_sensors"], tmp_path, REPO, "UTC", 18990)
    finished = subprocess.Popen([sys.executable, "-c", "pass"])
    finished.wait()
    case = Running(CASES["no_sensors"], config, finished, None)
    assert _ready_message(case) is None

    write_entity_registry(config, [("smartmeter_datacollector", "sensor.x", "integration")])
    assert _ready_message(case) == "sensors are registered, disabled"


@pytest.mark.usefixtures("socket_enabled")
def test_a_simulator_that_cannot_start_stops_the_bench(tmp_path: Path) -> None:
    """No Home Assistant is started for a case whose meter never appears."""
    args = _parser().parse_args(["--simulator-module", "no_such_simulator"])
    config = prepare(CASES["every_push"], tmp_path, REPO, "UTC", free_port())

    with pytest.raises(SystemExit, match="the simulator did not start"):
        _start(CASES["every_push"], config, args)
    assert not (config / "hass.log").exists()


@pytest.mark.usefixtures("socket_enabled")
def test_an_idle_round_is_reported_and_cleaned_up(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """One short round of the idle case: a table, the JSON rounds, and no folder left behind."""
    rounds = tmp_path / "rounds.json"
    argv = ["--cases", "idle", "--window", "0.2", "--rounds", "1", "--warmup", "0"]
    argv += ["--commit-slack", "0", "--decoder-messages", "20"]
    argv += ["--http-port", str(free_port()), "--json", str(rounds)]

    assert main(argv) == 0

    out, err = capsys.readouterr()
    assert "round 1: load average" in out
    assert re.search(r"^idle\s+\d+\.\d\d\s", out, re.MULTILINE)
    assert "machine:" in out
    (measured,) = json.loads(rounds.read_text())
    assert set(measured) == {"idle"}
    assert measured["idle"]["rows"] == 0
    assert measured["idle"]["decoder_ms_per_push"] > 0
    # A window shorter than a push gap paces no push.
    assert measured["idle"]["paced_decoder_ms_per_push"] == 0.0
    base = re.search(r"config folders under (\S+);", err)
    assert base is not None
    assert not Path(base.group(1)).exists()


def test_the_paced_decoder_feeds_one_push_a_second_until_the_window_ends() -> None:
    """The decoder-alone figure at the meters' pace: some CPU per push, and the window kept."""
    until = time.time() + 2.5
    assert paced_decoder_ms_per_push(until) > 0
    assert time.time() >= until
