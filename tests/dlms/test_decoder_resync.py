"""Fast resynchronisation after garbage, for every framing (issue 8 item 4)."""

from __future__ import annotations

import random

from capture_vectors import load, names
import pytest
import synthetic

from custom_components.smartmeter_datacollector.dlms import MeterDecoder, Reading
from custom_components.smartmeter_datacollector.dlms.apdu import notification_end
from smartmeter_devtools.framing_encode import iec62056_21_readout, mbus_frames


def _apdus(count: int) -> list[bytes]:
    return [
        synthetic.notification(synthetic.pairs_body(energy=n), invoke_id=n) for n in range(count)
    ]


def _energies(readings: list[Reading]) -> list[int | float | str]:
    return [r.values["1-0:1.8.0"].value for r in readings]


def test_bare_apdus_a_stray_byte_costs_nothing() -> None:
    """Kaifa Salzburg style: intact, 0x00, five intact; the five are found by their structure."""
    first, *rest = _apdus(6)
    decoder = MeterDecoder("kaifa_mbus")

    readings = decoder.feed(first + b"\x00" + b"".join(rest))
    # The last one is confirmed by the next APDU's start or by the line going quiet.
    readings += decoder.gap()
    assert _energies(readings) == list(range(6))


def test_bare_apdus_resync_on_time_alone() -> None:
    """With arrival times, a quiet line confirms the APDU before it: the caller needs no gap()."""
    apdus = _apdus(4)
    decoder = MeterDecoder("kaifa_mbus")

    readings = decoder.feed(apdus[0], now=1.0)
    # Noise, then an APDU: nothing confirms yet that it ended where its structure says.
    assert decoder.feed(b"\x00\x13" + apdus[1], now=2.0) == []
    # The next feed comes after a quiet line: the APDU before it is confirmed.
    readings += decoder.feed(apdus[2], now=3.0)
    readings += decoder.feed(apdus[3], now=3.1)
    readings += decoder.feed(b"", now=4.0)
    assert _energies(readings) == [0, 1, 2, 3]


@pytest.mark.parametrize(
    ("garbage", "expected"),
    [
        (b"\x00", [0, 1, 2]),
        (b"\xff\x00", [0, 1, 2]),
        # An APDU tag right after it: another message began there, damaged or not.
        (b"\x0f", [0, 1, 2]),
        (b"\xdb\x08", [0, 1, 2]),
        (b"\x0f\x00\x00\x00\x01\x0c", [0, 1, 2]),
        # Anything else after an APDU: its end cannot be told from an APDU changed so that it
        # ends early (the rest of a value follows it), so it is not trusted; the ones behind
        # the garbage still decode.
        (b"\x55\x0f", [1, 2]),
        (b"\x31\x32\x33", [1, 2]),
    ],
)
def test_bare_apdus_after_a_garbage_start_byte(garbage: bytes, expected: list[int]) -> None:
    """Garbage that begins like an APDU does not hold back the APDUs behind it."""
    apdus = _apdus(3)
    decoder = MeterDecoder("kaifa_mbus", key=synthetic.KEY)

    readings = decoder.feed(apdus[0] + garbage + apdus[1] + apdus[2]) + decoder.gap()
    assert _energies(readings) == expected


def test_bare_ciphered_apdus_resync() -> None:
    """general-glo-ciphering streams: after noise the next ciphered APDU is found and opened."""
    apdus = [synthetic.ciphered(a, counter=n) for n, a in enumerate(_apdus(4))]
    decoder = MeterDecoder("kaifa_mbus", key=synthetic.KEY, auth_key=synthetic.AUTH_KEY)

    readings = decoder.feed(apdus[0] + b"\x00" + b"".join(apdus[1:])) + decoder.gap()
    assert _energies(readings) == [0, 1, 2, 3]
    # Garbage right after one: its verified GCM tag shows it is whole, so it is kept too.
    readings = decoder.feed(apdus[0] + b"\x55\xaa" + b"".join(apdus[1:])) + decoder.gap()
    assert _energies(readings) == [0, 1, 2, 3]


