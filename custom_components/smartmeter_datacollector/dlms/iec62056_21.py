"""IEC 62056-21 mode C session with a Siemens TD-3511: sign-on, baud switch, dataset readout.

The meter does not push; it answers. The session follows what the seed tool does with these meters
(sign-on, option select into programming mode, then the R2 commands for datasets F001 and F009),
framed as IEC 62056-21:2002 clause 6.3 describes. Bytes in, readout text out; the text goes to the
decoder like any push message, so nothing here parses values.
"""

from __future__ import annotations

import asyncio
from functools import reduce
from operator import xor
from typing import TYPE_CHECKING, Any, Protocol, cast

from . import iec_readout
from .models import SerialSettings

if TYPE_CHECKING:
    from collections.abc import Sequence

    from serialx import BaseSerialTransport


# The control characters as the byte strings the session reads and writes.
SOH, STX, ETX, EOT, ACK, NAK = (
    bytes((code,))
    for code in (
        iec_readout.SOH,
        iec_readout.STX,
        iec_readout.ETX,
        iec_readout.EOT,
        iec_readout.ACK,
        iec_readout.NAK,
    )
)
# Clause 6.3.1: request message without device address.
SIGN_ON = b"/?!\r\n"
# Clause 6.3.14 table: baud rate identification characters of protocol mode C.
MODE_C_BAUD = {"0": 300, "1": 600, "2": 1200, "3": 2400, "4": 4800, "5": 9600, "6": 19200}
# Siemens dataset lists: F001 holds the registers, F009 the instantaneous values.
DATASETS: tuple[str, ...] = ("F001", "F009")
# Clause 6.3.3: the meter answers within 1.5 s; a TD-3511 needs a little longer for a full list.
RESPONSE_TIMEOUT = 5.0
# Clause 6.3.14 reaction time tr: at least 200 ms between a received and a sent message.
REACTION_TIME = 0.2
# The last line of a readout; the decoder emits a reading when it sees it.
END_LINE = b"!\r\n"


class Iec62056Error(Exception):
    """The meter's answer broke the protocol (bad BCC, NAK, unexpected identification)."""


class PortReader(Protocol):
    """What the session needs from asyncio.StreamReader."""

    async def read(self, n: int = -1) -> bytes:
        """Return up to n bytes; b"" at end of stream."""
        ...  # pragma: no cover - protocol

    async def readuntil(self, separator: bytes = b"\n") -> bytes:
        """Return bytes up to and including separator."""
        ...  # pragma: no cover - protocol


def bcc(data: bytes) -> int:
    """Block check character of clause 6.3.2: XOR over every byte after SOH/STX up to ETX/EOT."""
    return reduce(xor, data, 0)


def command(kind: bytes, data: bytes = b"") -> bytes:
    """Build a programming-mode command message (SOH kind STX data ETX BCC), e.g. R2 or B0."""
    body = kind + (STX + data if data else b"") + ETX
    return SOH + body + bytes([bcc(body)])


def option_select(baud_char: str, mode: str = "1") -> bytes:
    """Acknowledgement/option select message (clause 6.3.4): ACK, normal protocol, baud, mode."""
    return ACK + b"0" + baud_char.encode("ascii") + mode.encode("ascii") + b"\r\n"


def readout_baud_char(identification: bytes, wanted: int) -> str:
    """Pick the baud char for the switch: the wanted rate, capped at what the meter announces."""
    # Clause 6.3.2: "/XXXZ<ident>" where Z is the highest baud rate the meter supports.
    text = identification.strip().decode("ascii", "replace")
    if not text.startswith("/") or len(text) < 5:
        raise Iec62056Error(f"unexpected identification {text!r}")
    offered = MODE_C_BAUD.get(text[4])
    if offered is None:
        # Letters mean protocol mode A/B: the meter stays at the initial rate.
        return "0"
    best = max((rate for rate in MODE_C_BAUD.values() if rate <= min(offered, wanted)), default=300)
    return next(char for char, rate in MODE_C_BAUD.items() if rate == best)


def dataset_lines(block: bytes) -> list[bytes]:
    """Return a data block's lines without the end line, so datasets join into one readout."""
    return [line + b"\r\n" for line in block.splitlines() if line.strip() not in (b"", b"!")]


