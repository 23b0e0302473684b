"""Ciphered pushes: right keys decode, wrong or missing keys are reported, never shown as values."""

from __future__ import annotations

from capture_vectors import load, names
import pytest
import synthetic

from custom_components.smartmeter_datacollector.dlms import KeyFormatError, MeterDecoder

ENCRYPTED = names(security="enc") + names(security="enc+auth", must_reject=False)


def _wrong(key: str) -> str:
    return bytes(b ^ 0x5A for b in bytes.fromhex(key)).hex()


@pytest.mark.parametrize("name", ENCRYPTED)
def test_missing_key_is_reported_as_key_required(name: str) -> None:
    """Ciphered data without a key: a 'key required' count the setup flow can show."""
    capture = load(name)
    decoder = MeterDecoder(capture.meta["profile"])

    assert decoder.feed(capture.data) == []
    assert decoder.stats.key_required >= 1
    assert decoder.stats.decrypt_errors == 0


@pytest.mark.parametrize("name", ENCRYPTED)
def test_wrong_key_is_a_decryption_error_not_values(name: str) -> None:
    """A wrong encryption key never yields a reading; it is counted as a decryption error."""
    capture = load(name)
    decoder = MeterDecoder(capture.meta["profile"], key=_wrong(capture.meta["key"]))

    assert decoder.feed(capture.data) == []
    assert decoder.stats.decrypt_errors >= 1


def test_wrong_authentication_key_is_reported_as_such() -> None:
    """Right encryption key, wrong authentication key: an authentication error, no reading."""
    capture = load("lge450-esphome-1-enc-auth")
    decoder = MeterDecoder(
        "lge450", key=capture.meta["key"], auth_key=_wrong(capture.meta["auth_key"])
    )

    assert decoder.feed(capture.data) == []
    assert decoder.stats.auth_errors == 1
    assert decoder.stats.decrypt_errors == 0


def test_encryption_key_alone_decrypts_authenticated_data() -> None:
    """Operators often hand out only the encryption key: the tag is then left unchecked."""
    capture = load("lge450-esphome-1-enc-auth")
    with_tag_check = MeterDecoder(
        "lge450", key=capture.meta["key"], auth_key=capture.meta["auth_key"]
    ).feed(capture.data)
    without = MeterDecoder("lge450", key=capture.meta["key"]).feed(capture.data)

    assert without == with_tag_check
    assert len(without) == 1


@pytest.mark.parametrize("auth", [True, False], ids=["sc30", "sc20"])
def test_synthetic_ciphered_push_round_trips(auth: bool) -> None:
    """Both security controls decrypt with the right keys; the system title names the maker."""
    frames = synthetic.hdlc_gbt(synthetic.ciphered(synthetic.notification(), auth=auth))
    decoder = MeterDecoder("lge450", key=synthetic.KEY, auth_key=synthetic.AUTH_KEY)

    (reading,) = decoder.feed(b"".join(frames))
    assert reading.values["1-0:1.8.0"].value == 123456
    assert reading.manufacturer == "LGZ"
    assert reading.system_title == synthetic.SYSTEM_TITLE.hex()


def test_tampered_tag_is_rejected() -> None:
    """A changed tag fails authentication even though the ciphertext still decrypts."""
    apdu = bytearray(synthetic.ciphered(synthetic.notification()))
    apdu[-1] ^= 0x01
    decoder = MeterDecoder("lge450", key=synthetic.KEY, auth_key=synthetic.AUTH_KEY)

    assert decoder.feed(b"".join(synthetic.hdlc_gbt(bytes(apdu)))) == []
    assert decoder.stats.auth_errors == 1


def test_tampered_ciphertext_without_tag_check_is_not_shown() -> None:
    """Without a tag check, only the plaintext's structure can catch corruption: it does here."""
    apdu = bytearray(synthetic.ciphered(synthetic.notification(), auth=False))
    apdu[16 + 5] ^= 0xFF  # ciphertext starts at 16; plaintext byte 5 is the date-time length
    decoder = MeterDecoder("lge450", key=synthetic.KEY)

    assert decoder.feed(synthetic.hdlc_single(bytes(apdu))) == []
    assert decoder.stats.decrypt_errors == 1


def test_dedicated_ciphering_uses_the_same_layout() -> None:
    """general-ded-ciphering (0xDC) differs only in which key the meter used."""
    apdu = bytearray(synthetic.ciphered(synthetic.notification()))
    apdu[0] = 0xDC
    decoder = MeterDecoder("lge450", key=synthetic.KEY, auth_key=synthetic.AUTH_KEY)

    assert len(decoder.feed(synthetic.hdlc_single(bytes(apdu)))) == 1


@pytest.mark.parametrize(
    ("security_control", "counter"),
    [(0xB0, "unknown_layouts"), (0x10, "unknown_layouts")],
    ids=["compressed", "authentication-only"],
)
def test_unsupported_security_is_counted(security_control: int, counter: str) -> None:
    """Compression and authentication-only pushes are refused with a reason, not guessed at."""
    apdu = bytearray(synthetic.ciphered(synthetic.notification()))
    apdu[11] = security_control  # SC follows tag, title length, title and a 1-byte length
    decoder = MeterDecoder("lge450", key=synthetic.KEY, auth_key=synthetic.AUTH_KEY)

    assert decoder.feed(synthetic.hdlc_single(bytes(apdu))) == []
    assert getattr(decoder.stats, counter) == 1


def test_general_ciphering_is_not_mistaken_for_a_reading() -> None:
    """general-ciphering (0xDD) has another layout; it is counted as unknown."""
    decoder = MeterDecoder("lge450", key=synthetic.KEY)

    assert decoder.feed(synthetic.hdlc_single(b"\xdd\x00\x01\x02")) == []
    assert decoder.stats.unknown_layouts == 1


@pytest.mark.parametrize("key", ["00112233", "zz" * 16, "00" * 17])
def test_malformed_key_is_refused_up_front(key: str) -> None:
    """A key that is not 32 hex characters is a usage error, raised before any data arrives."""
    with pytest.raises(KeyFormatError):
        MeterDecoder("lge450", key=key)


def test_key_may_be_pasted_with_separators() -> None:
    """Keys copied from operator letters often have spaces or dashes between bytes."""
    spaced = " ".join(f"{b:02X}" for b in synthetic.KEY)
    decoder = MeterDecoder("lge450", key=spaced, auth_key=synthetic.AUTH_KEY)

    assert (
        len(
            decoder.feed(b"".join(synthetic.hdlc_gbt(synthetic.ciphered(synthetic.notification()))))
        )
        == 1
    )
