"""Repros of the campaign: one bug found a thousand times is two entries and a count."""

from __future__ import annotations

from collections import Counter
import random

from smartmeter_devtools.fuzz_corpus import encoded_streams
from smartmeter_devtools.fuzz_findings import Findings, shrink
from smartmeter_devtools.fuzz_judge import StreamRunner, _Expectation
from smartmeter_devtools.fuzz_tally import Tally


def test_shrink_stops_when_its_budget_is_spent() -> None:
    """A bounded shrink returns bytes that still fail, even if not the smallest."""
    data = bytes(range(64)) + b"BAD" + bytes(range(64))

    small = shrink(data, lambda candidate: b"BAD" in candidate, budget=4)

    assert b"BAD" in small
    assert len(small) < len(data)
    assert small != b"BAD"


def test_each_signature_keeps_two_repros() -> None:
    """Repeats of a signature are counted, not stored: the findings file stays readable."""
    (stream,) = [s for s in encoded_streams(seed=5, count=2) if s.name == "lge450"]
    tally = Tally()
    sink = Findings(tally.findings)
    runner = StreamRunner(stream, random.Random(1), tally, sink)
    runner.run_batch(2)
    runner.position += 1
    gone = _Expectation(
        0, runner.position - 1, runner.position, Counter(runner.expected[0]), False, 0
    )

    for _ in range(5):
        sink.exception(runner, ValueError("boom"), stream.messages[0].data[:9], "feed")
        sink.lost(runner, gone)
        sink.wrong(runner, ("not", "a", "reading"), "bitflip")

    by_signature = Counter(entry["signature"] for entry in tally.findings)
    assert len(by_signature) == 3
    assert set(by_signature.values()) == {2}
