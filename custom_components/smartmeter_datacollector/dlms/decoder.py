"""MeterDecoder: bytes from a meter's push interface in, readings out.

One pass over a bounded buffer finds HDLC frames (IEC 62056-46), wired M-Bus long frames
(EN 13757-2) or, on streams that start with one, bare APDUs; frames join into APDUs
(HDLC segmentation, general block transfer, M-Bus segments), ciphered APDUs are opened, and each
data-notification becomes a Reading. Every decision depends only on the bytes, never on how
they were chunked, and no bad input raises: it is dropped and counted in `stats`.
"""

from __future__ import annotations

from collections import deque
from datetime import tzinfo

from . import hdlc, mbus
from .apdu import DATA_NOTIFICATION, notification_end, parse_notification
from .axdr import AxdrError, NeedMoreDataError
from .cipher import (
    CIPHERED_TAGS,
    CipherError,
    decrypt,
    parse_ciphered,
)
from .gbt import TAG as GBT_TAG, BlockAssembler, BlockOutcome
from .iec_readout import ReadoutParser
from .keys import parse_key
from .layouts import interpret_body
from .lengths import read_length
from .models import DecoderStats, Profile, Reading
from .nordic import LIST_TEMPLATES
from .profiles import PROFILES
from .readings import build_reading

_RAW_APDU_TAGS = frozenset((DATA_NOTIFICATION, *CIPHERED_TAGS))
_FRAME_STARTS = frozenset((hdlc.FLAG, mbus.START))
# A bare APDU is never longer than this; waiting for more would let garbage grow the buffer.
_MAX_RAW_APDU = 8192
# Segmented HDLC / M-Bus messages: a generous cap on what one message may accumulate.
_MAX_SEGMENTED_MESSAGE = 16384
_RECENT_FRAMES = 8


