"""HDLC frames (IEC 62056-46) on their own: bytes in, frame or status out; encode/decode round trip."""

from __future__ import annotations

from hypothesis import given, strategies as st
import pytest

from custom_components.smartmeter_datacollector.dlms import hdlc
from custom_components.smartmeter_datacollector.dlms.framing import FrameStatus
from smartmeter_devtools.framing_encode import hdlc_address, hdlc_frame

DEST, SRC = hdlc_address(0x67, 2), hdlc_address(1, 1)


@given(
    info=st.binary(min_size=1, max_size=600),
    segmented=st.booleans(),
    dest_size=st.sampled_from([1, 2, 4]),
)
def test_round_trip(info: bytes, segmented: bool, dest_size: int) -> None:
    """Whatever the encoder frames, the parser returns unchanged, up to the closing flag."""
    frame = hdlc_frame(
        info, dest=hdlc_address(5, dest_size), src=SRC, control=0x13, segmented=segmented
    )
    status, parsed, end = hdlc.parse_frame(frame, 0)

    assert status is FrameStatus.FRAME
    assert parsed is not None
    assert (parsed.information, parsed.segmented, parsed.control) == (info, segmented, 0x13)
    assert parsed.raw == frame
    assert end == len(frame) - 1  # the closing flag may open the next frame


def test_incomplete_frames_say_how_many_bytes_they_need() -> None:
    """A cut frame waits exactly for its claimed length, never rescans before that."""
    frame = hdlc_frame(b"\x0f" * 40, dest=DEST, src=SRC, control=0x13)

    assert hdlc.parse_frame(frame[:2], 0) == (FrameStatus.INCOMPLETE, None, 3)
    assert hdlc.parse_frame(frame[:20], 0) == (FrameStatus.INCOMPLETE, None, len(frame))


@pytest.mark.parametrize(
    ("index", "status_if_hcs_ok"),
    [(4, FrameStatus.BAD_CHECKSUM), (12, FrameStatus.BAD_CHECKSUM)],
)
def test_a_changed_byte_fails_a_check(index: int, status_if_hcs_ok: FrameStatus) -> None:
    """Header bytes are covered by the HCS, the information field by the FCS."""
    frame = bytearray(hdlc_frame(b"\x0f" * 40, dest=DEST, src=SRC, control=0x13))
    frame[index] ^= 0x40

    status, parsed, _ = hdlc.parse_frame(frame, 0)
    assert (status, parsed) == (status_if_hcs_ok, None)


def test_a_frame_with_a_good_header_and_a_bad_fcs_says_where_it_ends() -> None:
    """The header check passed, so the length is right: the scanner may trust the end."""
    frame = bytearray(hdlc_frame(b"\x0f" * 40, dest=DEST, src=SRC, control=0x13))
    frame[-3] ^= 0x01

    assert hdlc.parse_frame(frame, 0)[::2] == (FrameStatus.BAD_CHECKSUM, len(frame) - 1)


@pytest.mark.parametrize(
    "raw",
    [
        "7e",  # flag only
        "7eb00a",  # frame type 0xB
        "7ea003",  # shorter than any frame
        "7ea00a00000000000000000000",  # closing flag missing
        "7ea00700000000000000007e",  # address never ends (no LSB set)
    ],
)
def test_what_is_not_a_frame(raw: str) -> None:
    """Wrong type, impossible length, missing closing flag, bad address: resynchronise."""
    data = bytes.fromhex(raw)
    status = hdlc.parse_frame(data, 0)[0]
    assert status in (FrameStatus.NOT_A_FRAME, FrameStatus.INCOMPLETE)
    if len(data) > 3:
        assert status is FrameStatus.NOT_A_FRAME


def test_a_frame_without_information_has_no_hcs() -> None:
    """Format, addresses, control, FCS: the shortest legal frame."""
    frame = hdlc_frame(b"", dest=DEST, src=SRC, control=0x13)
    status, parsed, _ = hdlc.parse_frame(frame, 0)

    assert status is FrameStatus.FRAME
    assert parsed is not None
    assert parsed.information == b""
