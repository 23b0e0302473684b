"""The data-notification APDU (DLMS Green Book, tag 0x0F) that every push meter sends.

`0F | long-invoke-id-and-priority (4) | date-time (00, or 0C + 12 bytes) | body`. Kaifa's Nordic
lists tag the header time as an octet-string (`09 0C`), so both spellings are accepted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .axdr import (
    ARRAY,
    OCTET_STRING,
    STRUCTURE,
    AxdrError,
    NeedMoreDataError,
    decode_sequence,
    decode_value,
    value_end,
)
from .cosem_time import DATE_TIME_LENGTH
from .descriptor_body import descriptor_body_end, parse_descriptor_body

DATA_NOTIFICATION = 0x0F
# Push-object lists repeat byte for byte in every push of a meter; decoding them once per
# meter instead of per message halves the decode time of L+G and Iskra pushes.
_OBJECT_LISTS: dict[bytes, Any] = {}
_MAX_CACHED_OBJECT_LISTS = 16


@dataclass(frozen=True, slots=True)
class Notification:
    """A decoded data-notification."""

    invoke_id: int
    header_time: bytes | None
    body: Any


def body_start(buf: bytes | bytearray, start: int) -> tuple[int, bytes | None]:
    """Index of the body and the raw header time; raises NeedMoreDataError / AxdrError."""
    index = start + 5
    if index >= len(buf):
        raise NeedMoreDataError
    if buf[index] == OCTET_STRING:
        index += 1
        if index >= len(buf):
            raise NeedMoreDataError
    length = buf[index]
    if length == 0:
        return index + 1, None
    if length != DATE_TIME_LENGTH:
        raise AxdrError("bad date-time length in notification header")
    end = index + 1 + DATE_TIME_LENGTH
    if end > len(buf):
        raise NeedMoreDataError
    return end, bytes(buf[index + 1 : end])


def notification_end(buf: bytes | bytearray, start: int) -> int:
    """Where the notification at `start` ends (for delimiting raw APDUs in a byte stream)."""
    first, _ = body_start(buf, start)
    try:
        return value_end(buf, first)
    except AxdrError:
        return descriptor_body_end(buf, first)


def parse_notification(apdu: bytes, start: int = 0) -> tuple[Notification, int]:
    """Decode the notification at `start`; returns it and the index after it."""
    if len(apdu) <= start or apdu[start] != DATA_NOTIFICATION:
        raise AxdrError("not a data-notification")
    try:
        first, header_time = body_start(apdu, start)
    except NeedMoreDataError as err:
        raise AxdrError("truncated notification") from err
    body: Any
    try:
        body, end = _decode_body(apdu, first)
    except AxdrError:
        body, end = parse_descriptor_body(apdu, first)
    invoke_id = int.from_bytes(apdu[start + 1 : start + 5], "big")
    return Notification(invoke_id, header_time, body), end


def _decode_body(apdu: bytes, start: int) -> tuple[Any, int]:
    """Decode a body, reusing the decoded push-object list when the meter sent it before."""
    if start >= len(apdu):
        raise AxdrError("notification without a body")
    count = apdu[start + 1] if start + 3 < len(apdu) else 0
    if not (
        apdu[start] == STRUCTURE
        and 0 < count < 0x80
        and apdu[start + 2] == ARRAY
        and apdu[start + 3] == count
    ):
        return decode_value(apdu, start)
    try:
        list_end = value_end(apdu, start + 2)
    except NeedMoreDataError as err:
        raise AxdrError("truncated push-object list") from err
    raw_list = apdu[start + 2 : list_end]
    objects = _OBJECT_LISTS.get(raw_list)
    if objects is None:
        objects, _ = decode_value(apdu, start + 2)
        if len(_OBJECT_LISTS) >= _MAX_CACHED_OBJECT_LISTS:
            _OBJECT_LISTS.clear()
        _OBJECT_LISTS[raw_list] = objects
    values, end = decode_sequence(apdu, list_end, count - 1)
    return [objects, *values], end
