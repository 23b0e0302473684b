"""The one door to gurux-dlms: nothing else in the decoder imports it.

gurux decodes A-XDR data (IEC 62056-6-2) well but was built for client sessions: its buffer
validates its position on every byte read and copies strings byte by byte. This module keeps
gurux's `getData` decoding logic and replaces only that bookkeeping, through gurux's own
name-mangled buffer attributes, which halves the decode time. That coupling to gurux internals
is why it lives here alone, pinned by tests/dlms/test_gurux_adapter.py: an upgrade that changes
what the decoder relies on fails a test, not a user.

What callers may rely on: arrays and structures come back as `list` subclasses, octet strings as
`bytearray`, visible and UTF-8 strings as `str`, Integer8 as `Integer8` and enum as `Enum` (both
`int` subclasses), other integers as `int` subclasses (GXUInt32, ...), floats as `float`, booleans as `bool`, null as None.
Callers must hand over only values they checked themselves (`axdr.value_end`): gurux trusts
counts and tags and can loop without end on hostile ones.
"""

from __future__ import annotations

from typing import Any

from gurux_dlms.GXByteBuffer import GXByteBuffer
from gurux_dlms.GXDLMSSettings import GXDLMSSettings
from gurux_dlms.GXEnum import GXEnum
from gurux_dlms.GXInt8 import GXInt8
from gurux_dlms.internal._GXCommon import _GXCommon
from gurux_dlms.internal._GXDataInfo import _GXDataInfo

_SETTINGS = GXDLMSSettings(False, None)

Enum = GXEnum
Integer8 = GXInt8


class GuruxError(ValueError):
    """gurux could not decode the bytes (it raises bare Exceptions, IndexErrors and ValueErrors)."""


class _ReadBuffer(GXByteBuffer):  # type: ignore[misc]  # gurux is untyped
    """gurux's buffer with its hottest accessors reduced to plain reads.

    Reads past the end still raise (IndexError / ValueError).
    """

    position = 0  # a plain attribute instead of the base class's validating property

    def __init__(self, data: bytes) -> None:
        self._data = bytearray(data)
        self._GXByteBuffer__size = len(data)
        self._GXByteBuffer__position = 0
        self.position = 0

    def __len__(self) -> int:
        return len(self._data)

    def getUInt8(self, index: int | None = None) -> int:  # noqa: N802  # gurux's name
        if index is not None:
            return self._data[index]
        position = self.position
        self.position = position + 1
        return self._data[position]

    def get(self, target: bytearray) -> None:
        start = self.position
        end = start + len(target)
        if end > len(self._data):
            raise ValueError("get")
        target[:] = self._data[start:end]
        self.position = end


def get_values(data: bytes, start: int, ends: list[int]) -> list[Any]:
    """Decode consecutive values from `start`; value i must end exactly at `ends[i]`."""
    buffer = _ReadBuffer(data)
    buffer.position = start
    values = []
    try:
        for end in ends:
            info = _GXDataInfo()
            values.append(_GXCommon.getData(_SETTINGS, buffer, info))
            if not info.complete or buffer.position != end:
                raise GuruxError("gurux read a different length than the value has")
    except GuruxError:
        raise
    except Exception as err:  # gurux raises bare Exceptions and IndexErrors on bad input
        raise GuruxError(str(err) or type(err).__name__) from err
    return values
