"""Step 2 of the pipeline: APDUs from frames (HDLC segmentation, M-Bus segments, GBT blocks).

A message that spans several frames is assembled only from frames that passed their checks and
agree with each other: HDLC segments follow the S bit of IEC 62056-46 (6.4.4.4.3), M-Bus segments
count up in CI's low nibble, GBT blocks count up from 1 (`gbt`). Noise between two frames of one
message is just noise: the partial message is kept. It is dropped, and counted, only when a frame
fails its check, a segment or block is missing, duplicated or out of order, a new message starts,
the size cap is reached, or it is older than a meter could take to send it. The application
layer then checks the joined APDU's own length (A-XDR structure, ciphered length field), which
catches an HDLC segment lost without trace, since those carry no sequence number.
"""

from __future__ import annotations

from . import hdlc, mbus
from .gbt import BlockAssembler, BlockOutcome, is_first_block
from .models import DecoderStats

# Segmented HDLC / M-Bus messages: a generous cap on what one message may accumulate.
MAX_SEGMENTED_MESSAGE = 16384


def strip_llc(info: bytes) -> bytes:
    """The information field without its LLC header (IEC 62056-46 8.1), if it has one."""
    for header in hdlc.LLC_HEADERS:
        if info.startswith(header):
            return info[len(header) :]
    return info


class MessageAssembler:
    """Joins the frames of one message; at most one partial message per kind at a time."""

    def __init__(self, stats: DecoderStats, max_age: float) -> None:
        """`max_age`: seconds after which an unfinished message cannot be completed any more."""
        self._stats = stats
        self._max_age = max_age
        self._segments: list[bytes] | None = None
        self._segments_size = 0
        self._mbus_segments: list[bytes] | None = None
        self._blocks = BlockAssembler()
        self._skipping_blocks = False
        self._since: float | None = None
        self._new_message = False  # a message started since the last tick: its age starts now

    @property
    def in_progress(self) -> bool:
        """Whether frames of an unfinished message are held."""
        return (
            self._segments is not None
            or self._mbus_segments is not None
            or self._blocks.in_progress
        )

    def expire(self, now: float | None) -> None:
        """Drop a partial message too old to be completed at `now` (first byte of a new read)."""
        if now is not None and self._since is not None and now - self._since > self._max_age:
            if self.in_progress:
                self._forget()
                self._skipping_blocks = True
                self._stats.expired_messages += 1
            self._since = None

    def note(self, now: float | None) -> None:
        """Remember when the partial message started: the end of the read that began it.

        The end, not the start: a read's bytes span its line time, and a message whose first
        frame came late in a long read must not look older than it is.
        """
        new_message, self._new_message = self._new_message, False
        if now is None or not self.in_progress:
            self._since = None
        elif self._since is None or new_message:
            self._since = now

    def bad_frame(self) -> None:
        """A frame failed its check: it may have belonged to the partial message."""
        if self._forget():
            self._stats.dropped_messages += 1

    def _forget(self) -> bool:
        dropped = self._blocks.reset()
        self._skipping_blocks = self._skipping_blocks or dropped
        dropped = dropped or self._segments is not None or self._mbus_segments is not None
        self._segments = None
        self._mbus_segments = None
        return dropped

    def hdlc_frame(self, frame: hdlc.HdlcFrame) -> bytes | None:
        """Add an HDLC frame; returns the information of a finished message (LLC removed)."""
        info = frame.information
        if self._segments is not None and info.startswith(hdlc.LLC_HEADERS):
            # Only a message's first segment carries the LLC header: this one starts anew.
            self._segments = None
            self._stats.dropped_messages += 1
        if self._segments is None:
            if not info:
                return None
            info = strip_llc(info)
            if frame.segmented:
                self._new_message = True
                self._segments = [info]
                self._segments_size = len(info)
                return None
            return info
        self._segments.append(info)
        self._segments_size += len(info)
        if self._segments_size > MAX_SEGMENTED_MESSAGE:
            self._segments = None
            self._stats.dropped_messages += 1
            return None
        if frame.segmented:
            return None
        joined = b"".join(self._segments)
        self._segments = None
        return joined

    def mbus_frame(self, frame: mbus.MbusFrame) -> bytes | None:
        """Add an M-Bus long frame; returns the APDU when its last segment arrived."""
        if frame.segment == 0:
            self._new_message = True
            if self._mbus_segments is not None:
                self._stats.dropped_messages += 1
            self._mbus_segments = []
        elif self._mbus_segments is None or len(self._mbus_segments) != frame.segment:
            if self._mbus_segments is not None:
                self._stats.dropped_messages += 1
            self._mbus_segments = None
            return None
        self._mbus_segments.append(frame.data)
        if not frame.final:
            return None
        data = b"".join(self._mbus_segments)
        self._mbus_segments = None
        return data

    def gbt_block(self, block: bytes) -> bytes | None:
        """Add a general-block-transfer block; returns the joined APDU after the last block."""
        # Block number 1 opens a message (a partial one before it is dropped by the assembler).
        self._new_message = self._new_message or is_first_block(block)
        outcome, message = self._blocks.add(block)
        if outcome is BlockOutcome.DROPPED or (
            outcome is BlockOutcome.IGNORED and not self._skipping_blocks
        ):
            # The rest of a dropped message, or blocks whose start we never saw: count the
            # message once, not once per block.
            self._stats.dropped_messages += 1
        self._skipping_blocks = outcome in (BlockOutcome.DROPPED, BlockOutcome.IGNORED)
        return message
