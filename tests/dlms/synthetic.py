"""Small messages built with the project's own encoder, for cases no real capture covers."""

from __future__ import annotations

from smartmeter_devtools import apdu_encode, framing_encode
from smartmeter_devtools.axdr_encode import (
    AxdrValue,
    CosemDateTime,
    OctetString,
    Structure,
    UInt32,
    obis,
)

KEY = bytes(range(16))
AUTH_KEY = bytes(range(16, 32))
SYSTEM_TITLE = b"LGZ" + bytes((0x67, 0x01, 0x02, 0x03, 0x04))
DEST = framing_encode.hdlc_address(0x67, 2)
SRC = framing_encode.hdlc_address(1, 1)
# As L+G E450 sends it: local wall time, deviation unspecified.
WHEN_ON_WIRE = CosemDateTime(2024, 5, 4, 6, 13, 39, 21, None, None, 0)


def pairs_body(energy: int = 123456, power: int = 789) -> Structure:
    """An Austrian-style E450 body: date-time, then OBIS/value pairs."""
    return Structure(
        [
            WHEN_ON_WIRE.octet_string(),
            obis("0-0:96.1.0"),
            OctetString(b"12345678"),
            obis("1-0:1.8.0"),
            UInt32(energy),
            obis("1-0:1.7.0"),
            UInt32(power),
        ]
    )


def notification(body: AxdrValue | None = None, invoke_id: int = 1) -> bytes:
    """A data-notification APDU with a header time."""
    return apdu_encode.data_notification(invoke_id, WHEN_ON_WIRE, body or pairs_body())


def ciphered(apdu: bytes, *, auth: bool = True, counter: int = 42) -> bytes:
    """general-glo-ciphering of `apdu` with the test keys (SC 0x30, or 0x20 without auth)."""
    return apdu_encode.glo_ciphering(
        apdu,
        key=KEY,
        system_title=SYSTEM_TITLE,
        invocation_counter=counter,
        auth_key=AUTH_KEY if auth else None,
    )


def hdlc_gbt(apdu: bytes, block_size: int = 64) -> list[bytes]:
    """An APDU as L+G E450 sends it: GBT blocks, one whole HDLC frame each."""
    blocks = apdu_encode.gbt_blocks(apdu, block_size)
    return framing_encode.hdlc_frames_per_block(blocks, dest=DEST, src=SRC)


def hdlc_single(apdu: bytes) -> bytes:
    """An APDU in one HDLC frame with the LLC header."""
    return framing_encode.hdlc_frames_per_block([apdu], dest=DEST, src=SRC)[0]
