"""Step 1 of the pipeline: transport frames (and bare APDUs) from a byte stream.

HDLC frames (IEC 62056-46) are cut by their length field and checked by HCS and FCS; wired M-Bus
long frames (EN 13757-2) by L and the checksum; bare APDUs by their own structure (see
`bare_apdu`). Bytes that belong to no frame are counted and skipped.

Work is linear in the bytes received: every candidate start byte is examined a bounded number of
times. A start that claims a frame longer than what is buffered (a garbage `7E A7`, say) is not
waited for when a complete, checked frame is already buffered behind it; to know that without
rescanning, the scanner remembers how far it has looked ahead and, for each incomplete candidate
it saw there, how many bytes it needs before it is worth looking at again.
"""

from __future__ import annotations

import heapq
import re

from . import bare_apdu, hdlc, mbus
from .framing import FrameStatus
from .models import DecoderStats

Unit = hdlc.HdlcFrame | mbus.MbusFrame | bytes | FrameStatus
"""What the scanner hands on: a frame, a bare APDU, or FrameStatus.BAD_CHECKSUM."""

_FRAMED_STARTS = re.compile(rb"[\x7e\x68]")
_ANY_STARTS = re.compile(rb"[\x7e\x68\x0f\xdb\xdc]")
# Pending look-ahead candidates beyond this many are pruned of those already passed.
_MAX_PENDING = 256


