"""The batch runners: where the engine's batches run, and how events are grouped into them.

Each runner is handed the engine's commit function (it never imports the engine):

- :class:`ThreadRunner`: writer threads taking what callers on any thread submitted
  (group commit: concurrent events share one transaction);
- :class:`InlineRunner`: SQLite on the service's event loop: the loop decides the
  batch itself, and only tries the write lock, never waits for it;
- :class:`DriverLoopRunner`: PostgreSQL on the event loop (async psycopg), up to
  ``writers`` batches at once, a closed burst shared between the free runners.

Every runner ends each item resolved or failed: a caller never waits forever.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from safeguard.policy.events import MessageEvent, Outcome
from safeguard.store.db import is_disconnect

log = structlog.get_logger("safeguard.policy")

INLINE_LOCK_RETRY_S = 0.0005  # while another process holds the SQLite write lock
LOOP_SPLIT_MIN = 8  # events a loop batch takes at least, when more are queued (see batch_share)
# Text a batch decided on the event loop may hold: scoring is linear in the text
# (about 1-2 us a character at worst), so this bounds how long one batch keeps the
# loop from answering other requests, whatever senders put in their messages.
LOOP_BATCH_TEXT_CHARS = 64_000

Queued = list[tuple[MessageEvent, "asyncio.Future[Outcome]"]]


class Pending:
    """One submitted event waiting for its batch to commit."""

    __slots__ = ("event", "future")

    def __init__(self, event: MessageEvent) -> None:
        self.event = event
        self.future: Future[Outcome] = Future()

    def resolve(self, outcome: Outcome) -> None:
        """Answer the caller (once)."""
        if not self.future.done():
            self.future.set_result(outcome)

    def fail(self, error: BaseException) -> None:
        """Fail the caller (once)."""
        if not self.future.done():
            self.future.set_exception(error)


def within_text_budget(queued: Queued, limit: int) -> int:
    """How many of the first ``limit`` queued events fit in ``LOOP_BATCH_TEXT_CHARS``
    (always at least one)."""
    total = 0
    for count, (event, _) in enumerate(queued[:limit]):
        total += len(event.text)
        if total > LOOP_BATCH_TEXT_CHARS and count:
            return count
    return min(limit, len(queued))


def batch_share(queued: int, runners: int, busy: int, max_batch: int) -> int:
    """How many queued events the next loop batch takes: a share for each runner free to
    take one, at least ``LOOP_SPLIT_MIN``, at most ``max_batch``.

    A closed burst of requests (every client waiting for an answer) would otherwise
    make one batch, and the process would have nothing to do while the database
    works on it; split, one batch is decided while the database reads or writes another.
    """
    free = max(1, runners - busy)
    share = -(-queued // free)
    return min(max_batch, max(LOOP_SPLIT_MIN, share))


def settle(taken: Queued, pending: list[Pending]) -> None:
    """Pass each finished batch item's outcome (or error) on to the loop's future."""
    for (_, future), item in zip(taken, pending, strict=True):
        if future.done():
            continue
        error = item.future.exception()
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(item.future.result())


def _take(queued: Queued, size: int) -> tuple[Queued, list[Pending]]:
    taken = queued[:size]
    del queued[:size]
    return taken, [Pending(event) for event, _ in taken]


class ThreadRunner:
    """Writer threads: batches of up to ``max_batch`` submitted events, each committed by
    ``commit`` (which resolves or fails every item)."""

    def __init__(self, commit: Callable[[list[Pending]], object], *, threads: int, max_batch: int) -> None:
        self.commit = commit
        self.threads = threads
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[Pending | None] = queue.SimpleQueue()
        self._running: list[threading.Thread] = []
        self._lock = threading.Lock()

    def submit(self, event: MessageEvent) -> Future[Outcome]:
        """Queue ``event``; the future resolves once its decision is committed."""
        if not self._running:
            self._start()
        pending = Pending(event)
        self._queue.put(pending)
        return pending.future

    def close(self) -> None:
        """Stop the threads once the queued events are done."""
        with self._lock:
            for _ in self._running:
                self._queue.put(None)
            for thread in self._running:
                thread.join(timeout=30)
            self._running = []

    def _start(self) -> None:
        with self._lock:
            if not self._running:
                self._running = [
                    threading.Thread(target=self._loop, name=f"decisions-{i}", daemon=True)
                    for i in range(self.threads)
                ]
                for thread in self._running:
                    thread.start()

    def _loop(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < self.max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._queue.put(None)
                    break
                batch.append(item)
            try:
                self.commit(batch)
            except BaseException as exc:  # never leave a caller waiting
                for pending in batch:
                    pending.fail(exc)


class InlineRunner:
    """SQLite on the event loop: each batch is decided without the write lock first
    (``prepare``), then committed (``commit``) once the lock could be taken; the lock is
    tried, never waited for, so the loop keeps serving requests while another process writes."""

    def __init__(
        self,
        prepare: Callable[[list[MessageEvent]], Any],
        commit: Callable[[list[Pending], Any], object],
        *,
        try_lock: Callable[[], bool],
        unlock: Callable[[], None],
        max_batch: int,
    ) -> None:
        self.prepare = prepare
        self.commit = commit
        self.try_lock = try_lock
        self.unlock = unlock
        self.max_batch = max_batch
        self._queue: Queued = []
        self._task: asyncio.Task[None] | None = None

    async def decide(self, event: MessageEvent) -> Outcome:
        """Decide ``event`` with the batches this loop runs; returns once committed."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Outcome] = loop.create_future()
        self._queue.append((event, future))
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._batches())
        return await future

    async def _batches(self) -> None:
        await asyncio.sleep(0)  # requests already read join this batch
        while self._queue:
            taken, pending = _take(self._queue, within_text_budget(self._queue, self.max_batch))
            prepared = self.prepare([item.event for item in pending])
            while not self.try_lock():
                await asyncio.sleep(INLINE_LOCK_RETRY_S)
            try:
                try:
                    self.commit(pending, prepared)
                except Exception as exc:  # never leave a caller waiting
                    for item in pending:
                        item.fail(exc)
            finally:
                self.unlock()
            settle(taken, pending)
            await asyncio.sleep(0)


