"""bench_compare on captures made by our encoder: our decoder measured, missing tools reported."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
import json
import logging
from pathlib import Path
from typing import Any

import pytest

from smartmeter_devtools.bench_compare import (
    _captures,
    _combine,
    _measure,
    _report,
    _run_worker,
    main,
)
from smartmeter_devtools.load_model import Household
from smartmeter_devtools.push_encode import MeterEncoder

PUSHES = 4


@pytest.fixture(autouse=True)
def _logging_back_on() -> Iterator[None]:
    """bench_compare silences warnings process-wide (the seed logs every message it skips)."""
    yield
    logging.disable(logging.NOTSET)


def _capture(folder: Path, stem: str, lines: list[str], meta: dict[str, object]) -> None:
    (folder / f"{stem}.hex").write_text("\n".join(lines) + "\n")
    (folder / f"{stem}.json").write_text(json.dumps(meta))


@pytest.fixture
def captures(tmp_path: Path) -> Path:
    """An E450 capture, one of noise, and two a bench must pass over."""
    start = datetime(2026, 1, 14, 11, 0, tzinfo=UTC)
    household = Household(seed=1, start=start, tz=UTC)
    encoder = MeterEncoder("lge450", tz=UTC, seed=1)
    frames = [
        frame.hex()
        for i in range(PUSHES)
        for frame in encoder.encode(household.advance(start + timedelta(seconds=i))).frames
    ]
    _capture(tmp_path, "lge450-bench", frames, {"profile": "lge450", "readings": [{}]})
    _capture(tmp_path, "lge450-noise", ["00" * 40], {"profile": "lge450", "readings": [{}]})
    _capture(tmp_path, "no-readings", frames, {"profile": "lge450", "readings": []})
    (tmp_path / "no-hex.json").write_text(json.dumps({"profile": "lge450", "readings": [{}]}))
    return tmp_path


def test_only_captures_with_frames_and_readings_are_benched(captures: Path) -> None:
    """A sidecar without its .hex, or without expected readings, is not a benchmark."""
    assert [name for name, _, _ in _captures(captures)] == ["lge450-bench", "lge450-noise"]


def test_ours_is_timed_per_message_and_noise_decodes_nothing(captures: Path) -> None:
    """Each pass of a capture is one sample; a capture of noise is reported, not timed."""
    measured = _measure("ours", captures, passes=3)

    bench = measured["lge450-bench"]
    assert bench["messages"] == 3 * PUSHES
    assert 0 < bench["median"] <= bench["p99"]
    assert measured["lge450-noise"] == {"error": "decoded nothing"}


def test_tools_not_installed_are_reported(captures: Path) -> None:
    """Without the seed, its captures are an error; amshan skips meters it was not written for."""
    seed = _measure("seed", captures, passes=1)
    assert seed["error"].startswith("seed is not importable here")
    assert _measure("amshan", captures, passes=1) == {}


def test_a_worker_that_fails_is_reported_not_raised(captures: Path) -> None:
    """An interpreter that cannot run the worker (a broken throwaway venv) is a result too."""
    assert _run_worker("/bin/false", "seed", captures, 1) == {"error": "failed"}


def test_worker_prints_one_json_line(captures: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """What the driver reads from a worker: one JSON object on the last line of stdout."""
    assert main(["--worker", "ours", str(captures), "--passes", "1"]) == 0

    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["lge450-bench"]["messages"] == PUSHES


def test_rounds_combine_to_medians_and_keep_errors() -> None:
    """Medians of each round's figures; a capture no round timed keeps its error."""
    rounds: list[dict[str, Any]] = [
        {"a": {"median": 1.0, "p99": 2.0}, "b": {"error": "decoded nothing"}},
        {"a": {"median": 3.0, "p99": 4.0}, "b": {"error": "decoded nothing"}},
        {"a": {"median": 2.0, "p99": 9.0}, "error": "ignored"},
    ]

    assert _combine(rounds) == {
        "a": {"median": 2.0, "p99": 4.0},
        "b": {"error": "decoded nothing"},
    }


def test_report_puts_the_other_tools_next_to_ours(capsys: pytest.CaptureFixture[str]) -> None:
    """The ratio is theirs over ours: 4.0x means the other tool needs four times as long."""
    _report(
        {
            "ours": {
                "lge450": {"median": 0.5, "p99": 0.6},
                "aidon": {"median": 0.25, "p99": 0.3},
                "kamstrup": {"median": 0.1, "p99": 0.2},
                "noise": {"error": "decoded nothing"},
            },
            "seed": {"lge450": {"median": 2.0, "p99": 2.5}},
            "amshan": {"aidon": {"error": "KeyError: 'x'"}},
        }
    )

    out = capsys.readouterr().out.splitlines()
    assert out[1].split() == ["aidon", "0.250", "(", "0.300)", "4000", "amshan", "KeyError:", "'x'"]
    assert out[2].split() == ["kamstrup", "0.100", "(", "0.200)", "10000"]  # no other tool
    assert out[3].split()[-3:] == ["seed", "2.000", "4.0x"]
    assert out[4].split() == ["noise", "ours:", "decoded", "nothing"]


def test_a_tool_that_is_missing_everywhere_is_named_once(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A tool whose every round failed gets one line saying why, before the table."""
    _report({"ours": {}, "seed": {"error": "failed"}, "amshan": {"error": "failed"}})

    out = capsys.readouterr().out.splitlines()
    assert out[:2] == ["seed: failed", "amshan: failed"]
