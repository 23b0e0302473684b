"""The development command line: `bench` numbers, and `decode` through the dev entry point."""

from __future__ import annotations

import json
from pathlib import Path
import subprocess
import sys

from capture_vectors import load
import pytest

from smartmeter_devtools import bench_compare
from smartmeter_devtools.cli import main

REPO = Path(__file__).resolve().parents[2]


def test_bench_prints_throughput_latency_and_memory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The benchmark reports numbers; it asserts nothing about them."""
    capture = load("lge450-pushlist-1")
    (tmp_path / "x.hex").write_text(capture.data.hex())
    (tmp_path / "x.json").write_text(json.dumps(capture.meta))

    assert main(["bench", str(tmp_path), "--repeat", "3", "--per-capture", "--memory", "20"]) == 0
    out = capsys.readouterr().out
    assert "messages/s" in out
    assert "median" in out
    assert "memory" in out


def test_bench_without_captures_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An empty folder is a usage error."""
    assert main(["bench", str(tmp_path)]) == 2
    assert "no <stem>.hex" in capsys.readouterr().err


def test_dev_module_decodes_simulates_benches_and_fuzzes() -> None:
    """`python -m smartmeter_devtools` offers decode (the decoder's own), bench, simulate, fuzz."""
    result = subprocess.run(
        [sys.executable, "-m", "smartmeter_devtools", "--help"],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=True,
    )
    assert result.stdout.startswith("usage: python -m smartmeter_devtools ")
    for command in ("decode", "bench", "simulate", "fuzz"):
        assert command in result.stdout


def test_bench_compare_reports_ours_and_says_when_other_tools_are_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without the other tools installed, the comparison still runs and says so."""
    capture = load("lge450-pushlist-1")
    (tmp_path / "lge450-x.hex").write_text(capture.data.hex())
    (tmp_path / "lge450-x.json").write_text(json.dumps(capture.meta))

    assert bench_compare.main([str(tmp_path), "--passes", "2", "--rounds", "1"]) == 0
    out = capsys.readouterr().out
    assert "lge450-x" in out
    assert "seed is not importable" in out
