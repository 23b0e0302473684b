"""Seed messages of the fuzz campaign: fresh pushes of every profile and the shared captures.

A stream is what one long-lived decoder sees: one profile, one pair of keys, one framing. Encoded
streams also keep each message's plaintext APDU and a way to frame (and cipher) an APDU again,
so a mutated A-XDR body can be re-framed with valid checksums and a valid GCM tag.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
import json
from pathlib import Path

from ._decoder import PROFILES, STX, parse_key
from .apdu_encode import glo_ciphering
from .framing_encode import iec62056_21_block
from .load_model import Household, Snapshot
from .push_encode import MeterEncoder
from .readout_model import ReadoutEncoder

# Keys of the encrypted streams; the wrong-key messages use the bitwise complement.
KEY = bytes(range(0x10, 0x20))
AUTH_KEY = bytes(range(0xA0, 0xB0))
# Meters whose observed pushes cipher without a tag (SC 0x20); the others use 0x30.
_UNAUTHENTICATED = frozenset(("lge570", "kaifa_mbus"))
_IEC_PROFILE = "siemens_td3511"
# Bare APDUs as the Kaifa meters of Salzburg Netz send them: no transport framing at all.
_BARE_APDU_PROFILE = "kaifa_mbus"
_START = datetime(2026, 3, 1, 6, 0, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Message:
    """One intact message: its transport frames and, for encoded ones, the plaintext APDU."""

    frames: tuple[bytes, ...]
    apdu: bytes | None = None

    @property
    def data(self) -> bytes:
        """The message as it goes on the wire."""
        return b"".join(self.frames)


@dataclass(slots=True)
class Stream:
    """What one long-lived decoder is fed: one profile, keys and framing."""

    name: str
    profile: str
    framing: str  # "hdlc", "mbus", "apdu" or "iec62056-21"
    key: bytes | None
    auth_key: bytes | None
    messages: list[Message]
    # Plaintext APDU -> transport frames (ciphered with the stream's keys): re-framed mutants.
    reframe: Callable[[bytes], tuple[bytes, ...]] | None = None
    # The same pushes ciphered with a key the decoder does not have.
    wrong_key: list[Message] = field(default_factory=list)


class _RecordingEncoder(MeterEncoder):
    """The project's encoder, remembering the plaintext APDU of the last push."""

    last_apdu = b""

    def _frames(self, apdu: bytes) -> list[bytes]:
        self.last_apdu = apdu
        return super()._frames(apdu)

    def frame(self, apdu: bytes) -> tuple[bytes, ...]:
        """Frame an APDU the way this meter does."""
        return tuple(super()._frames(apdu))


def _snapshots(seed: int, profile: str, count: int) -> list[Snapshot]:
    household = Household(seed=seed, start=_START, tz=UTC)
    step = timedelta(seconds=PROFILES[profile].push_interval)
    return [household.advance(_START + step * index) for index in range(count)]


def _cipher(key: bytes, auth_key: bytes | None, title: bytes) -> Callable[[bytes, int], bytes]:
    def cipher(apdu: bytes, counter: int) -> bytes:
        return glo_ciphering(
            apdu, key=key, system_title=title, invocation_counter=counter, auth_key=auth_key
        )

    return cipher


