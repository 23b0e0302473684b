"""A simulated day through the sensors' real update policy: rows and hourly means it reports."""

from __future__ import annotations

import re

import pytest

from smartmeter_devtools.policy_day import main


def _table(out: str) -> dict[str, tuple[int, float | None]]:
    """Rows and worst hourly-mean error (None for energy totals) per OBIS code of the report."""
    table: dict[str, tuple[int, float | None]] = {}
    for code, rows, error in re.findall(
        r"^  (\d+\.\d+\.\d+) +(\d+) rows/2 h(?:   worst hourly mean error +([\d.]+) %)?$",
        out,
        re.MULTILINE,
    ):
        table[code] = (int(rows), float(error) if error else None)
    return table


def _all_rows(out: str) -> int:
    total = re.search(r"^  all +(\d+) rows/2 h$", out, re.MULTILINE)
    assert total is not None
    return int(total[1])


def test_throttling_trades_rows_for_a_small_hourly_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Every push recorded is exact but costly; a 60 s minimum interval writes far fewer rows."""
    main(["--day", "2026-06-15", "--hours", "2", "--min-interval", "0"])
    every = capsys.readouterr().out
    main(["--day", "2026-06-15", "--hours", "2", "--min-interval", "60"])
    throttled = capsys.readouterr().out

    assert every.startswith("2026-06-15, 2 h, min_interval 0 s\n")
    all_rows = [_all_rows(every), _all_rows(throttled)]
    assert all_rows[1] < all_rows[0] / 3
    every_table, throttled_table = _table(every), _table(throttled)
    assert every_table.keys() == throttled_table.keys()
    assert {"1.7.0", "1.8.0"} <= every_table.keys()
    # Recording every push reproduces the pushes' own hourly means.
    assert all(error in (None, 0.0) for _, error in every_table.values())
    # Fewer rows, yet the power's hourly means (what the energy dashboard shows) stay close.
    power_error = throttled_table["1.7.0"][1]
    assert power_error is not None
    assert power_error < 5.0
    assert throttled_table["1.8.0"][1] is None
    assert re.search(r"^  core dsmr, 30 s, same load: \d+ rows/2 h$", throttled, re.MULTILINE)
