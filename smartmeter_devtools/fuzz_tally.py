"""The figures one fuzz worker counts, merged across workers for the report."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class Tally:
    """What one worker saw; merged across workers and streams."""

    mutants: Counter[str] = field(default_factory=Counter)
    intact: int = 0
    intact_after_mutant: int = 0
    feeds: int = 0
    bytes_fed: int = 0
    exceptions: Counter[str] = field(default_factory=Counter)
    # Errors the decoder caught itself (stats.internal_errors): the contract holds, yet each is a bug.
    internal_errors: int = 0
    slow_feeds: int = 0
    worst_feed_ms: float = 0.0
    gc_in_feeds_ms: float = 0.0  # the longest collection inside a feed (not counted above)
    lost: Counter[str] = field(default_factory=Counter)  # by framing
    allowed_late: Counter[str] = field(default_factory=Counter)
    cut_off: Counter[str] = field(default_factory=Counter)  # allowed: see the module docstring
    collided: Counter[str] = field(default_factory=Counter)  # allowed: see the module docstring
    wrong: Counter[str] = field(default_factory=Counter)  # by the mutant class nearest before it
    vouched_readings: Counter[str] = field(default_factory=Counter)
    source_readings: Counter[str] = field(default_factory=Counter)
    noise_recovered: int = 0
    stitched_readings: int = 0
    findings: list[dict[str, Any]] = field(default_factory=list)

    def merge(self, other: Tally) -> None:
        """Add another tally's figures to this one."""
        for name in (
            "mutants",
            "exceptions",
            "lost",
            "allowed_late",
            "cut_off",
            "collided",
            "wrong",
        ):
            getattr(self, name).update(getattr(other, name))
        self.vouched_readings.update(other.vouched_readings)
        self.source_readings.update(other.source_readings)
        self.intact += other.intact
        self.intact_after_mutant += other.intact_after_mutant
        self.feeds += other.feeds
        self.bytes_fed += other.bytes_fed
        self.slow_feeds += other.slow_feeds
        self.internal_errors += other.internal_errors
        self.worst_feed_ms = max(self.worst_feed_ms, other.worst_feed_ms)
        self.gc_in_feeds_ms = max(self.gc_in_feeds_ms, other.gc_in_feeds_ms)
        self.noise_recovered += other.noise_recovered
        self.stitched_readings += other.stitched_readings
        self.findings += other.findings
