"""The meter's port: open it with a profile's line settings, turn what arrives into decoder input.

Shared by the config flow (listen once to validate) and the coordinator (read for as long as the
entry is loaded), so both see the meter exactly the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

import serialx

from .const import LOGGER
from .dlms import PROFILES, Framing, MeterDecoder
from .dlms.identity import names_only_sub_meters
from .dlms.iec62056_21 import Iec62056Error, Iec62056Session

if TYPE_CHECKING:
    from collections.abc import AsyncGenerator, Awaitable, Callable

    from .dlms.models import DecoderStats, Profile, Reading, SerialSettings

READ_SIZE = 4096
# Closing a port whose adapter vanished can hang in the driver; never let that block unload.
CLOSE_TIMEOUT = 5.0
IEC62056_21 = Framing.IEC62056_21
# A meter sends one message back to back (IEC 62056-46 and EN 13757-2 define no pause inside a
# message), so a silence of this many character times ends one: the decoder's quiet-line hook.
QUIET_CHARACTERS = 50
# USB adapters hand bytes over in bursts a few milliseconds apart, serial servers over a network
# with more jitter still: a shorter silence than this is never taken as a gap.
QUIET_MIN_LOCAL = 0.2
QUIET_MIN_NETWORK = 0.5
# While a message comes in, a USB adapter hands over a few bytes per USB frame (FTDI: every 16 ms),
# each a wake-up of Home Assistant's loop: an E450 at 2400 Bd hands over its 841 bytes in some 250
# pieces. Left in the kernel's tty buffer (4 KiB, n_tty) for a while, they arrive in one read
# instead: held for at most a quarter of that buffer's worth of characters, and never longer than
# a reading may come late for it (at 2400 Bd: some 10 reads per push instead of 250).
HOLD_CHARACTERS = 1024
HOLD_MAX = 0.5


class MeterPortError(Exception):
    """The port cannot be opened or was lost; reason is the operating system's explanation."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def is_local_path(port: str) -> bool:
    """A device path (/dev/..., COM3) rather than a serial server URL (socket://, rfc2217://)."""
    return "://" not in port


def quiet_gap(port: str, settings: SerialSettings) -> float:
    """Seconds of silence that separate two messages on this line (from its character time)."""
    bits = 1 + settings.bytesize + (settings.parity != "N") + settings.stopbits
    floor = QUIET_MIN_LOCAL if is_local_path(port) else QUIET_MIN_NETWORK
    return max(floor, QUIET_CHARACTERS * bits / settings.baudrate)


def hold_time(port: str, settings: SerialSettings) -> float | None:
    """Seconds a local port's bytes may gather in the driver between two reads (None: never).

    Only framed streams are held (their messages end on their own bytes), so a silence that falls
    inside a hold hides nothing the decoder needs; bare APDUs, which end at a silence, never are.
    """
    if not is_local_path(port):
        # A serial server's bytes come in TCP segments; no tty buffer of ours to size a hold by.
        return None
    bits = 1 + settings.bytesize + (settings.parity != "N") + settings.stopbits
    return min(HOLD_MAX, HOLD_CHARACTERS * bits / settings.baudrate)


def _reason(err: BaseException) -> str:
    if isinstance(err, OSError) and err.strerror:
        return err.strerror
    return str(err) or type(err).__name__


