"""The meter side of an IEC 62056-21 mode C conversation, for the simulated Siemens TD-3511.

Answers what a reader sends: sign-on with the identification; an option select for data
readout (mode 0) with the whole readout; one for programming mode (mode 1) with the password
prompt P0, then R1/R2 dataset reads (F001, F009) with data blocks, until the break command B0
or the inactivity time-out (IEC 62056-21:2002 6.3 and Annex; what the TD-3511 does).
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum, auto
import re

from ._decoder import ACK, ETX, NAK, SOH, STX, iec_bcc
from .framing_encode import iec62056_21_block
from .readout_model import IDENTIFICATION

# Clause 6.3.1 request "/?" [address] "!" CR LF; clause 6.3.4 option select ACK V Z Y CR LF.
_SIGN_ON = re.compile(rb"/\?[0-9A-Za-z ]{0,32}!\r\n")
_OPTION_SELECT = re.compile(b"%c[0-9](?P<baud>[0-9A-Z])(?P<mode>[0-9])\r\n" % ACK)
# Programming mode command: SOH C D [STX data] ETX BCC.
_COMMAND = re.compile(
    b"%c(?P<cmd>[A-Z][0-9])(?:%c(?P<data>[^%c]*))?%c(?P<bcc>[\x00-\xff])" % (SOH, STX, ETX, ETX)
)
_DATASET = re.compile(rb"(?P<name>[0-9A-Z.]+)(?:\([^)]*\))?")
INACTIVITY_S = 90.0  # the meter leaves programming mode after 60-120 s without a command
_MAX_PENDING = 512


class _State(Enum):
    IDLE = auto()
    SIGNED_ON = auto()
    PROGRAMMING = auto()


class ModeCMeter:
    """Feed it what the reader wrote; it returns what the meter answers."""

    def __init__(
        self,
        meter_id: str,
        readout: Callable[[], bytes],
        datasets: Callable[[], dict[str, list[str]]],
    ) -> None:
        """`readout` makes a mode 0 readout block; `datasets` the lines of each dataset now."""
        self._meter_id = meter_id
        self._readout = readout
        self._datasets = datasets
        self._state = _State.IDLE
        self._pending = b""
        self._last_command = 0.0
        self.data_messages = 0  # readouts and dataset blocks sent

    def feed(self, data: bytes, now: float) -> list[bytes]:
        """Process bytes from the reader at monotonic time `now`; return the answers."""
        if self._state is _State.PROGRAMMING and now - self._last_command > INACTIVITY_S:
            self._state = _State.IDLE
        self._pending = (self._pending + bytes(b & 0x7F for b in data))[-_MAX_PENDING:]
        answers: list[bytes] = []
        while answer := self._step(now):
            answers.append(answer)
        return answers

    def _step(self, now: float) -> bytes | None:
        """Handle the first complete request in the buffer, if any."""
        if match := _SIGN_ON.search(self._pending):
            # A sign-on restarts the conversation from any state.
            self._pending = self._pending[match.end() :]
            self._state = _State.SIGNED_ON
            return IDENTIFICATION
        if self._state is _State.SIGNED_ON:
            return self._option_select(now)
        if self._state is _State.PROGRAMMING:
            return self._command(now)
        return None

    def _option_select(self, now: float) -> bytes | None:
        match = _OPTION_SELECT.search(self._pending)
        if match is None:
            return None
        self._pending = self._pending[match.end() :]
        if match["mode"] == b"0":
            self._state = _State.IDLE
            self.data_messages += 1
            return self._readout()
        if match["mode"] == b"1":
            self._state = _State.PROGRAMMING
            self._last_command = now
            # Password prompt P0 with the meter's serial number as operand.
            return iec62056_21_block(SOH, b"P0" + bytes((STX,)) + f"({self._meter_id})".encode())
        self._state = _State.IDLE  # manufacturer-specific modes: not simulated
        return None

    def _command(self, now: float) -> bytes | None:
        match = _COMMAND.search(self._pending)
        if match is None:
            return None
        self._pending = self._pending[match.end() :]
        self._last_command = now
        if iec_bcc(match.group(0)[1:-1]) != match["bcc"][0]:
            return bytes((NAK,))
        command = match["cmd"]
        if command == b"B0":
            self._state = _State.IDLE
            return None
        if command in (b"P1", b"P2"):
            return bytes((ACK,))  # the TD-3511 reads without a password; accept any
        if command in (b"R1", b"R2") and (name := _DATASET.fullmatch(match["data"] or b"")):
            lines = self._datasets().get(name["name"].decode())
            if lines is not None:
                self.data_messages += 1
                text = "".join(f"{line}\r\n" for line in lines)
                return iec62056_21_block(STX, text.encode("ascii"))
        return bytes((NAK,))