class DriverLoopRunner:
    """PostgreSQL on the event loop: up to ``writers`` batches at once, each on one of
    ``engine``'s connections, decided and stored by ``attempt`` (which resolves every item
    or raises); a batch whose connection outlived a database restart runs again once."""

    def __init__(
        self,
        engine: AsyncEngine,
        attempt: Callable[[AsyncConnection, list[Pending]], Awaitable[None]],
        *,
        writers: int,
        max_batch: int,
    ) -> None:
        self.engine = engine
        self.attempt = attempt
        self.writers = writers
        self.max_batch = max_batch
        self._queue: Queued = []
        self._tasks = 0  # running _batches; counted down as each one finds no work
        self._busy = 0  # of those, the ones deciding a batch now
        self._running: set[asyncio.Task[None]] = set()

    async def decide(self, event: MessageEvent) -> Outcome:
        """Decide ``event`` in the next batch a free runner takes; returns once committed."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Outcome] = loop.create_future()
        self._queue.append((event, future))
        if self._tasks < self.writers:
            self._tasks += 1
            task = loop.create_task(self._batches())
            self._running.add(task)
            task.add_done_callback(self._running.discard)
        return await future

    async def drain(self) -> None:
        """Return once the queued batches have finished."""
        while self._tasks or self._queue:
            await asyncio.sleep(0.01)

    async def _batches(self) -> None:
        try:
            await asyncio.sleep(0)  # requests already read join this batch
            # No await between the last check of the queue and the count going down:
            # an event queued while the count is at its limit always finds a runner.
            while self._queue:
                size = batch_share(len(self._queue), self._tasks, self._busy, self.max_batch)
                taken, pending = _take(self._queue, within_text_budget(self._queue, size))
                self._busy += 1
                try:
                    await self._run(pending)
                finally:
                    self._busy -= 1
                settle(taken, pending)
        finally:
            self._tasks -= 1

    async def _run(self, pending: list[Pending]) -> None:
        for attempt in range(2):
            try:
                async with self.engine.connect() as connection:
                    await self.attempt(connection, pending)
            except Exception as exc:
                if attempt == 0 and is_disconnect(exc):
                    # A pooled connection outlived a database restart: the
                    # batch again on a new one (decisions are idempotent).
                    log.warning("database connection lost; batch retried", error=type(exc).__name__)
                    continue
                for item in pending:  # never leave a caller waiting
                    item.fail(exc)
            break
