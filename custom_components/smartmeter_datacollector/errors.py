"""What the forms tell a user about keys and decoder counters: one home for config flow and repairs.

The key format is the decoder's (`dlms.keys.parse_key`); here it only becomes the form error to
show and the compact upper-case text an entry stores.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from .dlms import KeyFormatError, parse_key

if TYPE_CHECKING:
    from .dlms import DecoderStats

# Counters that condemn the keys, most specific first. key_required: nothing to decrypt with.
# auth_errors before decrypt_errors: the decoder counts an authentication failure only when the
# plaintext came out well-formed, which proves the encryption key right; a decrypt error can come
# from one damaged message. So with both counted, the authentication key is what to fix.
_KEY_ERRORS: Final = (
    ("key_required", "key_required"),
    ("auth_errors", "auth_failed"),
    ("decrypt_errors", "invalid_key"),
)
# Messages that decrypt (or need no key) but whose push list this meter type does not know. A
# meter that needs a key and never got one also fails to decode, so the key errors come first.
_LAYOUT_ERROR: Final = ("unknown_layouts", "unknown_layout")


class KeyFieldError(Exception):
    """A key field is not 16 bytes of hex; error is the translation key of the form error."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


def entry_key(value: str | None, error: str) -> str | None:
    """The key as an entry stores it (32 upper-case hex digits), None when the field is empty.

    Operators print keys in groups, so spaces, colons and dashes between bytes are accepted.
    """
    try:
        raw = parse_key(value or None)
    except KeyFormatError as err:
        raise KeyFieldError(error) from err
    return raw.hex().upper() if raw is not None else None


def key_error(stats: DecoderStats) -> str | None:
    """The form error the keys deserve after a decode attempt, or None if they are not at fault."""
    counters = stats.as_dict()
    return next((error for counter, error in _KEY_ERRORS if counters[counter]), None)


def key_failures(stats: DecoderStats) -> int:
    """How many messages the keys failed on so far (the counters `key_error` names)."""
    # getattr, not as_dict(): the coordinator asks on every chunk the port delivers.
    return sum(getattr(stats, counter) for counter, _ in _KEY_ERRORS)


def decode_error(stats: DecoderStats) -> str | None:
    """Why bytes that arrived made no reading: a key error, else an unknown layout, else None."""
    if error := key_error(stats):
        return error
    counter, error = _LAYOUT_ERROR
    return error if stats.as_dict()[counter] else None
