"""The bench's outside probes on real inputs: a recorder database, /proc, a registry file."""

from __future__ import annotations

import os
from pathlib import Path
import subprocess
import sys
import threading
import time

from entity_registry_file import write_entity_registry
import pytest
from recorder_db import write_recorder_rows

from smartmeter_devtools.ha_bench_probe import (
    cpu_seconds,
    enabled_sensors,
    sensor_rows,
    sensors_writing,
    used_bytes,
)


def test_rows_of_a_window_count_sensors_only(tmp_path: Path) -> None:
    """A window counts sensor rows updated in [start, end), and how many sensors wrote them."""
    db = tmp_path / "home-assistant_v2.db"
    write_recorder_rows(
        db,
        [
            ("sensor.power", 100.0),
            ("sensor.power", 101.0),
            ("sensor.power", 102.0),
            ("sensor.voltage", 101.5),
            ("binary_sensor.door", 101.0),
            ("sun.sun", 101.0),
        ],
    )

    assert sensor_rows(db, 101.0, 102.0) == 2
    assert sensors_writing(db, 101.0, 102.0) == 2
    assert sensor_rows(db, 0, 200) == 4
    assert sensors_writing(db, 102.0, 200) == 1
    assert sensor_rows(db, 200, 300) == 0


def test_used_bytes_follow_the_rows_not_the_file(tmp_path: Path) -> None:
    """Growth is counted in used pages: none before the database exists, more after new rows."""
    db = tmp_path / "home-assistant_v2.db"
    assert used_bytes(db) == 0

    write_recorder_rows(db, [("sensor.power", 1.0)])
    empty = used_bytes(db)
    write_recorder_rows(db, [("sensor.power", float(t)) for t in range(2, 400)])
    grown = used_bytes(db)

    assert empty > 0
    assert grown > empty
    assert grown <= db.stat().st_size


def test_cpu_seconds_of_this_process_match_its_clock() -> None:
    """The /proc figure is the process's user + system time, all threads."""
    began = time.process_time()
    while time.process_time() - began < 0.05:
        pass

    assert cpu_seconds(os.getpid()) == pytest.approx(time.process_time(), abs=0.1)


def test_cpu_seconds_of_the_main_thread_leave_other_threads_out() -> None:
    """The event loop's share: a busy worker thread counts for the process, not the main thread."""

    def burn() -> None:
        began = time.thread_time()
        while time.thread_time() - began < 0.3:
            pass

    main_before = cpu_seconds(os.getpid(), main_thread=True)
    worker = threading.Thread(target=burn)
    worker.start()
    worker.join()

    assert cpu_seconds(os.getpid(), main_thread=True) - main_before < 0.2
    assert cpu_seconds(os.getpid()) >= 0.25


def test_cpu_seconds_of_a_command_named_with_parentheses(tmp_path: Path) -> None:
    """A command name with ") " in it does not shift the fields (proc(5): comm is in parentheses)."""
    odd = tmp_path / "a) b (c"
    odd.symlink_to(sys.executable)
    burn = (
        "import sys, time\n"
        "t = time.process_time()\n"
        "while time.process_time() - t < 0.2: pass\n"
        "print(time.process_time(), flush=True)\n"
        "sys.stdin.read()\n"
    )
    with subprocess.Popen(
        [str(odd), "-I", "-S", "-c", burn],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as child:
        assert child.stdout is not None
        assert child.stdin is not None
        own = float(child.stdout.readline())
        measured = cpu_seconds(child.pid)
        comm = Path(f"/proc/{child.pid}/comm").read_text()
        child.stdin.close()

    assert ")" in comm
    assert measured == pytest.approx(own, abs=0.1)


def test_enabled_sensors_from_the_entity_registry(tmp_path: Path) -> None:
    """Only the platform's enabled sensors count, or all its sensors; no registry counts none."""
    assert enabled_sensors(tmp_path, "dsmr") == 0

    write_entity_registry(
        tmp_path,
        [
            ("dsmr", "sensor.power_consumption", None),
            ("dsmr", "sensor.voltage_phase_l1", "integration"),
            ("dsmr", "binary_sensor.x", None),
            ("smartmeter_datacollector", "sensor.active_power", None),
        ],
    )

    assert enabled_sensors(tmp_path, "dsmr") == 1
    assert enabled_sensors(tmp_path, "smartmeter_datacollector") == 1
    assert enabled_sensors(tmp_path, "dsmr", disabled_too=True) == 2
