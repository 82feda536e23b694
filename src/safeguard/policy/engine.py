"""The message and connection-request engine: its entry points and its transaction protocol.

``MessageEngine`` is the one path a message takes from any door (API, CLI, stream
worker) to a stored decision. The decision itself is :mod:`safeguard.policy.message_flow`;
the store's batch read and writes are :mod:`safeguard.store.batch`; where batches run
(writer threads, the event loop) is :mod:`safeguard.policy.runners`. This module holds
the protocol that ties them together:

1. a batch is first decided without locks (``_prepare``), from one read;
2. it is stored only if the conversations' versions and the idempotency keys it read
   are unchanged (``_store_prepared``: on a one-writer database checked and written
   under the write lock; otherwise one statement that checks each version as it
   writes and fails as a whole);
3. a batch that fails the check, and one that writes as it decides (escalations,
   confirmations, account risk), is decided again under the locks (``_transaction``);
4. a batch that fails as a whole is retried event by event, so one bad event fails alone
   (``_commit``). Decisions are committed before the caller is answered.

Deciding without locks first is skipped while most recent batches had to be decided
again (:class:`Optimism`).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, cast

import structlog
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import Session, sessionmaker

from safeguard.accounts import service as accounts
from safeguard.config import Settings
from safeguard.policy.batch_view import BatchView, batch_request
from safeguard.policy.events import Detector, MessageEvent, Outcome
from safeguard.policy.message_flow import EscalationHook, Flow, decide_in_batch, stored_outcome
from safeguard.policy.models import EscalationRow, MessageDecisionRow
from safeguard.policy.rules import decide_connection_request
from safeguard.policy.runners import DriverLoopRunner, InlineRunner, Pending, ThreadRunner
from safeguard.policy.types import Action, ConnectionRequestDecision
from safeguard.store.batch import BatchStore, LoopBatchStore, StoredDecision, batch_store
from safeguard.store.db import ConnectionLost, is_disconnect

__all__ = ["MessageEngine", "MessageEvent", "Optimism", "Outcome"]

log = structlog.get_logger("safeguard.policy")

# Opens a session; with ``True`` one whose statements each commit on their own.
Sessions = Callable[[bool], Session]


def _sessions_on(connection: Connection) -> Sessions:
    """Sessions on one connection (the loop engine's), switching it to and from autocommit."""
    default = connection.default_isolation_level

    def session(autocommit: bool = False) -> Session:
        connection.execution_options(isolation_level="AUTOCOMMIT" if autocommit else default)
        return Session(bind=connection, autoflush=False)

    return session


class Optimism:
    """Whether deciding a batch without locks is worth it now.

    It is wasted work when the batch must be decided again under the locks (a
    first contact or signal, an escalation, a confirmation, a race). That is rare
    on a platform that has been running, common in bursts (a new deployment, a
    wave of new accounts). While most recent attempts failed, batches go straight
    to the locked path, and every ``PROBE``-th one tries again.
    """

    PROBE = 8
    DECAY = 0.8

    def __init__(self) -> None:
        self.failure_rate = 0.0
        self._skipped = 0

    def worth_trying(self) -> bool:
        """True to decide the next batch without locks first."""
        if self.failure_rate < 0.5:
            return True
        self._skipped += 1
        if self._skipped >= self.PROBE:
            self._skipped = 0
            return True
        return False

    def record(self, stored: bool) -> None:
        """Count an attempt: stored as decided, or decided again under the locks."""
        self.failure_rate = self.DECAY * self.failure_rate + (1 - self.DECAY) * (0.0 if stored else 1.0)


@dataclass(slots=True)
class Prepared:
    """A batch decided without the write lock: its reads and pending writes, and outcomes.

    ``view`` is None when the batch must be decided under the lock instead.
    """

    view: BatchView | None
    outcomes: list[Outcome]


class MessageEngine:
    """Scores and decides messages; safe to share between threads.

    Concurrent ``process`` calls are grouped by writer threads into transactions
    of up to ``max_batch`` events (group commit); each caller returns only after the
    transaction holding its decision has committed. ``store`` is the database's
    batch read and writes (by default the one for the session factory's database).
    The HTTP service decides through :meth:`decide`, which runs the same batches on
    its event loop (see :meth:`start_on_loop`).
    """

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        detector: Detector,
        settings: Settings,
        *,
        on_escalation: EscalationHook | None = None,
        max_batch: int = 64,
        inline: bool | None = None,
        writers: int | None = None,
        store: BatchStore | None = None,
    ) -> None:
        self.session_factory = session_factory
        self.detector = detector
        self.settings = settings
        self.flow = Flow(detector, settings, on_escalation)
        self.max_batch = max_batch
        bind = session_factory.kw["bind"]
        self.store = store or batch_store(bind.dialect.name)
        self._write_lock = self.store.writer_lock(bind.url) if self.store.one_writer else None
        self.writers = writers or self.store.writers
        self.inline = self.store.one_writer if inline is None else inline
        self.optimism = Optimism()
        self._autocommit_bind: Any = None
        self._threads = ThreadRunner(self._commit_batch, threads=self.writers, max_batch=max_batch)
        self._inline = InlineRunner(
            self._prepare_if_worth_it,
            self._commit_prepared,
            try_lock=self._try_write_lock,
            unlock=self._release_write_lock,
            max_batch=max_batch,
        )
        self._loop: DriverLoopRunner | None = None

    @property
    def on_escalation(self) -> EscalationHook | None:
        """What runs with each escalation stored (its case opened, webhooks queued)."""
        return self.flow.on_escalation

    # ------------------------------------------------------------------- entry points

    @contextmanager
    def writer(self) -> Iterator[None]:
        """One-writer databases (SQLite): serialise write transactions across threads and processes."""
        if self._write_lock is None:
            yield
            return
        with self._write_lock.hold():
            yield

    def submit(self, event: MessageEvent) -> Future[Outcome]:
        """Queue ``event``; the future resolves once its decision is committed."""
        return self._threads.submit(event)

    def process(self, event: MessageEvent) -> Outcome:
        """Decide ``event``; returns once the decision is committed."""
        return self.submit(event).result()

    def process_many(self, events: list[MessageEvent]) -> list[Outcome]:
        """Decide ``events`` in order, in one transaction (batch tools, stream workers)."""
        return self._commit([Pending(e) for e in events], raise_errors=True)

    async def decide(self, event: MessageEvent) -> Outcome:
        """Decide ``event`` from an event loop (the HTTP service); returns once committed.

        On a one-writer database the loop runs the batches itself (``inline``): the
        decision work then never waits for the interpreter lock behind request parsing
        in the same process, and the write lock is only tried, never waited for. On
        PostgreSQL, once :meth:`start_on_loop` has run, up to ``writers`` batches run
        on the loop at once (async psycopg); before that, batches run on the writer threads.
        """
        if self._loop is not None:
            return await self._loop.decide(event)
        if self.inline:
            return await self._inline.decide(event)
        return await asyncio.wrap_future(self.submit(event))

    async def start_on_loop(self) -> None:
        """PostgreSQL: from now on ``decide`` runs batches on the running event loop
        (async psycopg) instead of writer threads, until :meth:`stop_on_loop`.

        Threads would hand the interpreter lock back and forth with the loop on every
        database round trip; on the loop a batch waits for the database without
        holding anything up, and the requests that arrive meanwhile make up the next
        batch. A batch decided without locks sends its two statements on the driver's
        own connection (:meth:`_store_on_driver`); one decided under the locks runs
        through a session in the engine's greenlet, as on the writer threads.
        """
        if not self.store.on_loop or self._loop is not None:
            return
        store = cast(LoopBatchStore, self.store)
        engine = store.loop_engine(self.session_factory.kw["bind"].url, self.writers)
        self._loop = DriverLoopRunner(engine, self._on_loop, writers=self.writers, max_batch=self.max_batch)

    @property
    def runs_on_loop(self) -> bool:
        """True while ``decide`` runs PostgreSQL batches on the event loop."""
        return self._loop is not None

    async def stop_on_loop(self) -> None:
        """Let the loop's queued batches finish, then close its connections."""
        runner = self._loop
        if runner is None:
            return
        await runner.drain()
        self._loop = None
        await runner.engine.dispose()

    def close(self) -> None:
        """Stop the writer threads once the queued events are done."""
        self._threads.close()

    def update_conversation(self, conversation_id: str, apply: Callable[[Any], None]) -> Any:
        """Change one conversation's detector state under the same lock as messages.

        ``apply`` receives the conversation's state (restored, or new) and changes
        it in place (e.g. records a media event); the state is stored and returned.
        """
        with self.writer(), self._session() as session:
            request = batch_request([], self.settings, [conversation_id])
            view = BatchView.load(self.store, session, request, lock=True)
            state = view.conversation(self.detector, conversation_id).state
            apply(state)
            self.store.write(session.connection(), view.writes())
            session.commit()
            return state

    def connection_request(
        self, requester_id: str, target_id: str
    ) -> tuple[ConnectionRequestDecision, str | None]:
        """Decide a connection request; an escalation is stored (case id returned)."""
        with self.writer(), self._session(autoflush=True) as session:
            people = accounts.parties(session, [requester_id, target_id])
            connected = bool(accounts.connected_among(session, requester_id, [target_id]))
            risk = accounts.account_risk(session, requester_id, self.settings)
            decision = decide_connection_request(
                people[requester_id],
                people[target_id],
                connected=connected,
                requester_account_risk=risk.risk,
                account_reasons=risk.reasons,
                settings=self.settings,
            )
            case_id = None
            if decision.action is Action.ESCALATE:
                escalation = EscalationRow(
                    id=uuid.uuid4().hex,
                    kind="connection_request",
                    subject_account_id=requester_id,
                    recipient_ids=[target_id],
                    risk=risk.risk,
                    priority=1,
                    reasons=[r.to_dict() for r in decision.reasons],
                    evidence={"account_risk": risk.to_dict()},
                    status="open",
                )
                session.add(escalation)
                case_id = escalation.id
                if self.on_escalation is not None:
                    self.on_escalation(session, escalation)
            session.commit()
            return decision, case_id

    # ------------------------------------------------------------------- the protocol

    @contextmanager
    def _session(self, *, autoflush: bool = False) -> Iterator[Session]:
        """A session rolled back unless committed, and closed."""
        session = self.session_factory(autoflush=autoflush)
        try:
            yield session
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def _try_write_lock(self) -> bool:
        return self._write_lock is None or self._write_lock.try_acquire()

    def _release_write_lock(self) -> None:
        if self._write_lock is not None:
            self._write_lock.release()

    def _commit_batch(self, batch: list[Pending]) -> None:
        """The writer threads' commit: every item resolved or failed."""
        self._commit(batch, raise_errors=False)

    def _commit_prepared(self, batch: list[Pending], prepared: Prepared) -> None:
        """The inline runner's commit, under the write lock it took."""
        self._commit(batch, raise_errors=False, prepared=prepared)

    def _commit(
        self,
        batch: list[Pending],
        *,
        raise_errors: bool,
        prepared: Prepared | None = None,
        sessions: Sessions | None = None,
    ) -> list[Outcome]:
        """Run ``batch`` in one transaction; if that fails, each event on its own."""
        sessions = sessions or self._new_session
        try:
            outcomes = self._transaction([p.event for p in batch], prepared, sessions)
        except Exception as error:
            if is_disconnect(error):  # not the events' fault: the caller decides
                raise
            return self._one_by_one(batch, raise_errors, sessions)
        for pending, outcome in zip(batch, outcomes, strict=True):
            pending.resolve(outcome)
        return outcomes

    def _one_by_one(self, batch: list[Pending], raise_errors: bool, sessions: Sessions) -> list[Outcome]:
        """Each event of a failed batch in its own transaction: a bad one fails alone."""
        outcomes = []
        for pending in batch:
            try:
                try:
                    outcome = self._transaction([pending.event], None, sessions)[0]
                except IntegrityError as exc:
                    outcome = self._stored_after_race(pending.event, exc, sessions)
            except Exception as error:
                if raise_errors or is_disconnect(error):
                    raise
                pending.fail(error)
                continue
            pending.resolve(outcome)
            outcomes.append(outcome)
        return outcomes

    def _new_session(self, autocommit: bool = False) -> Session:
        if autocommit:
            if self._autocommit_bind is None:
                self._autocommit_bind = self.session_factory.kw["bind"].execution_options(
                    isolation_level="AUTOCOMMIT"
                )
            return self.session_factory(bind=self._autocommit_bind, autoflush=False)
        return self.session_factory(autoflush=False)

    def _stored_after_race(self, event: MessageEvent, exc: IntegrityError, sessions: Sessions) -> Outcome:
        """Another process stored this message's key first: answer with its decision."""
        with sessions(False) as session:
            stored = session.get(MessageDecisionRow, (event.conversation_id, event.message_id))
        if stored is None:
            raise exc
        return stored_outcome(StoredDecision(stored.decision, stored.sender_id, stored.request_digest), event)

    def _prepare_if_worth_it(self, events: list[MessageEvent], sessions: Sessions | None = None) -> Prepared:
        """``_prepare``, unless recent batches mostly had to be decided again under the locks."""
        if not self.optimism.worth_trying():
            return Prepared(None, [])
        prepared = self._prepare(events, sessions)
        if prepared.view is None:
            self.optimism.record(False)
        return prepared

    def _prepare(self, events: list[MessageEvent], sessions: Sessions | None = None) -> Prepared:
        """Decide ``events`` without the write lock or row locks (outside any transaction
        where reads commit on their own): reads only, writes kept for later."""
        session = (sessions or self._new_session)(self.store.autocommit_reads)
        try:
            request = batch_request(events, self.settings)
            view = BatchView.load(self.store, session, request, lock=False, optimistic=True)
            outcomes = [decide_in_batch(view, event, self.flow) for event in events]
        except Exception:  # NeedsLock, or an event the locked path will isolate
            return Prepared(None, [])
        finally:
            session.close()
        return Prepared(view, outcomes)

    def _store_prepared(self, prepared: Prepared, sessions: Sessions | None = None) -> list[Outcome] | None:
        """Store a prepared batch if what it read is unchanged, else None."""
        view = prepared.view
        assert view is not None
        session = (sessions or self._new_session)(self.store.autocommit_reads)
        try:
            if not self.store.write_if_unchanged(session.connection(), view.writes(), view.versions()):
                session.rollback()
                return None
            session.commit()
            return prepared.outcomes
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def _transaction(
        self,
        events: list[MessageEvent],
        prepared: Prepared | None = None,
        sessions: Sessions | None = None,
    ) -> list[Outcome]:
        """Decide and store ``events`` in one transaction: from their unlocked decision when
        nothing it read changed meanwhile, else decided again under the locks."""
        sessions = sessions or self._new_session
        if prepared is None:
            prepared = self._prepare_if_worth_it(events, sessions)
        with self.writer():
            if prepared.view is not None:
                outcomes = self._store_prepared(prepared, sessions)
                self.optimism.record(outcomes is not None)
                if outcomes is not None:
                    return outcomes
            # Reads and writes go through Core statements on the session's
            # connection; only escalations use the ORM (and are flushed at commit).
            session = sessions(False)
            try:
                request = batch_request(events, self.settings)
                view = BatchView.load(self.store, session, request, lock=True)
                outcomes = [decide_in_batch(view, event, self.flow) for event in events]
                self.store.write(session.connection(), view.writes())
                session.commit()
                return outcomes
            except BaseException:
                session.rollback()
                raise
            finally:
                session.close()

    async def _on_loop(self, connection: AsyncConnection, pending: list[Pending]) -> None:
        """The loop runner's attempt: without locks on the driver's connection, else under them."""
        outcomes = await self._store_on_driver(connection, [p.event for p in pending])
        if outcomes is None:
            await connection.run_sync(self._commit_on, pending)
            return
        for item, outcome in zip(pending, outcomes, strict=True):
            item.resolve(outcome)

    async def _store_on_driver(
        self, connection: AsyncConnection, events: list[MessageEvent]
    ) -> list[Outcome] | None:
        """Decide ``events`` without locks and store them if nothing they read changed
        meanwhile (as ``_prepare`` and ``_store_prepared``), with the two statements on the
        driver's own connection; None when the batch must be decided under the locks."""
        if not self.optimism.worth_trying():
            return None
        request = batch_request(events, self.settings)
        try:
            async with cast(LoopBatchStore, self.store).on_driver(connection) as driver:
                view = BatchView(await driver.read(request), optimistic=True)
                outcomes = [decide_in_batch(view, event, self.flow) for event in events]
                stored = await driver.write_if_unchanged(view.writes())
        except ConnectionLost:
            raise
        except Exception:  # NeedsLock, a failed statement, or an event the locked path will isolate
            self.optimism.record(False)
            return None
        self.optimism.record(stored)
        return outcomes if stored else None

    def _commit_on(self, connection: Connection, pending: list[Pending]) -> None:
        """Run ``pending`` under the locks on ``connection`` (inside the loop engine's greenlet)."""
        self._commit(
            pending, raise_errors=False, prepared=Prepared(None, []), sessions=_sessions_on(connection)
        )
