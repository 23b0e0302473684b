"""CRC-16/X.25 as IEC 62056-46 uses it for HDLC HCS and FCS.

Poly 0x1021 reflected, init 0xFFFF, xorout 0xFFFF; check("123456789") == 0x906E. A reflected CRC
equals the non-reflected one over bit-reversed bytes, bit-reversed: that lets the C implementation
in `binascii.crc_hqx` do the per-byte work, which is what keeps HDLC checking off the profile.
"""

from __future__ import annotations

import binascii

_REVERSED_BITS = bytes(int(f"{i:08b}"[::-1], 2) for i in range(256))


def crc16_x25(data: bytes | bytearray | memoryview) -> int:
    """Return the CRC that a frame carries low byte first."""
    crc = binascii.crc_hqx(bytes(data).translate(_REVERSED_BITS), 0xFFFF)
    reflected = (_REVERSED_BITS[crc & 0xFF] << 8) | _REVERSED_BITS[crc >> 8]
    return reflected ^ 0xFFFF
