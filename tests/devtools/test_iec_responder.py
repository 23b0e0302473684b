"""The simulated TD-3511's side of an IEC 62056-21 mode C conversation, without a port."""

from __future__ import annotations

from smartmeter_devtools.framing_encode import iec62056_21_block
from smartmeter_devtools.iec_responder import ModeCMeter


def r2(dataset: bytes) -> bytes:
    return iec62056_21_block(0x01, b"R2\x02" + dataset) + b"\r\n"


class TestModeCMeter:
    """The conversation rules, without a port."""

    def meter(self) -> ModeCMeter:
        return ModeCMeter(
            "12345678",
            lambda: b"\x02readout\x03x",
            lambda: {"F001": ["1.8.0(1.000*kWh)"], "F009": ["1.7.0(0.5*kW)"]},
        )

    def signed_on(self, mode: bytes) -> tuple[ModeCMeter, list[bytes]]:
        meter = self.meter()
        assert meter.feed(b"/?!\r\n", 0) == [b"/SIE6TD3511\r\n"]
        return meter, meter.feed(b"\x0606" + mode + b"\r\n", 0)

    def test_data_readout_mode_sends_the_readout_once(self):
        meter, answers = self.signed_on(b"0")
        assert answers == [b"\x02readout\x03x"]
        assert meter.feed(r2(b"F001"), 1) == []  # back to idle: commands need a sign-on
        assert meter.data_messages == 1

    def test_programming_mode_prompts_then_answers_reads(self):
        meter, answers = self.signed_on(b"1")
        assert answers == [iec62056_21_block(0x01, b"P0\x02(12345678)")]
        assert meter.feed(r2(b"F009"), 1) == [iec62056_21_block(0x02, b"1.7.0(0.5*kW)\r\n")]
        assert meter.feed(iec62056_21_block(0x01, b"P1\x02(00000000)"), 2) == [b"\x06"]
        assert meter.feed(r2(b"F123"), 3) == [b"\x15"]  # no such dataset
        bad = bytearray(r2(b"F001"))
        bad[-3] ^= 0xFF  # BCC
        assert meter.feed(bytes(bad), 4) == [b"\x15"]
        assert meter.feed(iec62056_21_block(0x01, b"B0"), 5) == []
        assert meter.feed(r2(b"F001"), 6) == []
        assert meter.data_messages == 1

    def test_programming_mode_ends_after_inactivity(self):
        meter, _ = self.signed_on(b"1")
        assert meter.feed(r2(b"F001"), 60) != []
        assert meter.feed(r2(b"F001"), 60 + 91) == []

    def test_other_modes_and_garbage_get_no_answer(self):
        meter, answers = self.signed_on(b"2")
        assert answers == []
        assert meter.feed(bytes(range(256)) * 4, 1) == []