class MeterDecoder:
    """Stateful stream decoder for one meter."""

    def __init__(
        self,
        profile: str | Profile,
        key: str | bytes | None = None,
        auth_key: str | bytes | None = None,
        tz: tzinfo | None = None,
    ) -> None:
        """Raise KeyError for an unknown profile and KeyFormatError for a malformed key."""
        self.profile = profile if isinstance(profile, Profile) else PROFILES[profile]
        self._templates = self.profile.templates + LIST_TEMPLATES
        self._key = parse_key(key)
        self._auth_key = parse_key(auth_key)
        self._zone = tz
        self.stats = DecoderStats()
        self._recent: deque[bytes] = deque(maxlen=_RECENT_FRAMES)
        self._buffer = bytearray()
        self._offset = 0  # stream position of self._buffer[0]
        # Bare APDUs are only accepted where one is known to start (stream start, right after
        # the previous one, or after a gap); once transport framing is seen, never again.
        self._raw_start: int | None = 0
        self._segments: list[bytes] | None = None
        self._segments_size = 0
        self._mbus_segments: list[bytes] | None = None
        self._blocks = BlockAssembler()
        self._skipping_blocks = False
        self._readout = ReadoutParser(tz) if self.profile.framing == "iec62056-21" else None
        self._readings: list[Reading] = []

    @property
    def recent_frames(self) -> tuple[bytes, ...]:
        """The last frames (or readouts) that passed their checks, oldest first."""
        return tuple(self._recent)

    @property
    def buffered(self) -> int:
        """Bytes held while waiting for the rest of a frame (bounded whatever arrives)."""
        return len(self._buffer)

    def feed(self, data: bytes | bytearray | memoryview) -> list[Reading]:
        """Consume bytes; return the readings they completed."""
        self.stats.bytes_received += len(data)
        self._readings = []
        if self._readout is not None:
            readings, discarded = self._readout.feed(bytes(data))
            self.stats.bytes_discarded += discarded
            if readings:
                self._recent.append(self._readout.last_readout)
            self._readings = readings
        else:
            self._buffer += data
            self._scan()
        self.stats.readings += len(self._readings)
        return self._readings

    def gap(self) -> None:
        """Tell the decoder the line went quiet: a bare APDU may start with the next byte."""
        if self._buffer and self._buffer[0] not in _FRAME_STARTS:
            self.stats.bytes_discarded += len(self._buffer)
            self._offset += len(self._buffer)
            self._buffer.clear()
        if self._raw_start is not None or not self._buffer:
            self._raw_start = self._offset + len(self._buffer)

    # --- transport -------------------------------------------------------------------------

    def _scan(self) -> None:
        buf = self._buffer
        size = len(buf)
        pos = 0
        while pos < size:
            byte = buf[pos]
            if byte == hdlc.FLAG:
                status, frame, end = hdlc.parse_frame(buf, pos)
                if frame is not None:
                    self._raw_start = None
                    self._on_hdlc_frame(frame)
                    pos = end
                    continue
                if status is hdlc.HdlcStatus.INCOMPLETE and not self._complete_frame_after(pos):
                    break
                if status is hdlc.HdlcStatus.BAD_CHECKSUM:
                    self._on_bad_frame()
                elif pos + 1 < size and buf[pos + 1] == hdlc.FLAG:
                    pos += 1  # flag fill between frames is not garbage
                    continue
            elif byte == mbus.START:
                mstatus, mframe, end = mbus.parse_frame(buf, pos)
                if mframe is not None:
                    self._raw_start = None
                    self._on_mbus_frame(mframe)
                    pos = end
                    continue
                if mstatus is mbus.MbusStatus.INCOMPLETE:
                    break
                if mstatus is mbus.MbusStatus.BAD_CHECKSUM:
                    self._on_bad_frame()
            if self._raw_start == self._offset + pos and byte in _RAW_APDU_TAGS:
                raw_end = self._raw_apdu_end(buf, pos)
                if raw_end is None:
                    break
                if raw_end > pos:
                    self._on_apdu(bytes(buf[pos:raw_end]))
                    self._raw_start = self._offset + raw_end
                    pos = raw_end
                    continue
            # Not a frame start: skip ahead to the next byte that could begin one.
            nxt = min(
                (
                    i
                    for i in (buf.find(hdlc.FLAG, pos + 1), buf.find(mbus.START, pos + 1))
                    if i >= 0
                ),
                default=size,
            )
            self.stats.bytes_discarded += nxt - pos
            self._raw_start = None
            # Bytes that belong to no frame between two blocks of a message mean frames were
            # lost without failing a check (a flag destroyed): the message is not trustworthy.
            self._drop_partial()
            pos = nxt
        del buf[:pos]
        self._offset += pos

    def _complete_frame_after(self, pos: int) -> bool:
        """Whether a whole, checked HDLC frame starts after `pos`.

        A garbage flag followed by a plausible length would otherwise hold every frame behind
        it until up to 2 KiB more arrived (a minute on a 2400 baud line). Garbage that passes the
        CRC of a frame overlapping a valid one is a 2^-16 event, so skipping it is safe.
        """
        buf = self._buffer
        flag = buf.find(hdlc.FLAG, pos + 1)
        while flag >= 0:
            status, _, _ = hdlc.parse_frame(buf, flag)
            if status is hdlc.HdlcStatus.FRAME:
                return True
            flag = buf.find(hdlc.FLAG, flag + 1)
        return False

    def _raw_apdu_end(self, buf: bytearray, pos: int) -> int | None:
        """End of the bare APDU at pos; None to wait for more bytes; pos when it is not one."""
        try:
            if buf[pos] == DATA_NOTIFICATION:
                end = notification_end(buf, pos)
            else:
                parsed = read_length(buf, pos + 10)
                if parsed is None:
                    raise NeedMoreDataError if len(buf) - pos < 14 else AxdrError("bad length")
                length, start = parsed
                end = start + length
                if end > len(buf):
                    raise NeedMoreDataError
        except NeedMoreDataError:
            return None if len(buf) - pos < _MAX_RAW_APDU else pos
        except AxdrError:
            return pos
        return end if end - pos <= _MAX_RAW_APDU else pos

    def _on_bad_frame(self) -> None:
        self.stats.crc_errors += 1
        self._drop_partial()

    def _drop_partial(self) -> None:
        """Forget any message assembled from earlier frames (segments, blocks)."""
        dropped = self._blocks.reset()
        self._skipping_blocks = self._skipping_blocks or dropped
        if self._segments is not None or self._mbus_segments is not None:
            dropped = True
        self._segments = None
        self._mbus_segments = None
        if dropped:
            self.stats.dropped_messages += 1

    def _on_hdlc_frame(self, frame: hdlc.HdlcFrame) -> None:
        self.stats.frames += 1
        self._recent.append(frame.raw)
        info = frame.information
        if self._segments is None:
            if not info:
                return
            info = _strip_llc(info)
            if frame.segmented:
                self._segments = [info]
                self._segments_size = len(info)
                return
        else:
            self._segments.append(info)
            self._segments_size += len(info)
            if self._segments_size > _MAX_SEGMENTED_MESSAGE:
                self._segments = None
                self.stats.dropped_messages += 1
                return
            if frame.segmented:
                return
            info = b"".join(self._segments)
            self._segments = None
        self._on_apdu(info)

    def _on_mbus_frame(self, frame: mbus.MbusFrame) -> None:
        self.stats.frames += 1
        self._recent.append(frame.raw)
        if frame.segment == 0:
            if self._mbus_segments is not None:
                self.stats.dropped_messages += 1
            self._mbus_segments = []
        elif self._mbus_segments is None or len(self._mbus_segments) != frame.segment:
            if self._mbus_segments is not None:
                self.stats.dropped_messages += 1
            self._mbus_segments = None
            return
        self._mbus_segments.append(frame.data)
        if frame.final:
            data = b"".join(self._mbus_segments)
            self._mbus_segments = None
            self._on_apdu(data)

    # --- application layer -----------------------------------------------------------------

    def _on_apdu(self, apdu: bytes, system_title: bytes | None = None) -> None:
        if not apdu:
            return
        tag = apdu[0]
        if tag == GBT_TAG:
            outcome, message = self._blocks.add(apdu)
            if outcome is BlockOutcome.DROPPED or (
                outcome is BlockOutcome.IGNORED and not self._skipping_blocks
            ):
                # The rest of a dropped message, or blocks whose start we never saw: count the
                # message once, not once per block.
                self.stats.dropped_messages += 1
            self._skipping_blocks = outcome in (BlockOutcome.DROPPED, BlockOutcome.IGNORED)
            if message is not None:
                self._on_apdu(message)
        elif tag in CIPHERED_TAGS:
            self._on_ciphered(apdu)
        elif tag == DATA_NOTIFICATION:
            self._on_notifications(apdu, system_title)
        else:
            # get/set/action services, event-notification, general-ciphering: not a push reading.
            self.stats.unknown_layouts += 1

    def _on_ciphered(self, apdu: bytes) -> None:
        ciphered = parse_ciphered(apdu)
        if ciphered is None:
            self.stats.dropped_messages += 1
            return
        plaintext, error = decrypt(ciphered, self._key, self._auth_key)
        if error is CipherError.KEY_REQUIRED:
            self.stats.key_required += 1
        elif error is CipherError.UNSUPPORTED:
            self.stats.unknown_layouts += 1
        if plaintext is None:
            self.stats.dropped_messages += 1
            return
        # With a verified tag the plaintext is authentic whatever it holds; without one, only a
        # well-formed data-notification shows that the key was right.
        authenticated = error is None and ciphered.tag is not None and self._auth_key is not None
        well_formed = _is_valid_notification(plaintext)
        if error is CipherError.AUTH_FAILED or not (authenticated or well_formed):
            # A failed tag with a well-formed plaintext means only the authentication key is wrong.
            if error is CipherError.AUTH_FAILED and well_formed:
                self.stats.auth_errors += 1
            else:
                self.stats.decrypt_errors += 1
            self.stats.dropped_messages += 1
            return
        if well_formed:
            self._on_notifications(plaintext, ciphered.system_title)
        else:
            self.stats.unknown_layouts += 1

    def _on_notifications(self, apdu: bytes, system_title: bytes | None) -> None:
        # Some E450 firmware puts several LLC+APDU units into one frame: read them all.
        start = 0
        while start < len(apdu):
            try:
                notification, end = parse_notification(apdu, start)
            except AxdrError:
                self.stats.dropped_messages += 1
                return
            layout = interpret_body(notification.body, self._templates)
            reading = build_reading(
                layout, notification.header_time, system_title, self.profile, self._zone
            )
            if reading is None:
                self.stats.unknown_layouts += 1
            else:
                self._readings.append(reading)
            start = end
            for header in hdlc.LLC_HEADERS:
                if apdu.startswith(header, start):
                    start += len(header)


def _strip_llc(info: bytes) -> bytes:
    for header in hdlc.LLC_HEADERS:
        if info.startswith(header):
            return info[len(header) :]
    return info


def _is_valid_notification(plaintext: bytes) -> bool:
    """Whether decrypted bytes are one whole data-notification: the wrong-key test without a tag."""
    if not plaintext or plaintext[0] != DATA_NOTIFICATION:
        return False
    try:
        return notification_end(plaintext, 0) == len(plaintext)
    except (NeedMoreDataError, AxdrError):
        return False
