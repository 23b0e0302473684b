"""A-XDR encoding (IEC 62056-6-2 / DLMS Green Book data types) of explicitly typed values.

The encoder is the decoder's inverse for the simulator and the round-trip tests: every value
names its wire type, so what goes on the wire is never guessed from a Python type.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import ClassVar

from ._decoder import DST_ACTIVE, UNSPECIFIED_DEVIATION, axdr, encode_length, parse_obis


def obis_bytes(code: str) -> bytes:
    """Turn "A-B:C.D.E" (optionally "*F") into the 6-byte logical name; F defaults to 255."""
    raw = parse_obis(code)
    if raw is None:
        raise ValueError(f"{code!r} is not an OBIS code")
    return raw


@dataclass(frozen=True, slots=True)
class Null:
    """null-data (tag 00)."""

    def encode(self) -> bytes:
        """Return the tagged bytes."""
        return bytes((axdr.NULL_DATA,))


@dataclass(frozen=True, slots=True)
class Boolean:
    """boolean (tag 03)."""

    value: bool

    def encode(self) -> bytes:
        """Return the tagged bytes."""
        return bytes((axdr.BOOLEAN, 0xFF if self.value else 0x00))


@dataclass(frozen=True, slots=True)
class _Integer:
    """Fixed-width integer; subclasses fix the tag, the width and the signedness."""

    TAG: ClassVar[int] = 0
    SIZE: ClassVar[int] = 0
    SIGNED: ClassVar[bool] = False

    value: int

    def __post_init__(self) -> None:
        bits = self.SIZE * 8
        low, high = (
            (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if self.SIGNED else (0, (1 << bits) - 1)
        )
        if not low <= self.value <= high:
            raise ValueError(f"{self.value} does not fit {type(self).__name__}")

    def encode(self) -> bytes:
        """Return the tagged bytes."""
        return bytes((self.TAG,)) + self.value.to_bytes(self.SIZE, "big", signed=self.SIGNED)


class Int32(_Integer):
    """double-long (tag 05)."""

    TAG, SIZE, SIGNED = axdr.DOUBLE_LONG, 4, True


class UInt32(_Integer):
    """double-long-unsigned (tag 06)."""

    TAG, SIZE, SIGNED = axdr.DOUBLE_LONG_UNSIGNED, 4, False


class Int8(_Integer):
    """integer (tag 0F)."""

    TAG, SIZE, SIGNED = axdr.INTEGER, 1, True


class Int16(_Integer):
    """long (tag 10)."""

    TAG, SIZE, SIGNED = axdr.LONG, 2, True


class UInt8(_Integer):
    """unsigned (tag 11)."""

    TAG, SIZE, SIGNED = axdr.UNSIGNED, 1, False


class UInt16(_Integer):
    """long-unsigned (tag 12)."""

    TAG, SIZE, SIGNED = axdr.LONG_UNSIGNED, 2, False


class Int64(_Integer):
    """long64 (tag 14)."""

    TAG, SIZE, SIGNED = axdr.LONG64, 8, True


class UInt64(_Integer):
    """long64-unsigned (tag 15)."""

    TAG, SIZE, SIGNED = axdr.LONG64_UNSIGNED, 8, False


class Enum(_Integer):
    """enum (tag 16); COSEM units are enums."""

    TAG, SIZE, SIGNED = axdr.ENUM, 1, False


IntegerType = type[_Integer]


@dataclass(frozen=True, slots=True)
class OctetString:
    """octet-string (tag 09): OBIS codes, identifiers, date-times."""

    value: bytes

    def encode(self) -> bytes:
        """Return the tagged bytes."""
        return bytes((axdr.OCTET_STRING,)) + encode_length(len(self.value)) + self.value


@dataclass(frozen=True, slots=True)
class VisibleString:
    """visible-string (tag 0A): ASCII text such as Kamstrup and Aidon identifiers."""

    value: str

    def encode(self) -> bytes:
        """Return the tagged bytes."""
        raw = self.value.encode("ascii")
        return bytes((axdr.VISIBLE_STRING,)) + encode_length(len(raw)) + raw


@dataclass(frozen=True, slots=True)
class Structure:
    """structure (tag 02)."""

    items: tuple[AxdrValue, ...]

    def encode(self) -> bytes:
        """Return the tagged bytes."""
        items = b"".join(i.encode() for i in self.items)
        return bytes((axdr.STRUCTURE,)) + encode_length(len(self.items)) + items


@dataclass(frozen=True, slots=True)
class Array:
    """array (tag 01); A-XDR does not force equal element types, meters do not rely on it."""

    items: tuple[AxdrValue, ...]

    def encode(self) -> bytes:
        """Return the tagged bytes."""
        items = b"".join(i.encode() for i in self.items)
        return bytes((axdr.ARRAY,)) + encode_length(len(self.items)) + items


AxdrValue = Null | Boolean | _Integer | OctetString | VisibleString | Structure | Array


def obis(code: str) -> OctetString:
    """An OBIS code as the 6-byte octet-string meters send."""
    return OctetString(obis_bytes(code))


@dataclass(frozen=True, slots=True)
class CosemDateTime:
    """The 12-byte date-time; None fields go on the wire as "not specified"."""

    year: int
    month: int
    day: int
    weekday: int | None  # 1 = Monday
    hour: int
    minute: int
    second: int
    hundredths: int | None
    deviation: int | None  # minutes, UTC = local + deviation (gurux and the seed read it so)
    status: int | None

    @classmethod
    def from_datetime(
        cls,
        moment: datetime,
        tz: tzinfo,
        *,
        with_deviation: bool,
        hundredths: bool = False,
        status_extra: int = 0,
    ) -> CosemDateTime:
        """Local time of `moment` in `tz`; deviation on the wire or left unspecified."""
        # Through UTC, so that the local time is one a clock can show (none in the DST gap).
        local = moment.astimezone(UTC).astimezone(tz)
        offset = local.utcoffset() or timedelta(0)
        dst = bool(local.dst())
        return cls(
            year=local.year,
            month=local.month,
            day=local.day,
            weekday=local.isoweekday(),
            hour=local.hour,
            minute=local.minute,
            second=local.second,
            hundredths=local.microsecond // 10000 if hundredths else None,
            deviation=-int(offset.total_seconds() // 60) if with_deviation else None,
            status=(DST_ACTIVE if dst else 0) | status_extra,
        )

    def to_bytes(self) -> bytes:
        """Return the 12 raw bytes (no tag)."""
        deviation = UNSPECIFIED_DEVIATION if self.deviation is None else self.deviation
        return (
            self.year.to_bytes(2, "big")
            + bytes(
                (
                    self.month,
                    self.day,
                    0xFF if self.weekday is None else self.weekday,
                    self.hour,
                    self.minute,
                    self.second,
                    0xFF if self.hundredths is None else self.hundredths,
                )
            )
            + deviation.to_bytes(2, "big", signed=True)
            + bytes((0xFF if self.status is None else self.status,))
        )

    def octet_string(self) -> OctetString:
        """As meters send it in bodies: octet-string of length 12."""
        return OctetString(self.to_bytes())

    def to_datetime(self, tz: tzinfo | None = None) -> datetime:
        """What a decoder should make of it: aware with a deviation, else naive or in `tz`."""
        naive = datetime(
            self.year,
            self.month,
            self.day,
            self.hour,
            self.minute,
            self.second,
            (self.hundredths or 0) * 10000,
            tzinfo=UTC,
        ).replace(tzinfo=None)
        if self.deviation is not None:
            return naive.replace(tzinfo=timezone(timedelta(minutes=-self.deviation)))
        if tz is None:
            return naive
        # In the hour that repeats when DST ends, the status DST bit says which one it is.
        return naive.replace(tzinfo=tz, fold=0 if (self.status or 0) & DST_ACTIVE else 1)
