"""general-glo-ciphering (Green Book security suite 0) on its own: parse, decrypt, round trip."""

from __future__ import annotations

from hypothesis import given, strategies as st

from custom_components.smartmeter_datacollector.dlms.cipher import (
    CipherError,
    decrypt,
    parse_ciphered,
)
from smartmeter_devtools.apdu_encode import glo_ciphering

KEY, AUTH_KEY = bytes(range(16)), bytes(range(16, 32))
TITLE = b"KFM" + bytes(5)


@given(plaintext=st.binary(min_size=1, max_size=800), counter=st.integers(0, 2**32 - 1))
def test_round_trip_with_and_without_tag(plaintext: bytes, counter: int) -> None:
    """SC 0x30 (tag checked with the AK) and SC 0x20 (no tag) both give the plaintext back."""
    for auth_key in (AUTH_KEY, None):
        apdu = glo_ciphering(
            plaintext, key=KEY, system_title=TITLE, invocation_counter=counter, auth_key=auth_key
        )
        ciphered = parse_ciphered(apdu)
        assert ciphered is not None
        assert (ciphered.system_title, ciphered.invocation_counter) == (TITLE, counter)
        assert (ciphered.tag is not None) == (auth_key is not None)
        assert decrypt(ciphered, KEY, auth_key) == (plaintext, None)


def test_a_wrong_authentication_key_fails_the_tag() -> None:
    """The tag covers SC || AK: another AK fails it, the keystream still decrypts."""
    apdu = glo_ciphering(
        b"\x0f" * 30, key=KEY, system_title=TITLE, invocation_counter=1, auth_key=AUTH_KEY
    )
    ciphered = parse_ciphered(apdu)
    assert ciphered is not None

    plaintext, error = decrypt(ciphered, KEY, bytes(16))
    assert error is CipherError.AUTH_FAILED
    assert plaintext == b"\x0f" * 30
    assert decrypt(ciphered, None, None) == (None, CipherError.KEY_REQUIRED)


def test_lengths_that_do_not_add_up_are_not_parsed() -> None:
    """The BER length covers SC..tag exactly."""
    apdu = glo_ciphering(b"\x0f" * 30, key=KEY, system_title=TITLE, invocation_counter=1)

    assert parse_ciphered(apdu[:-1]) is None
    assert parse_ciphered(apdu + b"\x00") is None
    assert parse_ciphered(b"\xdb\x07" + apdu[2:]) is None