def test_a_value_that_looks_like_an_apdu_start_is_not_taken_for_one() -> None:
    """Hunting starts only where a whole APDU parses and the next one follows it."""
    apdus = _apdus(3)
    decoder = MeterDecoder("kaifa_mbus")
    # Cut the middle APDU's head: its body holds 0x0F (Integer8) tags and OBIS codes.
    readings = decoder.feed(apdus[0] + apdus[1][7:] + apdus[2]) + decoder.gap()
    assert _energies(readings)[-1:] == [2]
    assert 1 not in _energies(readings)


@pytest.mark.parametrize("name", names(framing="apdu", must_reject=False))
def test_shared_bare_apdu_capture_after_a_stray_byte(name: str) -> None:
    """A real bare-APDU capture repeated with a stray byte in between: every copy decodes."""
    capture = load(name)
    meta = capture.meta
    decoder = MeterDecoder(meta["profile"], key=meta["key"], auth_key=meta["auth_key"])
    expected = MeterDecoder(meta["profile"], key=meta["key"], auth_key=meta["auth_key"]).feed(
        capture.data
    )

    readings = decoder.feed(capture.data + b"\x00" + capture.data) + decoder.gap()
    readings += decoder.feed(b"\x00" + capture.data + capture.data) + decoder.gap()
    assert readings == expected * 4
    # Without quiet lines, a stray byte after every copy: nothing lost either.
    again = MeterDecoder(meta["profile"], key=meta["key"], auth_key=meta["auth_key"])
    stream = capture.data + b"\x00" + capture.data + b"\x00" + capture.data + capture.data
    assert again.feed(stream) + again.gap() == expected * 4


def test_mbus_garbage_claiming_a_long_frame_does_not_hold_the_next_one() -> None:
    """A garbage `68 FF FF 68` would wait for 261 bytes; the frame behind it decodes at once."""
    frames = mbus_frames(synthetic.notification())
    decoder = MeterDecoder("kaifa_mbus")

    assert len(decoder.feed(b"\x68\xff\xff\x68\x00" + b"".join(frames))) == 1


def test_hdlc_mutated_frame_then_intact_ones() -> None:
    """Whatever a mutation did to one frame, the next intact frame decodes at once."""
    frame = synthetic.hdlc_single(synthetic.notification())
    rng = random.Random(8)
    for _ in range(200):
        broken = bytearray(frame)
        for _ in range(rng.randint(1, 4)):
            broken[rng.randrange(len(broken))] = rng.randrange(256)
        cut = rng.randrange(1, len(broken))
        decoder = MeterDecoder("generic")
        readings = decoder.feed(bytes(broken[:cut]) + frame)
        assert readings[-1:] == MeterDecoder("generic").feed(frame)


def test_iec_readout_after_garbage_is_at_most_one_late() -> None:
    """Unframed text cannot show where a readout starts: the one after the next always decodes."""
    lines = ["0.0.0(110002267)", "1.8.0(31.5*kWh)", "0.9.1(21:10:29)", "0.9.2(24-03-21)"]
    readout = "".join(f"{line}\r\n" for line in [*lines, "!"]).encode()
    decoder = MeterDecoder("siemens_td3511")

    decoder.feed(b"\x91garbage(" + readout[:20])
    assert len(decoder.feed(readout) + decoder.feed(readout)) >= 1
    framed = MeterDecoder("siemens_td3511")
    assert len(framed.feed(b"\x91garbage(" + iec62056_21_readout(lines))) == 1


def test_a_damaged_push_at_a_read_edge_waits_when_no_skeleton_can_be_learned() -> None:
    """Fuzz seed 13 (long run): an enum tag flipped to double-long ended the push 252 bytes early.

    Nothing could be learned from this meter's pushes (untagged descriptors), so nothing vouched
    for that end, yet a read ending exactly there took it: a reading without most values. Once
    pushes were read, such a push waits for its successor or a quiet line, as an unlike one.
    """
    capture = load("sagemcom-xt211-apdu")
    decoder = MeterDecoder("generic")
    whole = decoder.feed(capture.data) + decoder.gap()
    damaged = bytearray(capture.data)
    damaged[11] ^= 0x10  # the first enum (0x16) read as a double-long-unsigned (0x06)
    early = notification_end(bytes(damaged), 0)
    assert early < len(damaged)

    readings = decoder.feed(bytes(damaged[:early]))
    readings += decoder.feed(bytes(damaged[early:]) + capture.data) + decoder.gap()
    assert readings == whole
