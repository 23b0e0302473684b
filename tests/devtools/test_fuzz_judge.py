"""The judge's own checks: which frames in a byte stream are genuine, and which APDUs end in a value."""

from __future__ import annotations

import random

from smartmeter_devtools.fuzz_corpus import encoded_streams
from smartmeter_devtools.fuzz_findings import Findings
from smartmeter_devtools.fuzz_judge import (
    StreamRunner,
    Tally,
    _valid_frames,
    decode_alone,
    ends_in_value,
)

STREAMS = {stream.name: stream for stream in encoded_streams(seed=5, count=2)}
# data-notification, long-invoke-id, no date-time (IEC 62056-5-3 / Green Book 9.3.10)
HEADER = bytes([0x0F, 0x00, 0x00, 0x00, 0x01, 0x00])
UINT32, OCTET_STRING, STRUCTURE = 0x06, 0x09, 0x02


def test_valid_frames_finds_each_checked_frame_among_noise() -> None:
    """HDLC frames, M-Bus long frames and IEC blocks that pass their checks; nothing else."""
    hdlc = STREAMS["lge450"].messages[0].frames
    mbus = STREAMS["kaifa_mbus"].messages[0].frames
    (iec,) = STREAMS["iec"].messages[0].frames
    broken = bytearray(hdlc[0])
    broken[len(broken) // 2] ^= 0x01  # its FCS no longer matches
    noise = bytes([0x55, 0xAA, 0x11])
    data = noise + b"".join(hdlc) + noise + bytes(broken) + b"".join(mbus) + noise + iec + noise

    assert list(_valid_frames(data)) == [*hdlc, *mbus, iec]


def test_ends_in_value() -> None:
    """Whether a cut inside the last value could still give a reading: only if it is a number."""
    number_last = HEADER + bytes([STRUCTURE, 2, OCTET_STRING, 2, 0x41, 0x42, UINT32, 0, 0, 0, 5])
    text_last = HEADER + bytes([STRUCTURE, 2, UINT32, 0, 0, 0, 5, OCTET_STRING, 2, 0x41, 0x42])
    # Untagged descriptors (Sagemcom) are no plain A-XDR value, yet end in a tagged number.
    untagged = HEADER + bytes([0xF0, 0x01, UINT32, 0, 0, 0, 5])

    assert ends_in_value(number_last)
    assert not ends_in_value(text_last)
    assert not ends_in_value(number_last + b"\x00")  # something after the value
    assert ends_in_value(untagged)
    assert not ends_in_value(None)
    assert not ends_in_value(b"\x01\x02")


def test_decode_alone_gives_what_a_fresh_decoder_reads() -> None:
    """An intact message decodes alone; noise gives nothing."""
    stream = STREAMS["lge450"]

    assert len(decode_alone(stream, stream.messages[0].data)) == 1
    assert decode_alone(stream, bytes(64)) == []


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
