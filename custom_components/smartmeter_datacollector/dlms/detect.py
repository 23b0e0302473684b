"""Which meter is on the line: framing, maker and push list, from bytes heard at one line setting.

Sans-I/O like the decoder: the caller listens at each of `PUSH_LINE_SETTINGS` (and polls at
`READOUT_LINE_SETTING`) and hands what it heard to `detect`. On a real line, bytes sent at another
speed arrive as noise, so only profiles with the baud rate heard are candidates; parity cannot be
told from clean bytes (and Linux ptys drop it), so the profile, not the try, decides it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Final

from . import hdlc, mbus
from .cipher import CIPHERED_TAGS, SYSTEM_TITLE_LENGTH
from .decoder import MeterDecoder
from .framing import Framing
from .identity import names_only_sub_meters, own_meter_id
from .models import Profile, SerialSettings
from .profiles import PROFILES

if TYPE_CHECKING:
    from collections.abc import Iterable

    from .models import DecoderStats, Reading

# What push meters use on their customer interfaces (CII/M-Bus 2400 8E1, Nordic HAN 2400 8N1,
# P1 DLMS 9600 and 115200 8N1), most common first.
PUSH_LINE_SETTINGS: Final = (
    SerialSettings(2400, 8, "E", 1),
    SerialSettings(2400, 8, "N", 1),
    SerialSettings(9600, 8, "N", 1),
    SerialSettings(115200, 8, "N", 1),
)
# Polled meters answer an IEC 62056-21 request at 300 7E1 (clause 6.3, mode C sign-on).
READOUT_PROFILE: Final = "siemens_td3511"
READOUT_LINE_SETTING: Final = PROFILES[READOUT_PROFILE].serial
GENERIC: Final = "generic"
# FLAG manufacturer ids (first three letters of the system title or logical device name) and the
# profiles of that maker; a maker not listed here is read as the generic profile.
MAKER_PROFILES: Final = {
    "LGZ": ("lge450", "lge570", "lge360"),
    "ISK": ("iskraam550",),
    "KAM": ("kamstrup_han",),
    "KFM": ("kaifa_mbus",),
    "SIE": (READOUT_PROFILE,),
}
# The E450's push list names the meter twice (logical device name and 0-0:96.1.1 serial); the
# E570's 2026 VSE list sends the logical device name only. Both run at 2400 8E1 over HDLC.
_E450_SERIAL_OBIS: Final = "0-0:96.1.1"
_LDN_OBIS: Final = "0-0:42.0.0"


@dataclass(frozen=True, slots=True)
class Detection:
    """What the bytes heard at one line setting say about the meter."""

    profile: Profile  # the meter type, with the line settings it was heard at
    encrypted: bool  # messages are ciphered and the keys given do not open them (or none)
    manufacturer: str | None
    reading: Reading | None
    stats: DecoderStats

    @property
    def meter_id(self) -> str | None:
        """The meter's own id (never a sub-meter's), or its system title when it sends none."""
        if self.reading is None:
            return None
        return own_meter_id(self.reading) or self.reading.system_title


def system_title_maker(data: bytes) -> str | None:
    """The FLAG id in the system title of a ciphered APDU (Green Book 9.2.7.2), if one is there."""
    for tag in CIPHERED_TAGS:
        start = 0
        while (pos := data.find(bytes((tag, SYSTEM_TITLE_LENGTH)), start)) >= 0:
            maker = data[pos + 2 : pos + 5]
            if len(maker) == 3 and maker.isalpha() and maker.isupper():
                return maker.decode("ascii")
            start = pos + 1
    return None


def framing_of(data: bytes) -> Framing | None:
    """Name the transport: "mbus" for an EN 13757-2 long frame start, "hdlc" for a type 3 opening."""
    for pos in range(len(data) - 3):
        if (
            data[pos] == mbus.START
            and data[pos + 3] == mbus.START
            and data[pos + 1] == data[pos + 2]
        ):
            return Framing.MBUS
        if data[pos] == hdlc.FLAG and data[pos + 1] >> 4 == hdlc.FORMAT_TYPE_3:
            return Framing.HDLC
    return None


def _candidates(baudrate: int) -> list[Profile]:
    return [
        profile
        for profile in PROFILES.values()
        if profile.name != READOUT_PROFILE and profile.serial.baudrate == baudrate
    ] or [PROFILES[GENERIC]]


def _fits_push_list(profile: Profile, reading: Reading) -> bool:
    if profile.name == "lge450":
        return _E450_SERIAL_OBIS in reading.values or _LDN_OBIS not in reading.values
    if profile.name == "lge570":
        return _LDN_OBIS in reading.values and _E450_SERIAL_OBIS not in reading.values
    return True


def _is_own(profile: Profile, maker: str | None) -> bool:
    """The maker's own profile; a meter of an unlisted (or unnamed) maker is read as generic."""
    if maker is not None and maker in MAKER_PROFILES:
        return profile.name in MAKER_PROFILES[maker]
    return profile.name == GENERIC


def _score(
    profile: Profile, reading: Reading | None, maker: str | None, framing: str | None
) -> tuple[bool, ...]:
    """Higher is better: decodes, same framing, maker's own profile, fits its push list, generic."""
    return (
        reading is not None,
        framing is None or profile.framing == framing,
        _is_own(profile, maker),
        reading is not None and _fits_push_list(profile, reading),
        # A maker's profile that does not fit (a Nordic HDLC Kaifa) leaves the generic type.
        profile.name == GENERIC,
    )


def detect(
    data: bytes,
    heard_at: SerialSettings,
    key: str | None = None,
    auth_key: str | None = None,
    candidates: Iterable[Profile] | None = None,
) -> Detection | None:
    """Pick the profile that reads `data` best; None when no profile finds a single message.

    Keys are checked on the same bytes, so a key asked for after detection is verified on data
    already received. A generic meter keeps the line setting it was heard at.
    """
    best: tuple[tuple[int, ...], Detection] | None = None
    maker_hint = system_title_maker(data)
    framing = framing_of(data)
    for profile in candidates or _candidates(heard_at.baudrate):
        decoder = MeterDecoder(profile, key=key, auth_key=auth_key)
        readings = decoder.feed(data)
        # The latest push that speaks for the meter itself: an E450's M-Bus channel push names
        # only its gas meter, and judged alone it would leave the maker unknown.
        reading = next(
            (r for r in reversed(readings) if not names_only_sub_meters(r)),
            readings[-1] if readings else None,
        )
        stats = decoder.stats
        ciphered = stats.key_required + stats.decrypt_errors + stats.auth_errors
        if reading is None and not (ciphered or stats.unknown_layouts):
            continue
        maker = (reading.manufacturer if reading else None) or maker_hint
        score = _score(profile, reading, maker, framing)
        found = Detection(
            # The generic type keeps the line setting it was heard at.
            profile=replace(profile, serial=heard_at) if profile.name == GENERIC else profile,
            encrypted=reading is None and ciphered > 0,
            manufacturer=maker,
            reading=reading,
            stats=stats,
        )
        if best is None or score > best[0]:
            best = (score, found)
    return best[1] if best else None
