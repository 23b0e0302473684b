"""Wired M-Bus long frames (EN 13757-2) on their own, and their round trip through the encoder."""

from __future__ import annotations

from hypothesis import given, strategies as st

from custom_components.smartmeter_datacollector.dlms import mbus
from custom_components.smartmeter_datacollector.dlms.framing import FrameStatus
from smartmeter_devtools.framing_encode import mbus_frames


@given(apdu=st.binary(min_size=1, max_size=2000), size=st.integers(min_value=130, max_value=245))
def test_round_trip(apdu: bytes, size: int) -> None:
    """Segments numbered from 0, the last one flagged, their data joined is the APDU."""
    frames = mbus_frames(apdu, max_data=size)
    parts = []
    for number, frame in enumerate(frames):
        status, parsed, end = mbus.parse_frame(frame, 0)
        assert status is FrameStatus.FRAME
        assert parsed is not None
        assert end == len(frame)
        assert parsed.segment == number
        assert parsed.final == (number == len(frames) - 1)
        parts.append(parsed.data)
    assert b"".join(parts) == apdu


def test_checksum_length_and_stop_byte() -> None:
    """CS is the sum of C..data; L twice; 0x16 at the end."""
    frame = mbus_frames(b"\x0f\x00\x01")[0]
    bad_sum = frame[:-2] + bytes(((frame[-2] + 1) & 0xFF,)) + frame[-1:]

    assert mbus.parse_frame(bad_sum, 0)[0] is FrameStatus.BAD_CHECKSUM
    assert mbus.parse_frame(frame[:1] + b"\x09" + frame[2:], 0)[0] is FrameStatus.NOT_A_FRAME
    assert mbus.parse_frame(frame[:-1] + b"\x17", 0)[0] is FrameStatus.NOT_A_FRAME
    assert mbus.parse_frame(frame[:3], 0) == (FrameStatus.INCOMPLETE, None, 4)
    assert mbus.parse_frame(frame[:10], 0) == (FrameStatus.INCOMPLETE, None, len(frame))
