"""The fuzz campaign itself: deterministic, honest about its mutants, complete in its report."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
import random
import re
import subprocess
import sys

import pytest

from smartmeter_devtools.fuzz import Job, JobResult, report, run_job, write_findings
from smartmeter_devtools.fuzz_corpus import encoded_streams
from smartmeter_devtools.fuzz_findings import Findings, shrink
from smartmeter_devtools.fuzz_guard import fresh_feed, new_decoder
from smartmeter_devtools.fuzz_judge import StreamRunner, _Expectation
from smartmeter_devtools.fuzz_mutate import (
    MUTATORS,
    hdlc_fields,
    hdlc_frame_from,
    iec_text,
    mbus_field,
)
from smartmeter_devtools.fuzz_tally import Tally

REPO = Path(__file__).resolve().parents[2]
STREAMS = {stream.name: stream for stream in encoded_streams(seed=5, count=4)}


def _job(mutants: int, seed: int = 7) -> Job:
    return Job(
        seed=seed,
        index=0,
        mutants=mutants,
        seconds=None,
        profiles=("lge450", "kaifa_mbus", "apdu", "iec"),
        vectors=None,
        memory_limit_mib=0,
        trace_memory=False,
        guard=False,
    )


def test_same_seed_same_campaign() -> None:
    """A failure found with a seed can be found again: the run repeats exactly."""
    first, second = run_job(_job(120)), run_job(_job(120))
    assert first.mutants == second.mutants == 120
    for name in ("mutants", "intact", "exceptions", "lost", "wrong", "vouched_readings"):
        assert getattr(first.tally, name) == getattr(second.tally, name), name
    assert run_job(_job(120, seed=8)).tally.mutants != first.tally.mutants


def test_every_profile_and_framing_is_seeded() -> None:
    """Plain and ciphered pushes of every encoder profile, bare APDUs and IEC text are fuzzed."""
    framings = {stream.framing for stream in STREAMS.values()}
    assert framings == {"hdlc", "mbus", "apdu", "iec62056-21"}
    assert {"lge450", "lge450+enc", "kaifa_mbus+enc", "apdu+enc", "iec"} <= set(STREAMS)
    for stream in STREAMS.values():
        # Each intact seed decodes on its own: a mutant's damage is the only reason to lose it.
        assert all(fresh_feed(stream, message.data) for message in stream.messages), stream.name


@pytest.mark.parametrize("name", ["lge450", "lge450+enc", "iskraam550", "generic+enc"])
def test_reframed_hdlc_frames_pass_their_checks(name: str) -> None:
    """A re-framed HDLC frame (new information field) has a valid HCS and FCS."""
    stream = STREAMS[name]
    frame = stream.messages[0].frames[0]
    fields = hdlc_fields(frame)
    assert fields is not None
    info = frame[fields[1] : -3]
    decoder = new_decoder(stream)
    decoder.feed(hdlc_frame_from(frame, info[: len(info) // 2]))
    assert decoder.stats.frames == 1
    assert decoder.stats.crc_errors == 0


def test_reframed_mbus_and_iec_mutants_pass_their_checks() -> None:
    """M-Bus sums and IEC 62056-21 BCCs are recomputed: the decoder sees no checksum error."""
    rng = random.Random(3)
    for _ in range(20):
        mutant = mbus_field(rng, STREAMS["kaifa_mbus"])
        assert mutant is not None
        assert mutant.vouched
        decoder = new_decoder(STREAMS["kaifa_mbus"])
        decoder.feed(mutant.data)
        assert decoder.stats.crc_errors == 0
    mutant = iec_text(rng, STREAMS["iec"])
    assert mutant is not None
    block = mutant.data[mutant.data.index(2) :]
    bcc = 0
    for byte in block[1:-1]:
        bcc ^= byte
    assert bcc == block[-1]


def test_every_mutation_class_applies_somewhere() -> None:
    """No class is dead weight: each one yields a mutant for at least one stream."""
    rng = random.Random(1)
    for kind, (_, mutator) in MUTATORS.items():
        made = [mutator(rng, stream) for stream in STREAMS.values()]
        assert any(m is not None and m.data for m in made), kind


def test_cli_prints_every_figure_and_fails_on_any_failure(tmp_path: Path) -> None:
    """The report names each figure; the exit status is non-zero exactly when one is bad."""
    findings = tmp_path / "findings.md"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "smartmeter_devtools",
            "fuzz",
            "--mutants",
            "200",
            "--seed",
            "2",
            "--jobs",
            "2",
            "--vectors",
            str(tmp_path / "absent"),
            "--findings",
            str(findings),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=600,
        check=False,
    )
    out = result.stdout
    assert "shared captures not found" in out
    figures = {}
    for name in ("mutants", "exceptions", "lost resyncs", "wrong readings"):
        match = re.search(rf"^{name}: (\d+)", out, re.MULTILINE)
        assert match, f"{name} missing from:\n{out}\n{result.stderr}"
        figures[name] = int(match.group(1))
    assert figures["mutants"] == 200
    assert re.search(r"^feeds over 50 ms CPU: \d+", out, re.MULTILINE)
    assert "memory growth after warm-up: RSS" in out
    failed = figures["exceptions"] + figures["lost resyncs"] + figures["wrong readings"]
    assert result.returncode == (1 if failed else 0), out
    if failed:
        assert "\n## " in findings.read_text(encoding="utf-8")


def test_shrink_keeps_only_the_bytes_that_fail() -> None:
    """A repro is cut down to what still triggers the failure."""
    data = bytes(range(40)) + b"BAD" + bytes(range(40))
    assert shrink(data, lambda candidate: b"BAD" in candidate) == b"BAD"


def test_report_fails_on_every_kind_of_failure() -> None:
    """Exceptions, lost resyncs and wrong readings each fail the run; vouched readings do not."""

    def result(**counters: Counter[str]) -> JobResult:
        tally = Tally()
        for name, counter in counters.items():
            getattr(tally, name).update(counter)
        return JobResult(tally, 1, ["s"], 0, None, 0, 0.0)

    assert not report([result(vouched_readings=Counter(axdr=3))], 1, 0.1)[1]
    for name in ("exceptions", "lost", "wrong"):
        text, failed = report([result(**{name: Counter(x=1)}), result()], 1, 0.1)
        assert failed, name
        assert "memory growth after warm-up" in text


def test_repros_name_the_stream_keys_and_bytes(tmp_path: Path) -> None:
    """What the campaign reports carries everything needed to replay it."""
    stream = STREAMS["lge450+enc"]
    tally = Tally()
    sink = Findings(tally.findings)
    runner = StreamRunner(stream, random.Random(1), tally, sink)
    runner.run_batch(4)
    sink.exception(runner, ValueError("boom"), stream.messages[0].data[:9], "feed")
    sink.slow(runner, stream.messages[0].data, 0.06)
    sink.wrong(runner, ("not", "a", "reading"), "bitflip")
    # A message that really went missing: its first frame cut off, so it cannot decode.
    runner.position += 1
    gone = _Expectation(
        0, runner.position - 1, runner.position, Counter(runner.expected[0]), False, 0
    )
    sink.lost(runner, gone)
    assert {entry["profile"] for entry in tally.findings} == {"lge450"}
    assert all(entry["key"] == stream.key.hex() and entry["hex"] for entry in tally.findings)
    path = tmp_path / "findings.md"
    job = JobResult(tally, 1, [stream.name], 0, None, 0, 0.0)
    assert write_findings(path, [job], seed=1) == 4
    assert path.read_text(encoding="utf-8").count("\n## ") == 4