async def open_meter_port(
    port: str, settings: SerialSettings
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Open a device path, socket://host:port or rfc2217://host:port with the given settings."""
    try:
        return await serialx.open_serial_connection(
            port,
            baudrate=settings.baudrate,
            parity=settings.parity,
            stopbits=settings.stopbits,
            byte_size=settings.bytesize,
        )
    except (OSError, serialx.SerialException, ValueError) as err:
        raise MeterPortError(_reason(err)) from err


async def close_meter_port(writer: asyncio.StreamWriter) -> None:
    """Close the port and wait until the driver let go of it (bounded)."""
    writer.close()
    with contextlib.suppress(OSError, serialx.SerialException, TimeoutError):
        async with asyncio.timeout(CLOSE_TIMEOUT):
            await writer.wait_closed()


class MeterStream:
    """One open port and the decoder input it yields: raw chunks, or one readout per poll."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        profile: Profile,
        wait_next_poll: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._profile = profile
        self._wait_next_poll = wait_next_poll
        self._pushed_bytes = 0
        self._resume: asyncio.TimerHandle | None = None
        self._session: Iec62056Session | None = None
        if profile.framing == IEC62056_21:
            self._session = Iec62056Session(
                reader, writer, profile.serial, profile.readout_serial or profile.serial
            )

    @classmethod
    async def open(
        cls,
        port: str,
        profile: Profile,
        wait_next_poll: Callable[[], Awaitable[None]] | None = None,
    ) -> MeterStream:
        """Open port with the profile's (initial) line settings."""
        reader, writer = await open_meter_port(port, profile.serial)
        return cls(reader, writer, profile, wait_next_poll)

    @property
    def bytes_received(self) -> int:
        """Every byte the meter sent, handshake included."""
        if self._session is not None:
            return self._session.bytes_received
        return self._pushed_bytes

    async def chunks(
        self, quiet: float | Callable[[], float | None] | None = None
    ) -> AsyncGenerator[bytes]:
        """Yield decoder input until the port is lost (then raise MeterPortError).

        With `quiet` (seconds, or a function asked after each read), a push port also yields one
        empty chunk when the line has been silent that long after bytes arrived: the gap between
        two messages. A function that answers None stops timing silences (a framed stream).
        """
        try:
            if self._session is None:
                async for chunk in self._pushed(quiet):
                    yield chunk
                raise MeterPortError("the serial server closed the connection")
            while True:
                try:
                    yield await self._session.readout()
                except (TimeoutError, Iec62056Error) as err:
                    # A meter that does not answer is the watchdog's business, not a lost port.
                    # A time-out carries no text of its own: say what it means.
                    reason = "no answer in time" if isinstance(err, TimeoutError) else _reason(err)
                    LOGGER.debug("IEC 62056-21 readout failed: %s", reason)
                if self._wait_next_poll is None:
                    # Listening once: keep asking until the caller's time-out ends it.
                    continue
                await self._wait_next_poll()
        except (OSError, serialx.SerialException) as err:
            raise MeterPortError(_reason(err)) from err

    async def _pushed(
        self, quiet: float | Callable[[], float | None] | None
    ) -> AsyncGenerator[bytes]:
        """What a push meter sends, and b"" once per silence of `quiet` seconds after bytes."""
        heard = False
        while True:
            # Only right after bytes: a silent line does not wake the loop over and over.
            wait = (quiet() if callable(quiet) else quiet) if heard else None
            if wait is None:
                # No timer at all: arming and cancelling one costs more than the read itself.
                chunk = await self._reader.read(READ_SIZE)
            else:
                try:
                    async with asyncio.timeout(wait):
                        chunk = await self._reader.read(READ_SIZE)
                except TimeoutError:
                    # StreamReader.read keeps unread bytes when cancelled: nothing is lost here.
                    heard = False
                    yield b""
                    continue
            if not chunk:
                return
            heard = quiet is not None
            self._pushed_bytes += len(chunk)
            yield chunk

    def hold(self, seconds: float) -> None:
        """Leave arriving bytes in the driver for `seconds`: the next read takes them in one go.

        The bytes wait in the kernel's buffer, not in the loop: nothing wakes Home Assistant for
        them until the hold ends (one timer), however many pieces the adapter hands over.
        """
        transport = self._writer.transport
        if (
            self._resume is not None
            or transport.is_closing()
            or not isinstance(transport, asyncio.ReadTransport)
        ):
            return
        transport.pause_reading()
        self._resume = asyncio.get_running_loop().call_later(seconds, self._end_hold, transport)

    def _end_hold(self, transport: asyncio.ReadTransport) -> None:
        self._resume = None
        if not transport.is_closing():
            transport.resume_reading()

    def abort(self) -> None:
        """Drop the connection at once; chunks() then ends with MeterPortError."""
        self._cancel_hold()
        self._writer.transport.abort()

    def _cancel_hold(self) -> None:
        if self._resume is not None:
            self._resume.cancel()
            self._resume = None

    async def close(self) -> None:
        """Say goodbye to a polled meter and release the port."""
        self._cancel_hold()
        if self._session is not None:
            with contextlib.suppress(OSError, serialx.SerialException, TimeoutError):
                async with asyncio.timeout(CLOSE_TIMEOUT):
                    await self._session.close()
        await close_meter_port(self._writer)


@dataclass(frozen=True, slots=True)
class ListenResult:
    """What one listening attempt produced; the config flow picks its message from the stats."""

    reading: Reading | None
    stats: DecoderStats
    bytes_received: int


# The stream rides along optionally; grouping the key material would only rename the problem.
async def listen_for_reading(  # noqa: PLR0913, PLR0917
    port: str,
    profile: str,
    key: str | None,
    auth_key: str | None,
    # The config flow shows the listening window to the user; asyncio.timeout is used inside.
    timeout: float,  # noqa: ASYNC109
    stream: MeterStream | None = None,
) -> ListenResult:
    """Open port, wait up to timeout seconds for the first complete reading, close the port.

    A push of the M-Bus channels alone names a sub-meter, not the meter: listening goes on for
    one that speaks for the meter, and only when none comes in time is the channel push returned.
    A stream the caller opened already (the config flow opens first, to fail fast) is used as is.
    Raises MeterPortError when the port cannot be opened or is lost while listening.
    """
    decoder = MeterDecoder(profile, key=key or None, auth_key=auth_key or None)
    if stream is None:
        stream = await MeterStream.open(port, PROFILES[profile])
    reading: Reading | None = None
    try:
        async with asyncio.timeout(timeout), contextlib.aclosing(stream.chunks()) as chunks:
            async for chunk in chunks:
                readings = decoder.feed(chunk)
                own = [r for r in readings if not names_only_sub_meters(r)]
                if own:
                    reading = own[0]
                    break
                if readings:
                    reading = readings[-1]
    except TimeoutError:
        pass
    finally:
        await stream.close()
    return ListenResult(reading, decoder.stats, stream.bytes_received)
