"""A meter on a pseudo-terminal: pushes (or answers readout requests) like the real device.

The slave end of a pty is linked at a path a reader opens as its serial port. Bytes are only
written while a reader has the port open (POLLHUP on the master says nobody has): a real
meter's output is lost when nobody listens, and stale bytes must not greet the next reader.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
import errno
import itertools
import json
import os
import select
import termios
import time
import tty
from typing import TYPE_CHECKING

from ._decoder import PROFILES, load_capture
from .iec_responder import ModeCMeter
from .load_model import Household, Snapshot
from .push_encode import MeterEncoder
from .readout_model import ReadoutEncoder
from .replay import readout_from_capture, split_datasets, split_messages

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path
    import threading

_READ_CAP = 4096
_WRITE_PATIENCE_S = 1.0
_SAVE_EVERY_S = 60.0
_SAME_READOUT_S = 2.0
_WATCH_S = 0.02  # how often an idle simulator looks whether its reader left
_SPEEDS = {
    rate: getattr(termios, f"B{rate}")
    for rate in (300, 600, 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200)
}


class PtyLink:
    """A pseudo-terminal in raw mode whose slave end is symlinked at `link`."""

    def __init__(self, link: Path) -> None:
        """Create the pty and the link; an existing link (or dangling one) is replaced."""
        if link.exists() and not link.is_symlink():
            raise FileExistsError(f"{link} exists and is not a symlink; not replacing it")
        self._master, slave = os.openpty()
        self.device = os.ttyname(slave)
        tty.setraw(slave)  # no echo, no line discipline: binary frames pass untouched
        os.close(slave)  # closed here so POLLHUP on the master tells whether a reader is there
        os.set_blocking(self._master, False)
        self._poll = select.poll()
        self._poll.register(self._master, select.POLLIN)
        self._had_reader = False
        self.link = link
        link.parent.mkdir(parents=True, exist_ok=True)
        tmp = link.with_name(f".{link.name}.{os.getpid()}")
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(self.device)
        tmp.replace(link)

    def reader_attached(self) -> bool:
        """Whether some process has the slave end open; resets the line when a reader left."""
        attached = not any(ev & select.POLLHUP for _, ev in self._poll.poll(0))
        if self._had_reader and not attached:
            self._reset_line()
        self._had_reader = attached
        return attached

    def _reset_line(self) -> None:
        """Put the line back to 38400 Bd, a speed no meter profile uses.

        A pty has no parity: the kernel drops PARENB, and glibc's tcsetattr() then reports
        EINVAL unless the call also changes the speed. A reader opening the port with 8E1 at
        the speed the previous reader left behind would fail; with a fresh speed it works.
        """
        attrs = termios.tcgetattr(self._master)  # on a pty master this is the slave's line
        attrs[4] = attrs[5] = termios.B38400
        termios.tcsetattr(self._master, termios.TCSANOW, attrs)

    def line_speed(self) -> int | None:
        """The baud rate the reader set on its end (a pty keeps it, though it never paces by it)."""
        code = termios.tcgetattr(self._master)[5]
        return next((rate for rate, value in _SPEEDS.items() if value == code), None)

    def write(self, data: bytes) -> bool:
        """Write everything, waiting a little for a slow reader; drop the rest if it stalls."""
        view = memoryview(data)
        deadline = time.monotonic() + _WRITE_PATIENCE_S
        while view:
            try:
                view = view[os.write(self._master, view) :]
            except BlockingIOError:
                if time.monotonic() > deadline:
                    return False
                select.select([], [self._master], [], 0.05)
            except OSError as err:  # pragma: no cover - the reader closed mid-message
                if err.errno == errno.EIO:
                    return False
                raise
        return True

    def read(self, timeout: float) -> bytes:
        """What the reader sent, waiting up to `timeout` seconds; b"" when nothing or nobody."""
        events = self._poll.poll(int(timeout * 1000))
        if not any(ev & select.POLLIN for _, ev in events):
            if any(ev & select.POLLHUP for _, ev in events):
                time.sleep(min(timeout, 0.05))  # nobody attached: poll() would not block
            return b""
        try:
            return os.read(self._master, _READ_CAP)
        except OSError as err:  # pragma: no cover - the reader closed between poll and read
            if err.errno in (errno.EAGAIN, errno.EIO):
                return b""
            raise

    def close(self) -> None:
        """Remove the link (if it is still ours) and close the pty."""
        try:
            if self.link.is_symlink() and str(self.link.readlink()) == self.device:
                self.link.unlink()
        finally:
            os.close(self._master)


@dataclass(frozen=True, slots=True)
class SimulatorConfig:
    """What to simulate and where; keys as bytes."""

    profile: str
    link: Path
    interval: float
    tz: tzinfo
    key: bytes | None = None
    auth_key: bytes | None = None
    replay: Path | None = None
    count: int = 0
    seed: int = 1
    solar_peak_w: float = 3000.0
    # Like a real line: a reader at another speed receives noise, not the meter's frames.
    line_baudrate: int | None = None
    # Energy counters are kept here between runs, so a restarted meter never counts backwards.
    state: Path | None = None
    # Every n-th push carries the M-Bus channels alone, as a real E450 alternates its pushes.
    channel_every: int = 0
    # Hand each push over in pieces at the line speed, one every this many seconds, as a USB
    # serial adapter does (FTDI's latency timer: 16 ms); 0 writes each push at once.
    usb_latency: float = 0.0


class Simulator:
    """Runs until `count` messages reached a reader, or until `stop` is set."""

    def __init__(self, config: SimulatorConfig, stop: threading.Event) -> None:
        """Open the pty and link it; call `close` when done (`run` does)."""
        self.config = config
        self._stop = stop
        self.link = PtyLink(config.link)
        self.delivered = 0
        self._household: Household | None = None
        self._saved_at = time.monotonic()

    def _new_household(self) -> Household:
        cfg = self.config
        self._household = Household(
            seed=cfg.seed,
            start=datetime.now(cfg.tz),
            tz=cfg.tz,
            solar_peak_w=cfg.solar_peak_w,
            counters=self._load_counters(),
        )
        return self._household

    def _synthetic(self) -> Callable[[datetime], bytes]:
        cfg = self.config
        household = self._new_household()
        encoder = MeterEncoder(
            cfg.profile,
            tz=cfg.tz,
            seed=cfg.seed,
            key=cfg.key,
            auth_key=cfg.auth_key,
            channel_every=cfg.channel_every,
        )
        return lambda now: encoder.encode(household.advance(now)).data

    def _mode_c_meter(self) -> ModeCMeter:
        """The TD-3511's side of the conversation: synthetic values, or a captured readout."""
        cfg = self.config
        if cfg.replay is not None:
            block = readout_from_capture(load_capture(cfg.replay))
            sets = split_datasets(block)
            serial = next((ln[6:-1] for ln in sets["F001"] if ln.startswith("0.0.0(")), "0")
            return ModeCMeter(serial, lambda: block, lambda: sets)
        household = self._new_household()
        encoder = ReadoutEncoder(tz=cfg.tz, seed=cfg.seed)
        latest: list[Snapshot] = []

        def snapshot() -> Snapshot:
            # Both datasets of one readout come from one measurement.
            now = datetime.now(cfg.tz)
            if not latest or (now - latest[0].time).total_seconds() > _SAME_READOUT_S:
                latest[:] = [household.advance(now)]
            return latest[0]

        return ModeCMeter(
            encoder.meter_id,
            lambda: encoder.encode(snapshot()).data,
            lambda: encoder.datasets(snapshot())[0],
        )

    def _load_counters(self) -> dict[str, float] | None:
        state = self.config.state
        if state is None or not state.is_file():
            return None
        try:
            saved = json.loads(state.read_text())
        except (OSError, ValueError):
            return None  # unreadable: start from the seed's readings
        if not isinstance(saved, dict) or saved.get("seed") != self.config.seed:
            return None
        counters = saved.get("counters")
        return counters if isinstance(counters, dict) else None

    def _save_counters(self) -> None:
        state, household = self.config.state, self._household
        if state is None or household is None:
            return
        tmp = state.with_name(f".{state.name}.tmp")
        tmp.write_text(json.dumps({"seed": self.config.seed, "counters": household.counters}))
        tmp.replace(state)
        self._saved_at = time.monotonic()

    def _source(self) -> Callable[[datetime], bytes]:
        replay = self.config.replay
        if replay is None:
            return self._synthetic()
        data = load_capture(replay)
        messages: Iterator[bytes] = itertools.cycle(split_messages(data) or [b""])
        return lambda _now: next(messages)

    def _done(self) -> bool:
        count = self.config.count
        return self._stop.is_set() or (count > 0 and self.delivered >= count)

    def run(self) -> int:
        """Simulate; returns the number of messages delivered."""
        try:
            if self.config.profile == "siemens_td3511":
                self._answer_readouts(self._mode_c_meter())
            else:
                self._push(self._source())
            self._linger()
        finally:
            self.link.close()
            self._save_counters()
        return self.delivered

    def _push(self, source: Callable[[datetime], bytes]) -> None:
        due = time.monotonic()
        was_attached = False
        while not self._done():
            if not self._idle_until(due):
                break
            due += self.config.interval
            attached = self.link.reader_attached()
            # A synthetic meter measures whether or not anyone listens; a replay starts over
            # at the capture's first message for whoever opens the port.
            if self.config.replay is not None and attached and not was_attached:
                source = self._source()
            was_attached = attached
            if not attached and self.config.replay is not None:
                continue
            message = source(datetime.now(self.config.tz))
            wanted = self.config.line_baudrate
            if attached and wanted is not None and self.link.line_speed() != wanted:
                # A UART at the wrong speed sees framing errors: a burst of nothing useful.
                message = bytes(len(message))
            if attached and self._deliver(message):
                self.delivered += 1
            if time.monotonic() - self._saved_at > _SAVE_EVERY_S:
                self._save_counters()

    def _deliver(self, message: bytes) -> bool:
        """Write one push: at once, or in the pieces a USB adapter would hand over."""
        latency = self.config.usb_latency
        if latency <= 0:
            return self.link.write(message)
        serial = PROFILES[self.config.profile].serial
        bits = 1 + serial.bytesize + (serial.parity != "N") + serial.stopbits
        piece = max(1, round(latency * serial.baudrate / bits))
        for start in range(0, len(message), piece):
            if start and self._stop.wait(latency):
                return False
            if not self.link.write(message[start : start + piece]):
                return False
        return True

    def _idle_until(self, due: float) -> bool:
        """Wait for `due` (False when stopped), noticing readers that leave in the meantime."""
        while (remaining := due - time.monotonic()) > 0:
            self.link.reader_attached()
            if self._stop.wait(min(remaining, _WATCH_S)):
                return False
        return not self._stop.is_set()

    def _answer_readouts(self, meter: ModeCMeter) -> None:
        while not self._done():
            self.link.reader_attached()
            if data := self.link.read(0.1):
                for answer in meter.feed(data, time.monotonic()):
                    self.link.write(answer)
                self.delivered = meter.data_messages
            if time.monotonic() - self._saved_at > _SAVE_EVERY_S:
                self._save_counters()

    def _linger(self) -> None:
        """After the last message wait for the reader to close: closing the master drops unread bytes."""
        deadline = time.monotonic() + max(2.0, 2 * self.config.interval)
        while (
            self.link.reader_attached() and not self._stop.is_set() and time.monotonic() < deadline
        ):
            self._stop.wait(0.05)
