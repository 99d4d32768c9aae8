"""Blocking calls (Google's client libraries) awaited from a job without holding the process hostage.

`asyncio.to_thread` runs a call on the loop's default executor, and `asyncio.run()` joins that
executor's threads before it returns. A call still blocked when its awaiter is cancelled (a SIGTERM's
grace period ran out) therefore kept the whole process alive: a BigQuery DELETE retrying 502s for its
50-minute budget kept a SIGTERMed quota-cleanup running long after Cloud Run's 10 s. Here each call gets a
daemon thread of its own: cancelling the await abandons the call, and the process exits with its summary.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


async def in_thread(fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()
    context = contextvars.copy_context()

    def deliver(setter: Callable[[Any], None], value: Any) -> None:
        if not future.done():  # cancelled meanwhile: nobody is waiting for this answer any more
            setter(value)

    def work() -> None:
        try:
            result = context.run(fn, *args, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - handed to the awaiting coroutine, which decides
            outcome: tuple[Callable[[Any], None], Any] = (future.set_exception, exc)
        else:
            outcome = (future.set_result, result)
        with contextlib.suppress(RuntimeError):  # the loop has closed: the run ended without this call
            loop.call_soon_threadsafe(deliver, *outcome)

    threading.Thread(target=work, name=f"housejobs-{getattr(fn, '__name__', 'call')}", daemon=True).start()
    return await future
