"""Stopping background tasks the one way every part of the integration does it."""

from __future__ import annotations

import asyncio


async def async_cancel_task(task: asyncio.Task[None] | None) -> None:
    """Cancel a background task and wait for it, unless we are being cancelled ourselves.

    Waiting lets the task release what it holds (a port, a broker connection) before the caller
    goes on; a cancellation aimed at the caller itself must still propagate.
    """
    if task is None:
        return
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        if (current := asyncio.current_task()) and current.cancelling():
            raise