class FrameScanner:
    """Holds the bytes of unfinished frames and cuts finished ones out of the stream."""

    def __init__(self, stats: DecoderStats, vouch: bare_apdu.Vouch | None = None) -> None:
        """Start at the beginning of a stream, where a bare APDU may start.

        `vouch`: step 3's judgement of whether a bare APDU's content shows it is whole.
        """
        self._stats = stats
        self._vouch = vouch
        self._buffer = bytearray()
        self._offset = 0  # stream position of self._buffer[0]
        # Until a transport frame is seen, the stream may carry bare APDUs; afterwards never.
        self._raw_mode = True
        self._raw_boundary: int | None = 0  # stream position where a bare APDU is known to start
        self._ahead_scanned = 0  # stream position up to which candidates were looked at
        self._ahead_pending: list[tuple[int, int]] = []  # (stream length needed, position)
        self._ahead_frame = -1  # stream position of a complete frame found ahead

    @property
    def buffered(self) -> int:
        """Bytes held while waiting for the rest of a frame."""
        return len(self._buffer)

    def reset(self) -> None:
        """Forget the buffered bytes (after an internal error); framing knowledge is kept."""
        self._stats.bytes_discarded += len(self._buffer)
        self._offset += len(self._buffer)
        self._buffer.clear()
        self._forget_ahead()
        if self._raw_mode:
            self._raw_boundary = self._offset

    def scan(self, data: bytes | bytearray | memoryview, *, at_gap: bool = False) -> list[Unit]:
        """Add bytes; return the frames they completed, in stream order.

        `at_gap` says the line went quiet after these bytes: a bare APDU ending exactly here is
        complete, and one still incomplete never will be.
        """
        self._buffer += data
        units: list[Unit] = []
        buf = self._buffer
        size = len(buf)
        pos = 0
        while pos < size:
            if buf[pos] == hdlc.FLAG:
                # Every frame leaves its closing flag here, and the next frame brings its own
                # opening flag: a flag followed by a flag is idle line, and a lone flag at the
                # end waits for the bytes after it (no frame can start there or behind it).
                # Settled before probing, this costs each frame one parse instead of three.
                if pos + 1 == size:
                    break
                if buf[pos + 1] == hdlc.FLAG:
                    pos += 1
                    continue
            status, unit, end = self._probe(pos, at_gap=at_gap)
            if status is FrameStatus.FRAME:
                assert unit is not None  # noqa: S101  # FRAME always comes with its unit
                units.append(unit)
                if isinstance(unit, bytes):
                    self._raw_boundary = self._offset + end
                else:
                    self._raw_mode = False
                    self._raw_boundary = None
                pos = end
                continue
            if status is FrameStatus.INCOMPLETE:
                gave_up = at_gap and buf[pos] in bare_apdu.TAGS
                if not gave_up and not self._frame_ahead(pos):
                    break
            elif status is FrameStatus.BAD_CHECKSUM:
                self._stats.crc_errors += 1
                units.append(FrameStatus.BAD_CHECKSUM)
                if end > pos:
                    # A real frame (its header check passed) with a corrupted body: the stream
                    # is framed, and an APDU inside the frame must not be taken for a bare one.
                    # Its span is not skipped: a frame cut short ends inside the next one.
                    self._raw_mode = False
                    self._raw_boundary = None
            starts = _ANY_STARTS if self._raw_mode else _FRAMED_STARTS
            found = starts.search(buf, pos + 1)
            nxt = found.start() if found else size
            self._stats.bytes_discarded += nxt - pos
            pos = nxt
        del buf[:pos]
        self._offset += pos
        if at_gap:
            self._after_gap()
        return units

    def _after_gap(self) -> None:
        """Nothing but a transport frame start survives a quiet line; a bare APDU may follow."""
        buf = self._buffer
        found = _FRAMED_STARTS.search(buf)
        cut = found.start() if found else len(buf)
        if cut:
            self._stats.bytes_discarded += cut
            del buf[:cut]
            self._offset += cut
            self._forget_ahead()
        if self._raw_mode:
            self._raw_boundary = self._offset + len(buf)

    def _probe(self, pos: int, *, at_gap: bool) -> tuple[FrameStatus, Unit | None, int]:
        """What starts at `pos`; the index after it, or for INCOMPLETE the length needed."""
        buf = self._buffer
        byte = buf[pos]
        if byte == hdlc.FLAG:
            return hdlc.parse_frame(buf, pos)
        if byte == mbus.START:
            return mbus.parse_frame(buf, pos)
        if self._raw_mode and byte in bare_apdu.TAGS:
            strict = self._raw_boundary != self._offset + pos
            status, end = bare_apdu.probe(buf, pos, strict=strict, at_gap=at_gap, vouch=self._vouch)
            if status is not FrameStatus.FRAME:
                return status, None, end
            if self._holds_frame(pos + 1, end):
                # A checked transport frame inside it: this "APDU" is the tail of a broken frame.
                return FrameStatus.NOT_A_FRAME, None, pos
            return status, bytes(buf[pos:end]), end
        return FrameStatus.NOT_A_FRAME, None, pos

    def _holds_frame(self, start: int, end: int) -> bool:
        """Whether a complete HDLC or M-Bus frame that passes its checks starts in [start, end)."""
        buf = self._buffer
        while (found := _FRAMED_STARTS.search(buf, start, end)) is not None:
            index = found.start()
            parse = hdlc.parse_frame if buf[index] == hdlc.FLAG else mbus.parse_frame
            if parse(buf, index)[0] is FrameStatus.FRAME:
                return True
            start = index + 1
        return False

    def _forget_ahead(self) -> None:
        self._ahead_pending.clear()
        self._ahead_frame = -1
        self._ahead_scanned = self._offset

    def _frame_ahead(self, pos: int) -> bool:
        """Whether a complete, checked frame starts after the incomplete candidate at `pos`.

        Garbage that looks like the start of a long frame would otherwise hold every frame behind
        it until up to 2 KiB more arrived (a minute at 2400 baud). Garbage that passes the checks
        of a frame overlapping a valid one is a 2^-16 event, so skipping it is safe.
        """
        offset = self._offset
        here = offset + pos
        if self._ahead_frame > here:
            return True
        pending = self._ahead_pending
        available = offset + len(self._buffer)
        if len(pending) > _MAX_PENDING:
            pending[:] = [entry for entry in pending if entry[1] > here]
            heapq.heapify(pending)
        while pending and pending[0][0] <= available:
            _, candidate = heapq.heappop(pending)
            if candidate > here and self._examine(candidate - offset):
                return True
        index = max(here + 1, self._ahead_scanned) - offset
        starts = _ANY_STARTS if self._raw_mode else _FRAMED_STARTS
        while (found := starts.search(self._buffer, index)) is not None:
            index = found.start()
            self._ahead_scanned = offset + index + 1
            if self._examine(index):
                return True
            index += 1
        self._ahead_scanned = available
        return False

    def _examine(self, index: int) -> bool:
        """Look at one candidate ahead: True when it is a complete frame, else note what it needs."""
        status, _, end = self._probe(index, at_gap=False)
        if status is FrameStatus.FRAME:
            self._ahead_frame = self._offset + index
            return True
        if status is FrameStatus.INCOMPLETE:
            heapq.heappush(self._ahead_pending, (self._offset + end, self._offset + index))
        return False
