"""A simulated day through the sensors' real update policy: rows and hourly means it reports."""

from __future__ import annotations

import re

import pytest

from smartmeter_devtools.policy_day import main


def _table(out: str) -> dict[str, tuple[int, float | None]]:
    """Rows and worst hourly-mean error (None for energy totals) per OBIS code of the report."""
    table: dict[str, tuple[int, float | None]] = {}
    for code, rows, error in re.findall(
        r"^  (\d+\.\d+\.\d+) +(\d+) rows/2 h"
        r"(?:   worst hourly mean error +([\d.]+) % \(hours of 100 W or more\), +[\d.]+ W \(any hour\))?$",
        out,
        re.MULTILINE,
    ):
        table[code] = (int(rows), float(error) if error else None)
    return table


# One push a second for the two simulated hours.
PUSHES = 2 * 3600


def test_throttling_trades_rows_for_a_small_hourly_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A 60 s minimum interval writes a fraction of the pushes, yet hourly means stay close."""
    main(["--day", "2026-06-15", "--hours", "2", "--min-interval", "60"])
    out = capsys.readouterr().out

    assert out.startswith("2026-06-15, 2 h, min_interval 60 s\n")
    table = _table(out)
    assert {"1.7.0", "1.8.0"} <= table.keys()
    # Every sensor writes far fewer rows than there were pushes.
    assert all(0 < rows < PUSHES / 3 for rows, _ in table.values())
    total = re.search(r"^  all +(\d+) rows/2 h$", out, re.MULTILINE)
    assert total is not None
    assert int(total[1]) == sum(rows for rows, _ in table.values())
    # The power's hourly means (what the Energy dashboard shows) stay close to the pushes'.
    power_error = table["1.7.0"][1]
    assert power_error is not None
    assert power_error < 5.0
    assert table["1.8.0"][1] is None  # totals: rows only, no mean
    assert re.search(r"^  core dsmr, 30 s, same load: \d+ rows/2 h$", out, re.MULTILINE)
