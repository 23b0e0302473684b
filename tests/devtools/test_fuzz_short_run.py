"""The fuzz campaign's short run, part of every test run (issue 8: "a short run is in script/test").

One job, in this process, with a fixed seed: every profile's encoded streams plus the shared
captures when ../shared/vectors is there (read at run time, never copied). The long run (a
million mutants) is documented in README's fuzzing section and run by hand.
"""

from __future__ import annotations

from smartmeter_devtools.fuzz import DEFAULT_VECTORS, Job, report, run_job

SEED = 11
MUTANTS = 4000
# A feed's CPU time is measured without timing the test: only a runaway (the 5.9 s feeds of
# issue 8) must fail, not a busy machine or coverage tracing (the 50 ms figure is the long run's).
RUNAWAY_FEED_MS = 1000.0
# Whatever arrives, a decoder never holds more than its largest frame or bare APDU.
MAX_BUFFERED = 8192


def test_short_fuzz_run_finds_no_exception_lost_push_or_wrong_reading() -> None:
    """No exception, lost resync or wrong reading; decoder buffers stay bounded."""
    result = run_job(
        Job(
            seed=SEED,
            index=0,
            mutants=MUTANTS,
            seconds=None,
            profiles=(),
            vectors=DEFAULT_VECTORS.resolve(),
            memory_limit_mib=0,  # no address-space cap inside the test process
            trace_memory=False,
            guard=True,  # the CPU timer turns a runaway feed into a reported exception
        )
    )
    tally = result.tally
    text, failed = report([result], SEED, result.wall)
    findings = "\n".join(f"{f['signature']}: {f['what']} hex {f['hex']}" for f in tally.findings)
    assert result.mutants == MUTANTS
    assert not failed, f"{text}\n{findings}"
    assert sum(tally.exceptions.values()) == 0
    assert sum(tally.lost.values()) == 0
    assert sum(tally.wrong.values()) == 0
    assert tally.intact > MUTANTS // 2  # intact pushes interleaved, so resyncs were judged
    assert tally.worst_feed_ms < RUNAWAY_FEED_MS, text
    assert result.max_buffered <= MAX_BUFFERED, text