class Iec62056Session:
    """One mode C conversation on an open port; signs on again after a failed readout."""

    def __init__(
        self,
        reader: PortReader,
        writer: asyncio.StreamWriter,
        initial: SerialSettings,
        readout: SerialSettings,
        datasets: Sequence[str] = DATASETS,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._initial = initial
        self._readout = readout
        self._datasets = tuple(datasets)
        self._signed_on = False
        self.identification: str | None = None
        self.bytes_received = 0

    async def readout(self) -> bytes:
        """Read every dataset and return them as one readout text ending with the "!" line."""
        if not self._signed_on:
            await self._sign_on()
            return await self._read_datasets()
        try:
            return await self._read_datasets()
        except (TimeoutError, Iec62056Error):
            # The meter ends programming mode after its inactivity time-out (clause 6.3.14:
            # 60-120 s); one fresh sign-on is the normal way back.
            self._signed_on = False
            await self._sign_on()
            return await self._read_datasets()

    async def close(self) -> None:
        """Send the break command (B0) so the meter leaves programming mode at once."""
        if self._signed_on:
            self._signed_on = False
            self._writer.write(command(b"B0"))
            await self._writer.drain()

    async def _sign_on(self) -> None:
        await self._reconfigure(self._initial)
        self._writer.write(SIGN_ON)
        await self._writer.drain()
        identification = await self._read_line()
        # Optical heads echo what they send on some adapters; the echo is the request itself.
        if identification.strip() == SIGN_ON.strip():
            identification = await self._read_line()
        baud_char = readout_baud_char(identification, self._readout.baudrate)
        self.identification = identification.strip().decode("ascii", "replace")
        await asyncio.sleep(REACTION_TIME)
        message = option_select(baud_char)
        self._writer.write(message)
        await self._writer.drain()
        # drain() only hands the bytes to the driver; at 300 baud (10 bits a character) the UART
        # needs this long to send them before the line may change speed.
        await asyncio.sleep(len(message) * 10 / self._initial.baudrate + REACTION_TIME)
        await self._reconfigure(
            SerialSettings(
                MODE_C_BAUD[baud_char],
                self._readout.bytesize,
                self._readout.parity,
                self._readout.stopbits,
            )
        )
        # Programming mode starts with the password request (P0); the TD-3511 needs no password.
        await self._read_message()
        self._signed_on = True

    async def _read_datasets(self) -> bytes:
        lines: list[bytes] = []
        for dataset in self._datasets:
            # The seed sends CR LF after the command; TD-3511 meters are known to accept it.
            self._writer.write(command(b"R2", dataset.encode("ascii")) + b"\r\n")
            await self._writer.drain()
            lines.extend(dataset_lines(await self._read_message()))
        return b"".join(lines) + END_LINE

    async def _read_message(self) -> bytes:
        """Read one message (partial blocks acknowledged and joined) and check each block's BCC."""
        data = b""
        while True:
            async with asyncio.timeout(RESPONSE_TIMEOUT):
                block, end = await self._read_block()
            data += block
            if end == ETX:
                return data
            # Clause 6.3.8: EOT ends a partial block; ACK asks for the next one.
            self._writer.write(ACK)
            await self._writer.drain()

    async def _read_block(self) -> tuple[bytes, bytes]:
        start = await self._read_byte()
        while start not in (SOH, STX):
            if start == NAK:
                raise Iec62056Error("the meter rejected the command (NAK)")
            start = await self._read_byte()
        body = bytearray()
        while True:
            byte = await self._read_byte()
            body += byte
            if byte in (ETX, EOT):
                break
        check = (await self._read_byte())[0]
        # 7E1 lines deliver 7 data bits; some adapters hand over the parity bit as bit 7.
        if bcc(bytes(body)) & 0x7F != check & 0x7F:
            raise Iec62056Error("block check character mismatch")
        content = bytes(body[:-1])
        if start == SOH and STX in content:
            # Command messages (P0 ...) carry their data after STX.
            content = content.split(STX, 1)[1]
        return content, bytes(body[-1:])

    async def _read_line(self) -> bytes:
        try:
            async with asyncio.timeout(RESPONSE_TIMEOUT):
                line = await self._reader.readuntil(b"\n")
        except asyncio.IncompleteReadError as err:
            self.bytes_received += len(err.partial)
            raise ConnectionResetError("the meter port closed") from err
        except asyncio.LimitOverrunError as err:
            # Drop the flood so the next sign-on starts clean, but count it: the user is told
            # that bytes arrived (wrong adapter or speed), not that the line was silent.
            self.bytes_received += len(await self._reader.read(err.consumed))
            raise Iec62056Error("no identification line") from err
        self.bytes_received += len(line)
        return line

    async def _read_byte(self) -> bytes:
        byte = await self._reader.read(1)
        if not byte:
            raise ConnectionResetError("the meter port closed")
        self.bytes_received += 1
        return bytes([byte[0] & 0x7F])

    async def _reconfigure(self, settings: SerialSettings) -> None:
        transport = cast("BaseSerialTransport", self._writer.transport)
        wanted: dict[str, Any] = {
            "baudrate": settings.baudrate,
            "byte_size": settings.bytesize,
            "parity": settings.parity,
            "stopbits": settings.stopbits,
        }
        # Mode C keeps the character format (7E1) and changes only the speed; touching only what
        # differs also spares drivers that refuse to re-apply a format (some ptys reject CS7).
        changes = {
            name: value for name, value in wanted.items() if getattr(transport, name) != value
        }
        if changes:
            # socket:// accepts and ignores this: the serial server owns the line settings.
            await transport.reconfigure_port(**changes)
