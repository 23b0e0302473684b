"""The campaign's seeds from the shared captures: read at run time, grouped, framed as on the line."""

from __future__ import annotations

from collections import Counter
import json
from pathlib import Path

from capture_vectors import NO_VECTORS, VECTORS
import pytest

from smartmeter_devtools.fuzz_corpus import capture_streams
from smartmeter_devtools.fuzz_guard import fresh_feed

STX, ETX = 0x02, 0x03


def test_no_folder_no_capture_streams(tmp_path: Path) -> None:
    """Without the captures (they are not in the repository) the campaign runs on encoder output."""
    (tmp_path / "orphan.json").write_text(json.dumps({"profile": "lge450", "framing": "hdlc"}))

    assert capture_streams(None) == []
    assert capture_streams(tmp_path / "absent") == []
    assert capture_streams(tmp_path) == []  # a sidecar without its .hex is no capture


@pytest.mark.skipif(not VECTORS.is_dir(), reason=NO_VECTORS)
def test_every_capture_seeds_its_group() -> None:
    """One message per capture, grouped by profile, keys and framing as the sidecars say."""
    sidecars = [
        json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(VECTORS.glob("*.json"))
        if path.with_suffix(".hex").exists()
    ]

    streams = capture_streams(VECTORS)

    assert sum(len(stream.messages) for stream in streams) == len(sidecars)
    groups = Counter(
        (m["profile"], m.get("key"), m.get("auth_key"), m["framing"]) for m in sidecars
    )
    assert len(streams) == len(groups)
    for stream in streams:
        assert stream.name.startswith(f"capture:{stream.profile}:{stream.framing}")
        assert stream.name.endswith(":auth") == (stream.auth_key is not None)


@pytest.mark.skipif(not VECTORS.is_dir(), reason=NO_VECTORS)
def test_iec_readouts_are_fuzzed_in_their_block() -> None:
    """IEC 62056-21 data lines travel in STX ... ETX BCC; so framed, each one decodes."""
    iec = [stream for stream in capture_streams(VECTORS) if stream.framing == "iec62056-21"]
    if not iec:
        pytest.skip("no IEC 62056-21 capture among the shared vectors")
    for stream in iec:
        for message in stream.messages:
            (block,) = message.frames
            assert block[0] == STX
            assert block[-2] == ETX
            bcc = 0
            for byte in block[1:-1]:
                bcc ^= byte
            assert bcc == block[-1]
            assert fresh_feed(stream, message.data)
