"""MeterDecoder: bytes from a meter's push interface in, readings out.

A pipeline of three steps, one module each:
1. frames from bytes (`scanner`): HDLC frames (IEC 62056-46), wired M-Bus long frames
   (EN 13757-2) or, on streams without transport framing, bare APDUs;
2. APDUs from frames (`assembly`): HDLC segmentation, M-Bus segments, general block transfer;
3. readings from APDUs (here): ciphered APDUs are opened (`cipher`), each data-notification's
   body is read (`apdu`, `layouts`) and becomes a Reading (`readings`).
Every decision depends only on the bytes (and, when the caller passes it, the time they arrived),
never on how they were chunked. No input raises: bad input is dropped and counted in `stats`;
an unexpected error is caught at the step it happened in, counted as `internal_errors`, logged
at debug level with the bytes in hex, and the decoder carries on.

The decoder is sans-I/O and never reads a clock. A caller that passes `now` (monotonic seconds)
to `feed` gets two time rules: a partial multi-frame message older than `max_message_age` is
dropped (`expired_messages`), and a silence of `idle_gap` seconds between two feeds counts as
`gap()`.
"""

from __future__ import annotations

from collections import deque
from datetime import tzinfo
import logging

from . import hdlc, mbus
from .apdu import DATA_NOTIFICATION, notification_end, parse_notification
from .assembly import MessageAssembler
from .axdr import AxdrError, NeedMoreDataError
from .cipher import CIPHERED_TAGS, CipherError, decrypt, parse_ciphered
from .fast_path import FastPath
from .framing import FrameStatus, Framing, Shape
from .gbt import TAG as GBT_TAG
from .iec_readout import ReadoutParser
from .keys import parse_key
from .layouts import interpret_body
from .models import DecoderStats, Profile, Reading, SerialSettings
from .nordic import LIST_TEMPLATES
from .profiles import PROFILES
from .readings import build_reading
from .scanner import FrameScanner, Unit

_LOGGER = logging.getLogger(__name__)
_RECENT_FRAMES = 8
# The largest push seen is about 2 KiB; a message's frames follow each other at line speed.
_LARGEST_MESSAGE_BYTES = 2048
DEFAULT_IDLE_GAP = 0.5
# Hex logged for one internal error; enough to rebuild the frame, bounded for the log.
_MAX_LOGGED_BYTES = 4096


def byte_time(serial: SerialSettings) -> float:
    """Seconds one character takes on the line: start bit, data bits, parity, stop bits."""
    bits = 1 + serial.bytesize + (serial.parity != "N") + serial.stopbits
    return bits / serial.baudrate


def default_max_message_age(profile: Profile, serial: SerialSettings | None = None) -> float:
    """How long a meter can take to send one message: a push interval plus 2 KiB at line speed."""
    return profile.push_interval + _LARGEST_MESSAGE_BYTES * byte_time(serial or profile.serial)


