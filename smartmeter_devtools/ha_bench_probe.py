"""What a running Home Assistant costs, read from outside: /proc, the recorder's database, the registry.

Nothing here starts or stops a process: `ha_bench` samples these before and after each window.
The database is opened read-only, so a probe never holds the recorder up for more than a read.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
import sqlite3
from typing import Any

RECORDER_DB = "home-assistant_v2.db"


def query(db: Path, sql: str, params: tuple[Any, ...] = ()) -> Any:
    """The first row of `sql` on a read-only connection."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30) as conn:
        return conn.execute(sql, params).fetchone()


def sensor_rows(db: Path, start: float, end: float) -> int:
    """The recorder's `states` rows of sensors last updated in [start, end) (Unix seconds)."""
    row = query(
        db,
        "SELECT COUNT(*) FROM states JOIN states_meta USING (metadata_id) "
        "WHERE states_meta.entity_id LIKE 'sensor.%' "
        "AND states.last_updated_ts >= ? AND states.last_updated_ts < ?",
        (start, end),
    )
    return int(row[0])


def sensors_writing(db: Path, start: float, end: float) -> int:
    """How many sensors have at least one of those rows."""
    row = query(
        db,
        "SELECT COUNT(DISTINCT metadata_id) FROM states JOIN states_meta USING (metadata_id) "
        "WHERE states_meta.entity_id LIKE 'sensor.%' "
        "AND states.last_updated_ts >= ? AND states.last_updated_ts < ?",
        (start, end),
    )
    return int(row[0])


def used_bytes(db: Path) -> int:
    """Bytes of the database's used pages: growth that the WAL file and free pages do not distort."""
    if not db.exists():
        return 0
    pages = query(db, "PRAGMA page_count")[0]
    free = query(db, "PRAGMA freelist_count")[0]
    size = query(db, "PRAGMA page_size")[0]
    return int((pages - free) * size)


def cpu_seconds(pid: int, *, main_thread: bool = False) -> float:
    """User + system time of all the process's threads (proc(5): fields 14 and 15).

    `main_thread`: of the main thread alone, where Home Assistant runs its event loop and with
    it the whole per-push path; the recorder and the executor work in threads of their own.
    """
    stat = Path(f"/proc/{pid}/task/{pid}/stat" if main_thread else f"/proc/{pid}/stat")
    # The command name (field 2) may hold spaces and ")": count fields after its last ")".
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def enabled_sensors(config: Path, platform: str, *, disabled_too: bool = False) -> int:
    """Sensors of `platform` the entity registry has enabled (0 before Home Assistant wrote it).

    `disabled_too` counts the disabled ones as well: a case without sensors is running once
    its entry has registered them.
    """
    registry = config / ".storage" / "core.entity_registry"
    if not registry.exists():
        return 0
    entities = json.loads(registry.read_text())["data"]["entities"]
    return sum(
        1
        for entity in entities
        if entity["platform"] == platform
        and entity["entity_id"].startswith("sensor.")
        and (disabled_too or entity["disabled_by"] is None)
    )