def encoded_streams(seed: int, count: int = 12) -> list[Stream]:
    """Plain and ciphered pushes of every encoder profile, bare APDUs and IEC 62056-21 text."""
    from .meter_model import LAYOUTS  # noqa: PLC0415  (only the campaign needs the layouts)

    streams: list[Stream] = []
    wrong = bytes(b ^ 0xFF for b in KEY)
    for profile in sorted(LAYOUTS):
        encoder = _RecordingEncoder(profile, tz=UTC, seed=seed)
        apdus = []
        for snapshot in _snapshots(seed, profile, count):
            encoder.encode(snapshot)
            apdus.append(encoder.last_apdu)
        auth = None if profile in _UNAUTHENTICATED else AUTH_KEY
        title = encoder.system_title
        right, bad = _cipher(KEY, auth, title), _cipher(wrong, auth, title)
        framing = PROFILES[profile].framing

        def ciphered_frames(
            apdu: bytes,
            frame: Callable[[bytes], tuple[bytes, ...]] = encoder.frame,
            cipher: Callable[[bytes, int], bytes] = right,
        ) -> tuple[bytes, ...]:
            return frame(cipher(apdu, 0x1000))

        streams.append(
            Stream(
                name=f"{profile}",
                profile=profile,
                framing=framing,
                key=None,
                auth_key=None,
                messages=[Message(encoder.frame(a), a) for a in apdus],
                reframe=encoder.frame,
                wrong_key=[Message(encoder.frame(bad(a, n + 1))) for n, a in enumerate(apdus)],
            )
        )
        streams.append(
            Stream(
                name=f"{profile}+enc",
                profile=profile,
                framing=framing,
                key=KEY,
                auth_key=auth,
                messages=[Message(encoder.frame(right(a, n + 1)), a) for n, a in enumerate(apdus)],
                reframe=ciphered_frames,
                wrong_key=[Message(encoder.frame(bad(a, n + 1))) for n, a in enumerate(apdus)],
            )
        )
        if profile == _BARE_APDU_PROFILE:
            streams.extend(_bare_apdu_streams(profile, apdus, right, bad, auth))
    streams.append(_iec_stream(seed, count))
    return streams


def _bare_apdu_streams(
    profile: str,
    apdus: list[bytes],
    right: Callable[[bytes, int], bytes],
    bad: Callable[[bytes, int], bytes],
    auth: bytes | None,
) -> list[Stream]:
    wrong_key = [Message((bad(a, n + 1),)) for n, a in enumerate(apdus)]
    return [
        Stream(
            name="apdu",
            profile=profile,
            framing="apdu",
            key=None,
            auth_key=None,
            messages=[Message((a,), a) for a in apdus],
            reframe=lambda apdu: (apdu,),
            wrong_key=wrong_key,
        ),
        Stream(
            name="apdu+enc",
            profile=profile,
            framing="apdu",
            key=KEY,
            auth_key=auth,
            messages=[Message((right(a, n + 1),), a) for n, a in enumerate(apdus)],
            reframe=lambda apdu: (right(apdu, 0x1000),),
            wrong_key=wrong_key,
        ),
    ]


def _iec_stream(seed: int, count: int) -> Stream:
    encoder = ReadoutEncoder(tz=UTC, seed=seed)
    messages = [
        Message(encoder.encode(snapshot).frames)
        for snapshot in _snapshots(seed, _IEC_PROFILE, count)
    ]
    return Stream("iec", _IEC_PROFILE, "iec62056-21", None, None, messages)


def capture_streams(folder: Path | None) -> list[Stream]:
    """The shared captures (one message each), grouped by profile, keys and framing.

    Read at run time and never copied: an absent folder gives no streams.
    """
    if folder is None or not folder.is_dir():
        return []
    groups: dict[tuple[str, str | None, str | None, str], Stream] = {}
    for sidecar in sorted(folder.glob("*.json")):
        hex_file = sidecar.with_suffix(".hex")
        if not hex_file.exists():
            continue
        meta = json.loads(sidecar.read_text(encoding="utf-8"))
        group = (meta["profile"], meta.get("key"), meta.get("auth_key"), meta["framing"])
        if group not in groups:
            key, auth = meta.get("key"), meta.get("auth_key")
            groups[group] = Stream(
                name=f"capture:{meta['profile']}:{meta['framing']}"
                + (":enc" if key else "")
                + (":auth" if auth else ""),
                profile=meta["profile"],
                framing=meta["framing"],
                key=parse_key(key),
                auth_key=parse_key(auth),
                messages=[],
            )
        frames = tuple(bytes.fromhex(line) for line in hex_file.read_text(encoding="ascii").split())
        if meta["framing"] == "iec62056-21" and STX not in frames[0][:1]:
            # The files hold only the data lines; on the line a mode C readout always travels in
            # its block (IEC 62056-21 6.3.3: STX, lines, "!", ETX, BCC), so it is fuzzed that way.
            frames = (iec62056_21_block(STX, b"".join(frames)),)
        groups[group].messages.append(Message(frames))
    return list(groups.values())
