"""A campaign's figures are its workers' figures added up."""

from __future__ import annotations

import random

from smartmeter_devtools.fuzz_corpus import encoded_streams
from smartmeter_devtools.fuzz_findings import Findings
from smartmeter_devtools.fuzz_judge import StreamRunner
from smartmeter_devtools.fuzz_tally import Tally

STREAMS = {stream.name: stream for stream in encoded_streams(seed=5, count=2)}


def test_tallies_of_workers_add_up() -> None:
    """The campaign's figures are the sum of its workers' figures; the worst feed is the max."""
    tallies = []
    for seed, name in ((1, "lge450"), (2, "iec")):
        tally = Tally()
        runner = StreamRunner(STREAMS[name], random.Random(seed), tally, Findings(tally.findings))
        runner.run_batch(6)
        tally.findings.append({"signature": name})
        tallies.append(tally)
    total = Tally()

    for tally in tallies:
        total.merge(tally)

    first, second = tallies
    assert total.mutants == first.mutants + second.mutants
    assert total.intact == first.intact + second.intact > 0
    assert total.feeds == first.feeds + second.feeds
    assert total.bytes_fed == first.bytes_fed + second.bytes_fed
    assert total.worst_feed_ms == max(first.worst_feed_ms, second.worst_feed_ms)
    assert [f["signature"] for f in total.findings] == ["lge450", "iec"]
