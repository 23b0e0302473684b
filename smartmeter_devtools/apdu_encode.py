"""xDLMS APDUs a push meter sends (DLMS Green Book).

Data-notification, general-glo-ciphering (security suite 0) and general-block-transfer blocks.
"""

from __future__ import annotations

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from ._decoder import (
    AUTHENTICATED,
    DATA_NOTIFICATION,
    DATE_TIME_LENGTH,
    ENCRYPTED,
    GBT_LAST_BLOCK,
    GBT_STREAMING,
    GBT_TAG,
    GLO_CIPHERING,
    SYSTEM_TITLE_LENGTH,
    TAG_LENGTH,
    encode_length,
)
from .axdr_encode import AxdrValue, CosemDateTime

# Security control byte (Green Book 9.2.7.2.4.1): bit 4 authentication, bit 5 encryption.
SC_ENCRYPTED = ENCRYPTED
SC_ENCRYPTED_AUTHENTICATED = ENCRYPTED | AUTHENTICATED


def data_notification(invoke_id: int, date_time: CosemDateTime | None, body: AxdrValue) -> bytes:
    """data-notification: long-invoke-id-and-priority, optional date-time, notification body."""
    header = bytes((DATA_NOTIFICATION,)) + invoke_id.to_bytes(4, "big")
    stamp = b"\x00" if date_time is None else bytes((DATE_TIME_LENGTH,)) + date_time.to_bytes()
    return header + stamp + body.encode()


def _check_key(name: str, key: bytes) -> None:
    if len(key) != 16:
        raise ValueError(f"{name} must be 16 bytes (AES-128), got {len(key)}")


def gcm_encrypt(
    key: bytes,
    iv: bytes,
    plaintext: bytes,
    *,
    security_control: int,
    auth_key: bytes | None = None,
) -> bytes:
    """AES-128-GCM as security suite 0 uses it; returns ciphertext (+ 12-byte tag when SC has bit 4).

    IV = system title || invocation counter. With authentication the AAD is SC || AK and the tag
    is the first 12 bytes of the GCM tag; encryption only is GCM's counter mode without a tag.
    """
    _check_key("key", key)
    if len(iv) != 12:
        raise ValueError("the IV is system title (8 bytes) || invocation counter (4 bytes)")
    encryptor = Cipher(algorithms.AES(key), modes.GCM(iv, min_tag_length=TAG_LENGTH)).encryptor()
    authenticated = bool(security_control & AUTHENTICATED)
    if authenticated:
        if auth_key is None:
            raise ValueError("security control with authentication needs an authentication key")
        _check_key("auth_key", auth_key)
        encryptor.authenticate_additional_data(bytes((security_control,)) + auth_key)
    ciphertext = encryptor.update(plaintext) + encryptor.finalize()
    return ciphertext + encryptor.tag[:TAG_LENGTH] if authenticated else ciphertext


def glo_ciphering(
    apdu: bytes,
    *,
    key: bytes,
    system_title: bytes,
    invocation_counter: int,
    auth_key: bytes | None = None,
) -> bytes:
    """Wrap a plain APDU in general-glo-ciphering; SC 0x30 when an auth key is given, else 0x20."""
    security_control = SC_ENCRYPTED_AUTHENTICATED if auth_key is not None else SC_ENCRYPTED
    if len(system_title) != SYSTEM_TITLE_LENGTH:
        raise ValueError("system title must be 8 bytes")
    protected = gcm_encrypt(
        key,
        system_title + invocation_counter.to_bytes(4, "big"),
        apdu,
        security_control=security_control,
        auth_key=auth_key,
    )
    content = bytes((security_control,)) + invocation_counter.to_bytes(4, "big") + protected
    return (
        bytes((GLO_CIPHERING, len(system_title)))
        + system_title
        + encode_length(len(content))
        + content
    )


def gbt_blocks(apdu: bytes, block_size: int) -> list[bytes]:
    """Split an APDU into general-block-transfer blocks numbered from 1, streaming, never acked."""
    if block_size < 1:
        raise ValueError("block size must be positive")
    chunks = [apdu[i : i + block_size] for i in range(0, len(apdu), block_size)] or [b""]
    blocks = []
    for number, chunk in enumerate(chunks, start=1):
        control = GBT_STREAMING | (GBT_LAST_BLOCK if number == len(chunks) else 0)
        blocks.append(
            bytes((GBT_TAG, control))
            + number.to_bytes(2, "big")
            + b"\x00\x00"  # block-number-ack: a push line is receive-only
            + encode_length(len(chunk))
            + chunk
        )
    return blocks
