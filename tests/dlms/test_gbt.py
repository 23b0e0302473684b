"""General block transfer (Green Book, tag 0xE0) on its own: strict sequence, round trip."""

from __future__ import annotations

from hypothesis import given, strategies as st

from custom_components.smartmeter_datacollector.dlms.gbt import BlockAssembler, BlockOutcome
from smartmeter_devtools.apdu_encode import gbt_blocks


@given(apdu=st.binary(min_size=1, max_size=3000), size=st.integers(min_value=1, max_value=300))
def test_round_trip(apdu: bytes, size: int) -> None:
    """Blocks numbered from 1, the last one flagged: joined they are the APDU again."""
    assembler = BlockAssembler()
    blocks = gbt_blocks(apdu, size)
    outcomes = [assembler.add(block) for block in blocks]

    assert [o for o, _ in outcomes[:-1]] == [BlockOutcome.APPENDED] * (len(blocks) - 1)
    assert outcomes[-1] == (BlockOutcome.COMPLETE, apdu)
    assert not assembler.in_progress


def test_sequence_faults_drop_the_message() -> None:
    """A missing, duplicated or reordered block drops it; a late block alone is ignored."""
    blocks = gbt_blocks(bytes(range(100)), 20)
    for order in ([0, 2], [0, 1, 1], [0, 2, 1]):
        assembler = BlockAssembler()
        outcomes = [assembler.add(blocks[i])[0] for i in order]
        assert BlockOutcome.DROPPED in outcomes, order
        assert not assembler.in_progress
    assert BlockAssembler().add(blocks[3]) == (BlockOutcome.IGNORED, None)


def test_a_block_whose_length_disagrees_is_dropped() -> None:
    """The A-XDR length of the block data must match the bytes that came."""
    block = gbt_blocks(bytes(50), 50)[0]
    assembler = BlockAssembler()

    assert assembler.add(block[:-1])[0] is BlockOutcome.DROPPED
    assert assembler.add(block + b"\x00")[0] is BlockOutcome.DROPPED
