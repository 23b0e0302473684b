"""The judge's own checks: which frames in a byte stream are genuine, and which APDUs end in a value."""

from __future__ import annotations

from smartmeter_devtools.fuzz_corpus import encoded_streams
from smartmeter_devtools.fuzz_evidence import decode_alone, ends_in_value, valid_frames

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

    assert list(valid_frames(data)) == [*hdlc, *mbus, iec]


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
