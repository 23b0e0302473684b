"""General block transfer reassembly (DLMS Green Book, general-block-transfer service, tag 0xE0).

A push line is receive-only, so blocks are never acknowledged; instead the block sequence is
checked strictly. gurux and the seed tool skip that check and turn a duplicated or reordered block
into misaligned values, which is worse than losing one push.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from .lengths import read_length

TAG = 0xE0
# Block control (Green Book, general-block-transfer): bit 7 last block, bit 6 streaming.
LAST_BLOCK = 0x80
STREAMING = 0x40
# Block number (2 bytes after tag and control) of the block that opens a message.
_FIRST_BLOCK_NUMBER = (1).to_bytes(2, "big")
# One message never needs more: E570 pushes are ~500 bytes; a cap keeps garbage from growing memory.
MAX_MESSAGE_BYTES = 16384


class BlockOutcome(Enum):
    """What a block did to the message being assembled."""

    APPENDED = "appended"
    COMPLETE = "complete"
    IGNORED = "ignored"  # block > 1 with no message open: nothing to drop
    DROPPED = "dropped"  # sequence broken, malformed or oversized: the open message is gone


def is_first_block(block: bytes) -> bool:
    """Whether a block is number 1, the one that opens a message."""
    return block[2:4] == _FIRST_BLOCK_NUMBER


@dataclass(slots=True)
class BlockAssembler:
    """Joins the blocks of one message, dropping it on any sequence fault."""

    _parts: list[bytes] | None = None
    _next_number: int = 0
    _size: int = 0

    @property
    def in_progress(self) -> bool:
        """Whether blocks of an unfinished message are held."""
        return self._parts is not None

    def reset(self) -> bool:
        """Forget the open message; returns whether there was one."""
        had_message = self._parts is not None
        self._parts = None
        self._size = 0
        return had_message

    def add(self, block: bytes) -> tuple[BlockOutcome, bytes | None]:
        """Add one E0 block; on COMPLETE the joined APDU comes with it."""
        if len(block) < 6 or block[0] != TAG:
            return self._drop()
        control = block[1]
        number = (block[2] << 8) | block[3]
        parsed = read_length(block, 6)
        if parsed is None:
            return self._drop()
        length, data_start = parsed
        if data_start + length != len(block):
            return self._drop()
        data = block[data_start:]
        if number == 1:
            # A new first block starts over even when an earlier message never finished.
            self._parts = []
            self._size = 0
            self._next_number = 1
        parts = self._parts
        if parts is None:
            return BlockOutcome.IGNORED, None
        if number != self._next_number:
            return self._drop()
        self._size += len(data)
        if self._size > MAX_MESSAGE_BYTES:
            return self._drop()
        parts.append(data)
        self._next_number += 1
        if control & LAST_BLOCK:
            message = b"".join(parts)
            self.reset()
            return BlockOutcome.COMPLETE, message
        return BlockOutcome.APPENDED, None

    def _drop(self) -> tuple[BlockOutcome, None]:
        self.reset()
        return BlockOutcome.DROPPED, None
