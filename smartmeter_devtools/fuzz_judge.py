"""Feed one long-lived decoder intact messages and mutants; judge every reading it emits.

Rules (the module docstring of `fuzz` states them for users):
- an intact message's expected readings are what a fresh decoder gives for it alone;
- a reading is true when it is an intact message's expected reading, a reading of a message a
  recent mutant was made from, or, for a vouched mutant (re-framed with valid checks, a framing
  with no check, or a raw mutant that happens to contain a frame passing its check that is in
  none of its source messages), a reading a fresh decoder gives for the mutant's bytes alone;
  anything else is a wrong reading;
- an intact message's readings must come out by the feed that delivers its last byte; for
  framings that cannot know where a message starts or ends (bare APDU, IEC 62056-21 text) they
  may come one message late (by the end of the next unit, or by the first byte after the line
  next went quiet, whichever is later), and the first intact message right after a mutant may be
  missed; the one after it may not;
- a bare APDU without a GCM tag may be missed when a mutant follows it with no quiet line between
  (counted as "cut off") if it ends in a number, or if no intact message of its stream has been
  decoded yet: with no delimiter and no check, it cannot be told from one cut short inside its
  last value whose structure the garbage completed, unless a skeleton learned from an earlier
  push shows that its last bytes are not a value;
- a message may be missed (counted as "collided") when a frame that passes every check of its
  transport (FCS, M-Bus sum and stop byte, BCC) but is in none of the messages sent began before
  it and ended inside it: say a frame cut short whose claimed length ran into the next message,
  with the sum matching by chance (1 in 65536 for M-Bus). The transport cannot tell it from a
  frame the meter sent; whichever of two overlapping checked frames is taken, the other is lost.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass
import inspect
import random
import time

from .fuzz_corpus import Stream
from .fuzz_evidence import decode_alone, ends_in_value, valid_frame_spans, valid_frames
from .fuzz_findings import Findings
from .fuzz_guard import GC_CLOCK, ReadingKey, bounded_feed, new_decoder, reading_key
from .fuzz_mutate import Mutant, mutate
from .fuzz_tally import Tally

SLOW_FEED_S = 0.050
_LENIENT_FRAMINGS = frozenset(("apdu", "iec62056-21"))
_RECENT_MUTANTS = 4
MAX_UNITS = 8  # units per batch
_MAX_CHUNK = 4096
_INTACT_SHARE = 0.45
_GAP_SHARE = 0.1
# Units usually arrive one push interval apart; this share arrives right after the one before
# (a noise burst just before a push, a meter that resends at once).
_BACK_TO_BACK = 0.3
_TAIL = 32768  # bytes kept for judging readings stitched from genuine frames
_LONGEST_FRAME = 2052  # HDLC: an 11-bit length field plus two flags (IEC 62056-46 8.4.1.2)


@dataclass(slots=True)
class _Expectation:
    message: int
    start: int
    end: int
    remaining: Counter[ReadingKey]
    lenient: bool  # may be missed: the first message after a mutant, where a start is unknowable
    deadline: int | None
    # Bare APDUs and IEC text may come one message late: by the end of the next unit or the first
    # byte after the line next went quiet, whichever is later (both unknown until sent).
    late_ok: bool = False
    next_end: int | None = None
    quiet_at: int | None = None
    # A mutant followed at once, and nothing shows where this message ends (see the docstring).
    cut_off: bool = False


@dataclass(slots=True)
class _SentMutant:
    mutant: Mutant
    start: int
    end: int
    alone: list[ReadingKey] | None = None
    forged: bool | None = None


def _chunk_size(rng: random.Random) -> int:
    """A random read size: mostly small, sometimes a whole read of up to 4 KiB."""
    roll = rng.random()
    if roll < 0.3:
        return rng.randint(1, 16)
    if roll < 0.8:
        return rng.randint(1, 300)
    return rng.randint(300, _MAX_CHUNK)


class StreamRunner:
    """One long-lived decoder for one stream, fed unit after unit."""

    def __init__(self, stream: Stream, rng: random.Random, tally: Tally, sink: Findings) -> None:
        """Expected readings of every intact message come from fresh decoders, once."""
        self.stream = stream
        self.rng = rng
        self.tally = tally
        self.sink = sink
        self.decoder = new_decoder(stream)
        self.expected = [decode_alone(stream, m.data) for m in stream.messages]
        # Messages whose end only their unchecked structure shows, and of those the ones ending
        # in a number (see the module docstring).
        self.unchecked = stream.framing == "apdu" and stream.auth_key is None
        self.cuttable = [
            self.unchecked and ends_in_value(m.data if stream.key is None else m.apdu)
            for m in stream.messages
        ]
        self.decoded_intact = False
        self.intact_keys = {key for keys in self.expected for key in keys}
        self.position = 0
        self.feed_start = 0  # stream position of the last feed's first byte
        self.pending: deque[_Expectation] = deque()
        # Mutants of the batch being fed, plus the last ones already fed (see arrived_mutants).
        self.recent: deque[_SentMutant] = deque(maxlen=_RECENT_MUTANTS + MAX_UNITS)
        self.history: deque[bytes] = deque(maxlen=3)  # the last units, for repros
        self.previous_mutant = False
        # Simulated line time, passed as `now` when the decoder takes it: bytes arrive at the
        # meter's line speed and units a push interval apart (or back to back).
        self.timed = "now" in inspect.signature(self.decoder.feed).parameters
        self.clock = 1000.0
        # IEC 62056-21 mode C reads out at the speed switched to after the sign-on.
        serial = self.decoder.profile.readout_serial or self.decoder.profile.serial
        bits = 1 + serial.bytesize + (serial.parity != "N") + serial.stopbits
        self.byte_time = bits / serial.baudrate
        self.interval = self.decoder.profile.push_interval
        # The last bytes fed, at a constant size so the judge's own memory stays flat.
        self.tail = bytearray(_TAIL)
        # (stream position, length, now, gap() before it): to replay a lost message's feeds.
        self.feed_log: deque[tuple[int, int, float | None, bool]] = deque(maxlen=256)
        self._gap_before = False

    def run_batch(self, units: int, max_mutants: int | None = None) -> int:
        """Send `units` units (intact messages and mutants); return the mutants sent."""
        data = bytearray()
        gaps: set[int] = set()
        pauses: dict[int, float] = {}
        sent = 0
        for _ in range(units):
            start = self.position + len(data)
            if self.rng.random() >= _BACK_TO_BACK:
                pauses[start] = self.interval
            budget_left = max_mutants is None or sent < max_mutants
            if self.rng.random() < _INTACT_SHARE or not budget_left:
                index = self.rng.randrange(len(self.stream.messages))
                unit = self.stream.messages[index].data
                if self.rng.random() < _GAP_SHARE:
                    gaps.add(start)  # the line went quiet before this push
                self._expect(index, start, start + len(unit))
                self.previous_mutant = False
            else:
                mutant = mutate(self.rng, self.stream)
                unit = mutant.data
                if start not in pauses and self.unchecked:
                    for expectation in self.pending:
                        if expectation.end == start and (
                            self.cuttable[expectation.message] or not self.decoded_intact
                        ):
                            expectation.cut_off = True
                self.tally.mutants[mutant.kind] += 1
                self.recent.append(_SentMutant(mutant, start, start + len(unit)))
                self.previous_mutant = True
                sent += 1
            quiet = start in pauses or start in gaps
            for expectation in self.pending:
                if expectation.deadline is None and expectation.end <= start:
                    if expectation.next_end is None:
                        expectation.next_end = start + len(unit)
                    if expectation.quiet_at is None and quiet:
                        expectation.quiet_at = start + 1
                    if expectation.quiet_at is not None:
                        expectation.deadline = max(expectation.next_end, expectation.quiet_at)
            data += unit
            self.history.append(bytes(unit))
        self._feed_all(bytes(data), gaps, pauses)
        return sent

    def _expect(self, index: int, start: int, end: int) -> None:
        late_ok = self.stream.framing in _LENIENT_FRAMINGS
        lenient = self.previous_mutant and late_ok
        self.tally.intact += 1
        self.tally.intact_after_mutant += self.previous_mutant
        if self.expected[index]:
            self.pending.append(
                _Expectation(
                    index,
                    start,
                    end,
                    Counter(self.expected[index]),
                    lenient,
                    None if late_ok else end,
                    late_ok,
                )
            )

    def _feed_all(self, data: bytes, gaps: set[int], pauses: dict[int, float]) -> None:
        base = self.position
        cuts = sorted({p - base for p in (*gaps, *pauses)})
        offset = 0
        while offset < len(data):
            while cuts and cuts[0] <= offset:
                cut = cuts.pop(0)
                self.clock += pauses.get(base + cut, 0.0)
                if base + cut in gaps:
                    self._gap()
            end = min(offset + _chunk_size(self.rng), len(data), *cuts[:1])
            self._feed(data[offset:end])
            offset = end

    def _gap(self) -> None:
        caught = self.decoder.stats.internal_errors
        try:
            self._gap_before = True
            readings = self.decoder.gap() or []
        except Exception as err:  # noqa: BLE001  (the contract under test: gap() never raises)
            self._exception(err, b"", "gap")
            return
        self.tally.internal_errors += self.decoder.stats.internal_errors - caught
        for reading in readings:
            self._judge(reading_key(reading))

    def _feed(self, chunk: bytes) -> None:
        self.clock += len(chunk) * self.byte_time
        began, collected = time.thread_time(), GC_CLOCK.spent
        caught = self.decoder.stats.internal_errors
        try:
            readings = bounded_feed(self.decoder, chunk, self.clock if self.timed else None)
        except (Exception, MemoryError, RecursionError) as err:  # noqa: BLE001  (under test)
            self._exception(err, chunk, "feed")
            readings = []
        else:
            self.tally.internal_errors += self.decoder.stats.internal_errors - caught
        # A garbage collection that fell into this feed walked the whole process (GcClock).
        pause = GC_CLOCK.spent - collected
        spent = time.thread_time() - began - pause
        self.tally.gc_in_feeds_ms = max(self.tally.gc_in_feeds_ms, pause * 1000)
        self.feed_log.append(
            (self.position, len(chunk), self.clock if self.timed else None, self._gap_before)
        )
        self._gap_before = False
        self.feed_start = self.position
        self.position += len(chunk)
        kept = chunk[-_TAIL:]
        del self.tail[: len(kept)]
        self.tail += kept
        self.tally.feeds += 1
        self.tally.bytes_fed += len(chunk)
        self.tally.worst_feed_ms = max(self.tally.worst_feed_ms, spent * 1000)
        if spent > SLOW_FEED_S:
            self.tally.slow_feeds += 1
            self.sink.slow(self, chunk, spent)
        for reading in readings:
            self._judge(reading_key(reading))
        self._expire()

    def _exception(self, err: BaseException, chunk: bytes, where: str) -> None:
        name = f"{where}:{type(err).__name__}"
        self.tally.exceptions[name] += 1
        self.sink.exception(self, err, chunk, where)
        # A decoder that raised may be wedged: carry on with a fresh one, forgetting what it owed.
        self.decoder = new_decoder(self.stream)
        self.pending.clear()

    def _judge(self, key: ReadingKey) -> None:
        owed = [e for e in self.pending if e.end <= self.position and e.remaining[key] > 0]
        if owed:
            # Equal readings (a one-message capture repeated) cannot say which message they
            # came from: credit the oldest message that must not be missed before one that may
            # (right after a mutant, or cut off by one), else an earlier missed message that was
            # allowed to be missed would take the reading and make a later one look lost.
            expectation = next((e for e in owed if not (e.lenient or e.cut_off)), owed[0])
            self.decoded_intact = True
            expectation.remaining[key] -= 1
            if not +expectation.remaining:
                self.pending.remove(expectation)
            return
        arrived = self.arrived_mutants()
        for sent in reversed(arrived):
            if any(key in self.expected[i] for i in sent.mutant.sources):
                self.tally.source_readings[sent.mutant.kind] += 1
                self.tally.noise_recovered += sent.mutant.kind == "noise_between"
                return
        if key in self.intact_keys:
            return  # a repeat of an intact reading: not invented, nothing to judge
        for sent in reversed(arrived):
            if sent.alone is None:
                sent.alone = decode_alone(self.stream, sent.mutant.data)
            if key in sent.alone and self._vouched(sent):
                self.tally.vouched_readings[sent.mutant.kind] += 1
                return
        if key in decode_alone(self.stream, b"".join(valid_frames(bytes(self.tail)))):
            # Every frame it came from passed its check; only bytes between frames were dropped.
            self.tally.stitched_readings += 1
            return
        kind = arrived[-1].mutant.kind if arrived else "none"
        self.tally.wrong[kind] += 1
        self.sink.wrong(self, key, kind)

    def recent_feeds(self, start: int) -> list[tuple[int, bytes, float | None, bool]]:
        """The feeds since stream position `start` (chunk bytes included), oldest first."""
        first = self.position - _TAIL
        out = []
        for position, length, now, gap in self.feed_log:
            if position + length > start and position >= first:
                chunk = bytes(self.tail[position - first : position - first + length])
                out.append((position, chunk, now, gap))
        return out

    def arrived_mutants(self) -> list[_SentMutant]:
        """Every mutant the last feed delivered and the last ones before it, oldest first.

        One feed may carry a whole batch: a reading it gives may come from any mutant in it.
        """
        arrived = [m for m in self.recent if m.start < self.position]
        earlier = [m for m in arrived if m.start < self.feed_start][-_RECENT_MUTANTS:]
        return earlier + [m for m in arrived if m.start >= self.feed_start]

    def _vouched(self, sent: _SentMutant) -> bool:
        if sent.mutant.vouched:
            return True
        if sent.forged is None:
            genuine = {f for i in sent.mutant.sources for f in self.stream.messages[i].frames}
            sent.forged = any(f not in genuine for f in valid_frames(sent.mutant.data))
        return sent.forged

    def _collided(self, expectation: _Expectation) -> bool:
        """Whether a checked frame in no message began before the message and ended inside it.

        The transport cannot tell such a frame from a genuine one (see the module docstring),
        and taking it took the message's first bytes.
        """
        first = self.position - _TAIL
        low = max(first, expectation.start - _LONGEST_FRAME)
        window = bytes(self.tail[low - first : expectation.end - first])
        genuine = {frame for message in self.stream.messages for frame in message.frames}
        return any(
            low + start < expectation.start < low + end and window[start:end] not in genuine
            for start, end in valid_frame_spans(window)
        )

    def _expire(self) -> None:
        while self.pending:
            expectation = self.pending[0]
            if expectation.deadline is None or expectation.deadline > self.position:
                return
            self.pending.popleft()
            if expectation.lenient:
                self.tally.allowed_late[self.stream.framing] += 1
            elif expectation.cut_off:
                self.tally.cut_off[self.stream.framing] += 1
            elif self._collided(expectation):
                self.tally.collided[self.stream.framing] += 1
            else:
                self.tally.lost[self.stream.framing] += 1
                self.sink.lost(self, expectation)
