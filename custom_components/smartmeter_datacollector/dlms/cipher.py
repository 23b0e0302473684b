"""Unwrapping general-glo-ciphering and general-ded-ciphering APDUs (DLMS Green Book, security suite 0/1).

`DB|DC | 08 system title | length | SC | IC (4) | ciphertext | tag (12, when SC bit 4)`.
AES-128-GCM with IV = system title || IC and AAD = SC || AK. Meters truncate the GCM tag to
12 bytes, so the mode is built with `min_tag_length=12`; SC 0x2x (no tag) and tag-less checks
decrypt with GCM's keystream alone, which is AES-CTR starting at counter block IV || 00000002.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from .lengths import read_length

GLO_CIPHERING = 0xDB
DED_CIPHERING = 0xDC
GENERAL_CIPHERING = 0xDD
CIPHERED_TAGS = frozenset((GLO_CIPHERING, DED_CIPHERING))

AUTHENTICATED = 0x10
ENCRYPTED = 0x20
COMPRESSED = 0x80
TAG_LENGTH = 12
SYSTEM_TITLE_LENGTH = 8


class CipherError(Enum):
    """Why a ciphered APDU yielded no plaintext."""

    MALFORMED = "malformed"
    KEY_REQUIRED = "key_required"
    AUTH_FAILED = "auth_failed"  # tag check failed; the plaintext was valid (AK wrong)
    UNSUPPORTED = "unsupported"  # compression, or authentication-only without encryption


@dataclass(frozen=True, slots=True)
class CipheredApdu:
    """The parts of a ciphered APDU needed to decrypt it."""

    system_title: bytes
    security_control: int
    invocation_counter: int
    ciphertext: bytes
    tag: bytes | None


def parse_ciphered(apdu: bytes) -> CipheredApdu | None:
    """Split a DB/DC APDU into its fields; None when lengths do not add up."""
    if len(apdu) < 2 or apdu[0] not in CIPHERED_TAGS or apdu[1] != SYSTEM_TITLE_LENGTH:
        return None
    title_end = 2 + SYSTEM_TITLE_LENGTH
    parsed = read_length(apdu, title_end)
    if parsed is None:
        return None
    length, start = parsed
    if start + length != len(apdu) or length < 5:
        return None
    security_control = apdu[start]
    counter = int.from_bytes(apdu[start + 1 : start + 5], "big")
    payload = apdu[start + 5 :]
    tag = None
    if security_control & AUTHENTICATED:
        if len(payload) < TAG_LENGTH:
            return None
        payload, tag = payload[:-TAG_LENGTH], payload[-TAG_LENGTH:]
    return CipheredApdu(apdu[2:title_end], security_control, counter, payload, tag)


@lru_cache(maxsize=16)
def _aes(key: bytes) -> algorithms.AES:
    """One key object per key: building it costs more than decrypting a whole push."""
    return algorithms.AES(key)


def _keystream_decrypt(key: bytes, iv: bytes, ciphertext: bytes) -> bytes:
    counter_block = iv + b"\x00\x00\x00\x02"
    decryptor = Cipher(_aes(key), modes.CTR(counter_block)).decryptor()
    return decryptor.update(ciphertext) + decryptor.finalize()


def decrypt(
    ciphered: CipheredApdu, key: bytes | None, auth_key: bytes | None
) -> tuple[bytes | None, CipherError | None]:
    """Return the plaintext APDU, or why there is none.

    Without an authentication key the tag cannot be checked (operators often hand out only the
    encryption key), so the caller must validate the plaintext structurally.
    """
    security_control = ciphered.security_control
    if security_control & COMPRESSED or not security_control & ENCRYPTED:
        return None, CipherError.UNSUPPORTED
    if key is None:
        return None, CipherError.KEY_REQUIRED
    iv = ciphered.system_title + ciphered.invocation_counter.to_bytes(4, "big")
    if ciphered.tag is not None and auth_key is not None:
        decryptor = Cipher(
            _aes(key), modes.GCM(iv, ciphered.tag, min_tag_length=TAG_LENGTH)
        ).decryptor()
        decryptor.authenticate_additional_data(bytes([security_control]) + auth_key)
        try:
            return decryptor.update(ciphered.ciphertext) + decryptor.finalize(), None
        except InvalidTag:
            return _keystream_decrypt(key, iv, ciphered.ciphertext), CipherError.AUTH_FAILED
    return _keystream_decrypt(key, iv, ciphered.ciphertext), None
