"""The command line: decode captures to JSON lines, benchmark, and clear usage errors."""

from __future__ import annotations

import io
import json
from pathlib import Path
import subprocess
import sys

from capture_vectors import VECTORS, load
import pytest
import synthetic

from custom_components.smartmeter_datacollector.dlms.cli import main

REPO = Path(__file__).resolve().parents[2]


def test_decode_prints_one_json_object_per_reading(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A capture file decodes to the sidecar's values, with the offset in the timestamp."""
    capture = load("kaifa-netznoe-mbus-enc")
    path = VECTORS / "kaifa-netznoe-mbus-enc.hex"

    assert main(["decode", "--profile", "kaifa_mbus", "--key", capture.meta["key"], str(path)]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    printed = json.loads(line)
    assert printed["meter_id"] == capture.meta["meter_id"]
    assert printed["timestamp"] == capture.meta["timestamp"]
    assert printed["values"] == capture.meta["values"]


def test_decode_reads_binary_from_stdin(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`-` reads standard input; raw binary works as well as hex text."""
    frame = synthetic.hdlc_single(synthetic.notification())
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(frame)))

    assert main(["decode", "--profile", "generic", "--tz", "Europe/Zurich", "-"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["timestamp"] == "2024-05-04T13:39:21+02:00"
    assert printed["values"]["1-0:1.8.0"] == {"value": 123456, "unit": "Wh"}


def test_decode_without_key_says_why_and_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    """Nothing decoded: exit 1 and the counters that explain it on stderr."""
    load("lge570-enc")
    assert main(["decode", "--profile", "lge570", str(VECTORS / "lge570-enc.hex")]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "key_required" in captured.err


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--key", "0011"], "32 hex"),
        (["--tz", "Mars/Olympus"], "time zone"),
    ],
)
def test_usage_errors_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], arguments: list[str], message: str
) -> None:
    """A bad key or zone is reported on stderr before anything is read."""
    capture = tmp_path / "capture.hex"
    capture.write_text("7e")
    assert main(["decode", "--profile", "lge450", *arguments, str(capture)]) == 2
    assert message in capsys.readouterr().err


def test_unreadable_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A missing file is a usage error with the OS reason."""
    assert main(["decode", "--profile", "lge450", str(tmp_path / "missing.hex")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_unknown_profile_is_an_argparse_error() -> None:
    """argparse rejects a profile that does not exist, with exit code 2."""
    with pytest.raises(SystemExit) as excinfo:
        main(["decode", "--profile", "nope", "-"])
    assert excinfo.value.code == 2


def test_module_entry_point_runs() -> None:
    """`python -m smartmeter_dlms`, the decoder installed on its own, runs the command line.

    (`-m custom_components.smartmeter_datacollector.dlms` would first import the integration and
    with it Home Assistant: runpy imports the parent package.)
    """
    frame = synthetic.hdlc_single(synthetic.notification()).hex()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "smartmeter_dlms",
            "decode",
            "--profile",
            "generic",
            "-",
        ],
        input=frame,
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["meter_id"] == "12345678"