class MeterDecoder:
    """Stateful stream decoder for one meter."""

    def __init__(  # noqa: PLR0913  # the two timing knobs are keyword-only extras
        self,
        profile: str | Profile,
        key: str | bytes | None = None,
        auth_key: str | bytes | None = None,
        tz: tzinfo | None = None,
        *,
        max_message_age: float | None = None,
        idle_gap: float = DEFAULT_IDLE_GAP,
        serial: SerialSettings | None = None,
        fast_path: bool = True,
    ) -> None:
        """Raise KeyError for an unknown profile and KeyFormatError for a malformed key.

        `serial`: the line settings in use when they differ from the profile's (only the time
        rules use them: a chunk's own transfer time is not silence).
        `fast_path`: decode messages that repeat a learned skeleton from fixed offsets
        (`fast_path`); off, every message takes the full path (the reference, for tests).
        """
        self.profile = profile if isinstance(profile, Profile) else PROFILES[profile]
        self._templates = self.profile.templates + LIST_TEMPLATES
        self._key = parse_key(key)
        self._auth_key = parse_key(auth_key)
        self._zone = tz
        self._idle_gap = idle_gap
        self.stats = DecoderStats()
        self._recent: deque[bytes] = deque(maxlen=_RECENT_FRAMES)
        self._scanner = FrameScanner(self.stats, self._vouch)
        self._byte_time = byte_time(serial or self.profile.serial)
        self.max_message_age = (
            default_max_message_age(self.profile, serial)
            if max_message_age is None
            else max_message_age
        )
        self._assembler = MessageAssembler(self.stats, self.max_message_age)
        self._readout = (
            ReadoutParser(tz, self.stats) if self.profile.framing is Framing.IEC62056_21 else None
        )
        # Learned skeletons also tell where a bare APDU ends (`_vouch`), so they are learned and
        # tried with the fast path off too: both paths must cut the stream alike.
        self._fast = FastPath(self.profile, tz, self._templates)
        self._fast_readings = fast_path
        self._readings: list[Reading] = []
        self._last_feed: float | None = None
        self._framed = False

    @property
    def awaits_gaps(self) -> bool:
        """Whether a quiet line (`gap`) can still complete a message.

        Only a bare APDU needs one to end; once a transport frame arrived the scanner looks for
        frames only (they end on their own bytes: IEC 62056-46 flags, EN 13757-2 length and stop
        byte), and a text readout ends with its ETX. A caller may stop timing silences then.
        """
        return self._readout is None and not self._framed

    @property
    def recent_frames(self) -> tuple[bytes, ...]:
        """The last frames (or readouts) that passed their checks, oldest first."""
        return tuple(self._recent)

    @property
    def buffered(self) -> int:
        """Bytes held while waiting for the rest of a frame (bounded whatever arrives)."""
        return self._readout.buffered if self._readout is not None else self._scanner.buffered

    def feed(self, data: bytes | bytearray | memoryview, now: float | None = None) -> list[Reading]:
        """Consume bytes; return the readings they completed.

        `now`: monotonic seconds when the bytes arrived (optional; enables the time rules).
        """
        self.stats.bytes_received += len(data)
        readings: list[Reading] = []
        self._readings = readings
        try:
            if now is not None:
                # `now` is when the chunk's last byte arrived; its bytes took time on the line.
                last = self._last_feed
                if last is not None and now - len(data) * self._byte_time - last >= self._idle_gap:
                    self._gap()
                self._last_feed = now
            if self._readout is not None:
                self._feed_readout(bytes(data))
            else:
                # The read's first byte arrived its own line time before `now`.
                first = None if now is None else now - len(data) * self._byte_time
                self._assembler.expire(first)
                # 1. frames from bytes
                for unit in self._scanner.scan(data):
                    # 2. APDUs from frames, 3. readings from APDUs
                    self._on_unit(unit)
                self._assembler.note(now)
        except Exception as err:  # noqa: BLE001  # the contract: nothing escapes feed()
            self._internal_error("stream", err, bytes(data))
            self._scanner.reset()
        self.stats.readings += len(readings)
        return readings

    def gap(self) -> list[Reading]:
        """Tell the decoder the line went quiet: a bare APDU may start with the next byte.

        Returns the readings of a bare APDU that the quiet line confirmed as complete.
        """
        readings: list[Reading] = []
        self._readings = readings
        try:
            self._gap()
        except Exception as err:  # noqa: BLE001  # the contract: nothing escapes gap()
            self._internal_error("gap", err, b"")
            self._scanner.reset()
        self.stats.readings += len(readings)
        return readings

    def _gap(self) -> None:
        if self._readout is None:
            for unit in self._scanner.scan(b"", at_gap=True):
                self._on_unit(unit)

    def _vouch(self, apdu: bytes) -> Shape:
        """What a bare APDU's content shows about its end (see `framing.Shape`).

        A verified GCM tag (security control bit 4: authenticated) covers every byte; otherwise the
        plaintext must match a learned push-list skeleton that ends in skeleton bytes (`fast_path`).
        """
        system_title = None
        if apdu[0] in CIPHERED_TAGS:
            # One that cannot be opened shows nothing of the meter's skeleton, for or against.
            ciphered = parse_ciphered(apdu)
            if ciphered is None:
                return Shape.UNPROVEN
            plaintext, error = decrypt(ciphered, self._key, self._auth_key)
            if plaintext is None:
                return Shape.UNKNOWN if error is CipherError.KEY_REQUIRED else Shape.UNPROVEN
            if error is None and ciphered.tag is not None and self._auth_key is not None:
                return Shape.WHOLE
            apdu, system_title = plaintext, ciphered.system_title
        shape = self._fast.shape(apdu, system_title)
        if shape is Shape.UNKNOWN and self.stats.readings:
            # Pushes were read, yet no skeleton could be learned from them (a descriptor body,
            # say): nothing vouches for an end, so one at a read's edge waits as an unlike one.
            return Shape.UNPROVEN
        return shape

    def _internal_error(self, where: str, err: Exception, data: bytes) -> None:
        self.stats.internal_errors += 1
        _LOGGER.debug(
            "Unexpected error in the %s step, bytes dropped: %r; bytes %s",
            where,
            err,
            data[:_MAX_LOGGED_BYTES].hex(),
            exc_info=err,
        )

    def _feed_readout(self, data: bytes) -> None:
        assert self._readout is not None  # noqa: S101  # only called for readout profiles
        readings = self._readout.feed(data)
        if readings:
            self._recent.append(self._readout.last_readout)
        self._readings.extend(readings)

    # --- step 2: APDUs from frames -----------------------------------------------------------

    def _on_unit(self, unit: Unit) -> None:
        """One frame or bare APDU; an unexpected error loses only this unit."""
        try:
            if isinstance(unit, hdlc.HdlcFrame):
                self.stats.frames += 1
                self._framed = True
                self._recent.append(unit.raw)
                info = self._assembler.hdlc_frame(unit)
                if info is not None:
                    self._on_apdu(info)
            elif isinstance(unit, mbus.MbusFrame):
                self.stats.frames += 1
                self._framed = True
                self._recent.append(unit.raw)
                data = self._assembler.mbus_frame(unit)
                if data is not None:
                    self._on_apdu(data)
            elif isinstance(unit, bytes):
                self._on_apdu(unit)
            elif unit is FrameStatus.BAD_CHECKSUM:
                self._assembler.bad_frame()
        except Exception as err:  # noqa: BLE001  # contract: caught at the step boundary
            raw = unit.raw if isinstance(unit, (hdlc.HdlcFrame, mbus.MbusFrame)) else unit
            self._internal_error("frame", err, raw if isinstance(raw, bytes) else b"")

    # --- step 3: readings from APDUs -----------------------------------------------------------

    def _on_apdu(self, apdu: bytes, system_title: bytes | None = None) -> None:
        if not apdu:
            return
        tag = apdu[0]
        if tag == GBT_TAG:
            message = self._assembler.gbt_block(apdu)
            if message is not None:
                self._on_apdu(message)
        elif tag in CIPHERED_TAGS:
            self._on_ciphered(apdu)
        elif tag == DATA_NOTIFICATION:
            fast = self._fast.decode(apdu, system_title)
            if fast is not None and self._fast_readings:
                self._readings.append(fast)
            else:
                self._on_notifications(apdu, system_title, learn=fast is None)
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
        # well-formed data-notification shows that the key was right. A learned skeleton is one.
        authenticated = error is None and ciphered.tag is not None and self._auth_key is not None
        fast = self._fast.decode(plaintext, ciphered.system_title)
        well_formed = fast is not None or _is_valid_notification(plaintext)
        if error is CipherError.AUTH_FAILED or not (authenticated or well_formed):
            # A failed tag with a well-formed plaintext means only the authentication key is wrong.
            if error is CipherError.AUTH_FAILED and well_formed:
                self.stats.auth_errors += 1
            else:
                self.stats.decrypt_errors += 1
            self.stats.dropped_messages += 1
            return
        if fast is not None and self._fast_readings:
            self._readings.append(fast)
        elif well_formed:
            self._on_notifications(plaintext, ciphered.system_title, learn=fast is None)
        else:
            self.stats.unknown_layouts += 1

    def _on_notifications(self, apdu: bytes, system_title: bytes | None, *, learn: bool) -> None:
        """All notifications of one APDU, or none: they must fill it exactly.

        Some E450 firmware puts several LLC+APDU units into one frame. A unit that does not
        parse, or bytes left over, mean the message was not assembled as sent (an HDLC segment
        lost without trace): then nothing of it is trusted. `learn`: the APDU matched no
        learned skeleton, so its own may be learned.
        """
        start = end = 0
        readings: list[Reading] = []
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
                readings.append(reading)
            start = end
            for header in hdlc.LLC_HEADERS:
                if apdu.startswith(header, start):
                    start += len(header)
        if learn and len(readings) == 1 and end == len(apdu):
            # One notification filling the APDU: its skeleton may repeat in the next message.
            self._fast.learn(apdu, system_title, readings[0])
        self._readings.extend(readings)


def _is_valid_notification(plaintext: bytes) -> bool:
    """Whether decrypted bytes are one whole data-notification: the wrong-key test without a tag."""
    if not plaintext or plaintext[0] != DATA_NOTIFICATION:
        return False
    try:
        return notification_end(plaintext, 0) == len(plaintext)
    except (NeedMoreDataError, AxdrError):
        return False
