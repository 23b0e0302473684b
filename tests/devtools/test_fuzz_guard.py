"""The campaign's guard: a CPU bound on every feed, and a job that runs with it armed."""

from __future__ import annotations

from collections.abc import Iterator
import signal

import pytest

from smartmeter_devtools import fuzz_guard
from smartmeter_devtools.fuzz import Job, run_job
from smartmeter_devtools.fuzz_corpus import encoded_streams
from smartmeter_devtools.fuzz_guard import (
    FeedTimeoutError,
    bounded_feed,
    install_cpu_guard,
    new_decoder,
)


@pytest.fixture
def guard_restored(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The guard is per process: put this test process back as it was."""
    monkeypatch.setattr(fuzz_guard, "_armed", False)
    handler = signal.getsignal(signal.SIGPROF)
    yield
    signal.setitimer(signal.ITIMER_PROF, 0)
    signal.signal(signal.SIGPROF, handler)


@pytest.mark.usefixtures("guard_restored")
def test_a_feed_over_the_cpu_bound_is_stopped(monkeypatch: pytest.MonkeyPatch) -> None:
    """A feed that outruns the bound does not run on; a feed within it is untouched.

    The timer's exception lands wherever the feed is: outside the decoder it propagates, inside
    it feed()'s contract (nothing escapes) turns it into an internal error and drops the rest.
    """
    (stream,) = [s for s in encoded_streams(seed=5, count=2) if s.name == "lge450"]
    message = stream.messages[0].data
    install_cpu_guard()
    assert len(bounded_feed(new_decoder(stream), message * 3)) == 3

    # A bound far below what decoding 200 pushes takes stands in for a runaway decoder.
    monkeypatch.setattr(fuzz_guard, "HARD_LIMIT_S", 0.001)
    decoder = new_decoder(stream)
    try:
        readings = bounded_feed(decoder, message * 200)
    except FeedTimeoutError:
        return
    assert decoder.stats.internal_errors == 1
    assert len(readings) < 200


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
