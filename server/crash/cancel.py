"""Cancellation that Python 3.11 can lose, made reliable for the Crash loops.

`asyncio.wait_for` (which redis-py wraps around socket writes) returns the
result instead of raising CancelledError when the task is cancelled just as
the awaited call completes (fixed in Python 3.12). The request is still
counted by `Task.cancelling()`: the long-running loops check it at every step,
so stopping an instance always stops its round loop.

The loops run in an attempt task of the supervisor (server/supervise.py): a
stray count left there by some other code ends that attempt only, and the
supervisor starts another. The Crash loops use no TaskGroup, which on 3.11
leaves such a stray count when a child fails after the block's body ended.
"""

import asyncio


def check_cancelled() -> None:
    """Raise CancelledError if the current task was asked to stop."""
    task = asyncio.current_task()
    if task is not None and task.cancelling() > 0:
        raise asyncio.CancelledError
