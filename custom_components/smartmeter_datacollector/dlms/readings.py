"""From entries to a Reading: scaling, units, meter identity and the reading's time."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, tzinfo

from .cosem_time import DATE_TIME_LENGTH, parse_date_time
from .entries import Entry, Layout, as_text
from .identity import is_identifier_code, sub_meter_channel
from .layouts import is_list_id
from .models import Measurement, Profile, Reading
from .nordic import VENDOR_SCALERS, vendor_scalers
from .obis import COSEM_UNITS, default_unit, format_obis

# Scalers meters use lie within -6..6 (mA to MWh); a frame claiming 10^-66 A was corrupted in a
# way no check caught (bare APDUs carry none), and its other values cannot be trusted either.
_MAX_SCALER = 9
_FLAG_IDS_BY_LIST_PREFIX = {"AIDON": "AID", "Kamstrup": "KAM", "KFM": "KFM"}


def _is_clock(obis: bytes) -> bool:
    return obis[0] == 0 and obis[2:5] == b"\x01\x00\x00"


# How a raw number becomes a value: (op, factor) with op 0 as is, 1 divided by factor, 2 times
# factor. One definition for the full path and the fast path's templates (`fast_path`).
Converter = tuple[int, int | float]
_AS_IS: Converter = (0, 1)


def _scale_converter(exponent: int) -> Converter:
    """Raw x 10^exponent without binary noise (2337 x 10^-1 is 233.7, not 233.70000000000002)."""
    if exponent >= 0:
        return 2, int(10**exponent)
    return 1, int(10**-exponent)


def _factor_converter(factor: float) -> Converter:
    if factor == 1:
        return _AS_IS
    if factor < 1:
        return 1, round(1 / factor)
    return 2, int(factor) if factor.is_integer() else factor


def convert(raw: int | float, converter: Converter) -> int | float:
    """Apply a converter to a raw number."""
    op, factor = converter
    if op == 1:
        return raw / factor
    if op == 2:
        return raw * factor
    return raw


def numeric_converters(entry: Entry, profile: Profile) -> list[Converter]:
    """Every converter the full path could apply to this entry's number, given its context."""
    if entry.scaler is not None:
        return [_scale_converter(entry.scaler)]
    factors = {factor for scalers in VENDOR_SCALERS.values() for factor in scalers.values()}
    factors.update(profile.scalers.values())
    return [_AS_IS, *(_factor_converter(factor) for factor in sorted(factors))]


def is_clock_entry(entry: Entry) -> bool:
    """Whether the full path reads this entry as the meter's clock rather than as a value."""
    return (
        _is_clock(entry.obis)
        and isinstance(entry.value, (bytes, bytearray))
        and len(entry.value) == DATE_TIME_LENGTH
    )


def _measurement(entry: Entry, scalers: Mapping[str, float]) -> Measurement | None:
    value = entry.value
    if isinstance(value, (bytes, bytearray, str)):
        text = as_text(value)
        return None if text is None else Measurement(text, None)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, int) and is_identifier_code(entry.obis):
        # Kamstrup sends its meter number (1-1:0.0.1, 1-1:0.0.0) as double-long-unsigned: a number
        # that names the meter is still a name, so it is reported as its decimal string.
        return Measurement(str(int(value)), None)
    number: int | float = float(value) if isinstance(value, float) else int(value)
    if entry.scaler is not None:
        unit = COSEM_UNITS.get(entry.unit, f"unit {entry.unit}") if entry.unit is not None else None
        return Measurement(convert(number, _scale_converter(entry.scaler)), unit)
    cde = f"{entry.obis[2]}.{entry.obis[3]}.{entry.obis[4]}"
    factor = scalers.get(cde)
    if factor is not None:
        number = convert(number, _factor_converter(factor))
    return Measurement(number, default_unit(entry.obis))


def _manufacturer(
    system_title: bytes | None, meter_id: str | None, list_id: str | None
) -> str | None:
    for candidate in (system_title[:3] if system_title else b"", (meter_id or "")[:3].encode()):
        if len(candidate) == 3 and candidate.isalpha() and candidate.isupper():
            return candidate.decode()
    if list_id:
        for prefix, flag in _FLAG_IDS_BY_LIST_PREFIX.items():
            if list_id.startswith(prefix):
                return flag
    return None


def build_reading(
    layout: Layout,
    header_time: bytes | None,
    system_title: bytes | None,
    profile: Profile,
    local_zone: tzinfo | None,
) -> Reading | None:
    """The reading a layout describes, or None when it holds no values or cannot be true."""
    if any(
        entry.scaler is not None and not -_MAX_SCALER <= entry.scaler <= _MAX_SCALER
        for entry in layout.entries
    ):
        return None
    list_id = layout.list_id
    values: dict[str, Measurement] = {}
    clock: datetime | None = None
    meter_id: str | None = None
    # The maker is read from the meter's own id, never from a sub-meter's (`identity`).
    own_id: str | None = None
    for entry in layout.entries:
        if is_clock_entry(entry):
            assert isinstance(entry.value, (bytes, bytearray))  # noqa: S101  # checked above
            clock = clock or parse_date_time(entry.value, local_zone)
            continue
        key = format_obis(entry.obis)
        if key in values:
            continue
        if list_id is None and entry.obis[2:5] == b"\x00\x02\x81":
            list_id = as_text(entry.value)
        scalers = profile.scalers or vendor_scalers(list_id)
        measurement = _measurement(entry, scalers)
        if measurement is None:
            continue
        values[key] = measurement
        if isinstance(measurement.value, str) and is_identifier_code(entry.obis):
            if meter_id is None:
                meter_id = measurement.value
            if own_id is None and sub_meter_channel(entry.obis) is None:
                own_id = measurement.value
    if not values:
        return None
    if meter_id is None:
        meter_id = own_id = layout.positional_meter_id or next(
            (text for text in layout.untagged_texts if not is_list_id(text)), None
        )
        if meter_id is None and layout.untagged_binary:
            # The id would come from an untagged text, and an untagged octet string is not text:
            # the meter number with damaged bytes (a bare APDU ciphered without a tag has no
            # check), so the reading cannot say whose it is.
            return None
    timestamp = clock
    for raw in (header_time, *layout.untagged_times):
        if timestamp is None and raw is not None:
            timestamp = parse_date_time(raw, local_zone)
    return Reading(
        meter_id=meter_id,
        timestamp=timestamp,
        values=values,
        manufacturer=_manufacturer(system_title, own_id, list_id),
        system_title=system_title.hex() if system_title else None,
    )
