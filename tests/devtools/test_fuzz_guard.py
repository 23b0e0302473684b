"""The campaign's guard: a CPU bound on every feed, and a job that runs with it armed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
import signal
import subprocess
import sys

import pytest

from smartmeter_devtools import fuzz_guard
from smartmeter_devtools.fuzz import Job, run_job
from smartmeter_devtools.fuzz_corpus import encoded_streams
from smartmeter_devtools.fuzz_guard import bounded_feed, install_cpu_guard, new_decoder

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def guard_restored(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The guard is per process: put this test process back as it was."""
    monkeypatch.setattr(fuzz_guard, "_armed", False)
    handler = signal.getsignal(signal.SIGPROF)
    yield
    signal.setitimer(signal.ITIMER_PROF, 0)
    signal.signal(signal.SIGPROF, handler)


# A bound far below what decoding 200 pushes takes stands in for a runaway decoder. It runs in
# a child: the 1 ms CPU timer counts every thread of the process, and in a test worker its
# signal could land outside the feed, in the worker's own machinery.
_RUNAWAY = """
from smartmeter_devtools import fuzz_guard
from smartmeter_devtools.fuzz_corpus import encoded_streams

(stream,) = [s for s in encoded_streams(seed=5, count=2) if s.name == "lge450"]
fuzz_guard.install_cpu_guard()
fuzz_guard.HARD_LIMIT_S = 0.001
decoder = fuzz_guard.new_decoder(stream)
try:
    readings = fuzz_guard.bounded_feed(decoder, stream.messages[0].data * 200)
except fuzz_guard.FeedTimeoutError:
    print("stopped")
else:
    print("dropped", decoder.stats.internal_errors, len(readings))
"""


@pytest.mark.usefixtures("guard_restored")
def test_a_feed_over_the_cpu_bound_is_stopped() -> None:
    """A feed that outruns the bound does not run on; a feed within it is untouched.

    The timer's exception lands wherever the feed is: outside the decoder it propagates, inside
    it feed()'s contract (nothing escapes) turns it into an internal error and drops the rest.
    """
    (stream,) = [s for s in encoded_streams(seed=5, count=2) if s.name == "lge450"]
    install_cpu_guard()
    assert len(bounded_feed(new_decoder(stream), stream.messages[0].data * 3)) == 3

    child = subprocess.run(
        [sys.executable, "-c", _RUNAWAY],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    outcome = child.stdout.split()
    if outcome != ["stopped"]:
        assert outcome[:2] == ["dropped", "1"], child.stdout
        assert int(outcome[2]) < 200


@pytest.mark.usefixtures("guard_restored")
def test_a_guarded_job_with_tracing_and_progress(capsys: pytest.CaptureFixture[str]) -> None:
    """A guarded job as a worker runs it: progress lines, traced memory, no captures."""
    job = Job(
        seed=3,
        index=1,
        mutants=40,
        seconds=None,
        profiles=("iec",),
        vectors=None,
        memory_limit_mib=0,
        trace_memory=True,
        guard=True,
        progress=1e-6,
    )

    result = run_job(job)

    assert result.mutants == 40
    assert result.traced_growth is not None
    assert result.skipped_vectors is not None
    assert result.skipped_vectors.startswith("shared captures not found")
    assert "[job 1 " in capsys.readouterr().err


def test_a_job_out_of_time_stops_before_its_first_batch() -> None:
    """--seconds bounds each job's wall time, whatever is left of its mutants."""
    job = Job(3, 0, None, 0.0, ("iec",), None, 0, trace_memory=False, guard=False)

    assert run_job(job).mutants == 0
