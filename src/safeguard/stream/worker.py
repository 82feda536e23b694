"""The stream worker: leases partitions, reads, decides, publishes, acknowledges.

One loop, single-threaded: heartbeat and leases every ``lease_ms / 3``, claim
what a dead owner left pending on a newly owned partition, read up to
``batch`` entries from the owned partitions, decide them with the API's
engine, publish results, then ``XACK``. See the package docstring for the
design (partitioning, exactly-once effects, dead letters, back-pressure).
"""

from __future__ import annotations

import json
import math
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import structlog
from redis import Redis
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from safeguard.policy.events import Outcome
from safeguard.stream.decide import Decider
from safeguard.stream.events import InvalidEvent, StreamEvent, decode_event
from safeguard.stream.layout import StreamLayout
from safeguard.stream.progress import ProgressLog, WorkerStats

log = structlog.get_logger("safeguard.stream")

_RENEW = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end "
    "return 0"
)
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"


@dataclass(slots=True)
class WorkerConfig:
    """Tuning of one worker (defaults suit a production deployment)."""

    batch: int = 64
    block_ms: int = 500
    lease_ms: int = 10_000
    claim_idle_ms: int = 10_000
    max_failures: int = 3
    max_deliveries: int = 10
    results_maxlen: int = 1_000_000
    dead_maxlen: int = 100_000
    trim_interval: float = 1.0
    name: str | None = None
    progress_seconds: float = 30.0  # log processed counts this often (stream/progress.py)
    progress_events: int = 10_000  # ... or after this many events


@dataclass(slots=True)
class _Entry:
    partition: int
    entry_id: str
    fields: dict[str, str] | None
    deliveries: int = 1
    event: StreamEvent | None = None


@dataclass(slots=True)
class _Batch:
    """What to do with the entries of one read once deciding is done."""

    done: list[tuple[_Entry, Outcome]] = field(default_factory=list)
    dead: list[tuple[_Entry, str]] = field(default_factory=list)
    deferred: list[_Entry] = field(default_factory=list)
    failed: int = 0


class TransientStoreError(RuntimeError):
    """The store is unreachable: pause, do not count a failure against the event."""


class StreamWorker:
    """A consumer in the deployment's group, owning some partitions at a time."""

    def __init__(
        self,
        client: Redis,
        decider: Decider,
        layout: StreamLayout | None = None,
        config: WorkerConfig | None = None,
    ) -> None:
        self.client = client
        self.decider = decider
        self.layout = layout or StreamLayout()
        self.config = config or WorkerConfig()
        self.name = self.config.name or f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"
        self.owned: set[int] = set()
        self.stats = WorkerStats()
        self.progress = ProgressLog(self.name, self.config.progress_seconds, self.config.progress_events)
        self._history: set[int] = set()
        self._claiming: dict[int, float] = {}
        self._next_tick = 0.0
        self._next_trim: dict[int, float] = {}
        self._untrimmed: set[int] = set()
        self._renew = client.register_script(_RENEW)
        self._release = client.register_script(_RELEASE)
        self._offset = int(secrets.token_hex(2), 16)

    # -- main loop -----------------------------------------------------------
    def run(self, stop: threading.Event | None = None, *, exit_when_idle: float | None = None) -> WorkerStats:
        """Work until ``stop`` is set (or nothing arrived for ``exit_when_idle`` seconds)."""
        stop = stop or threading.Event()
        self.layout.ensure(self.client)
        idle_since = time.monotonic()
        pause = 0.0
        try:
            while not stop.is_set():
                self.progress.maybe_log(self.stats)
                if time.monotonic() >= self._next_tick:
                    self.tick()
                if not self.owned:
                    stop.wait(min(self.config.lease_ms / 3000, 0.5))
                    continue
                self._claim_due()
                self._trim_due()
                entries = self._read()
                if entries:
                    idle_since = time.monotonic()
                    try:
                        failed = self.handle(entries)
                        pause = 0.0
                    except TransientStoreError as exc:
                        pause = min(max(pause * 2, 0.5), 30.0)
                        log.warning("store unavailable, pausing", error=str(exc), seconds=pause)
                        self._history.update(e.partition for e in entries)
                        self._undo_delivery(entries)
                        self._wait_for_store(stop, pause)
                        continue
                    if failed:
                        stop.wait(min(0.05 * 2 ** min(failed, 6), 2.0))
                elif (
                    exit_when_idle is not None
                    and not self._history
                    and not self._claiming
                    and time.monotonic() - idle_since >= exit_when_idle
                ):
                    break
        finally:
            self.release_all()
            self.progress.final(self.stats)
        return self.stats

    # -- leases --------------------------------------------------------------
    def tick(self) -> None:
        """Heartbeat, renew leases, and take or give partitions towards a fair share."""
        cfg, layout, client = self.config, self.layout, self.client
        now_ms = int(time.time() * 1000)
        pipe = client.pipeline(transaction=False)
        pipe.zadd(layout.workers, {self.name: now_ms + cfg.lease_ms})
        pipe.zremrangebyscore(layout.workers, "-inf", now_ms)
        pipe.zcard(layout.workers)
        live = max(int(pipe.execute()[-1]), 1)
        for k in sorted(self.owned):
            if not self._renew(keys=[layout.lease(k)], args=[self.name, cfg.lease_ms]):
                log.warning("lease lost", partition=k, worker=self.name)
                self._forget(k)
        target = math.ceil(layout.partitions / live)
        if len(self.owned) > target:
            for k in sorted(self.owned, reverse=True)[: len(self.owned) - target]:
                if k not in self._claiming and not self._own_pending(k):
                    self._release(keys=[layout.lease(k)], args=[self.name])
                    self._forget(k)
        elif len(self.owned) < target:
            for i in range(layout.partitions):
                k = (i + self._offset) % layout.partitions
                if len(self.owned) >= target:
                    break
                if k not in self.owned and client.set(layout.lease(k), self.name, nx=True, px=cfg.lease_ms):
                    self.owned.add(k)
                    self._claiming[k] = 0.0
                    self._history.add(k)
                    self._untrimmed.add(k)  # entries an earlier owner acknowledged
                    log.info("partition acquired", partition=k, worker=self.name)
        self._next_tick = time.monotonic() + cfg.lease_ms / 3000

    def _forget(self, k: int) -> None:
        self.owned.discard(k)
        self._history.discard(k)
        self._untrimmed.discard(k)  # the next owner trims on acquiring it
        self._claiming.pop(k, None)

    def release_all(self) -> None:
        """Give up every lease (clean shutdown) so others take over at once."""
        for k in sorted(self.owned):
            try:
                self._release(keys=[self.layout.lease(k)], args=[self.name])
            except Exception:  # shutting down: the lease expires anyway
                break
        self.owned.clear()
        try:
            self.client.zrem(self.layout.workers, self.name)
        except Exception:  # the heartbeat expires anyway
            return

    def _own_pending(self, k: int) -> int:
        summary = self.client.xpending(self.layout.stream(k), self.layout.group)
        return sum(int(c["pending"]) for c in summary.get("consumers") or [] if c["name"] == self.name)

    # -- reclaiming ----------------------------------------------------------
    def _claim_due(self) -> None:
        now = time.monotonic()
        for k, due in list(self._claiming.items()):
            if now >= due:
                self._claim(k)

    def _claim(self, k: int) -> None:
        """Take over entries others left pending on partition ``k`` (XAUTOCLAIM)."""
        stream, group, cfg = self.layout.stream(k), self.layout.group, self.config
        start = "0-0"
        while True:
            reply = self.client.xautoclaim(
                stream, group, self.name, cfg.claim_idle_ms, start, count=max(cfg.batch, 100)
            )
            start, claimed = reply[0], reply[1]
            self.stats.add(k, "claimed", sum(1 for entry_id, _ in claimed if entry_id))
            if start == "0-0":
                break
        summary = self.client.xpending(stream, group)
        consumers = summary.get("consumers") or []
        others = [c for c in consumers if c["name"] != self.name and int(c["pending"]) > 0]
        self._history.add(k)
        if others:
            self._claiming[k] = time.monotonic() + min(cfg.claim_idle_ms / 4000, 1.0)
            return
        self._claiming.pop(k, None)
        live = set(self.client.zrange(self.layout.workers, 0, -1))
        for info in self.client.xinfo_consumers(stream, group):
            if info["name"] != self.name and int(info["pending"]) == 0 and info["name"] not in live:
                self.client.xgroup_delconsumer(stream, group, info["name"])

    # -- reading -------------------------------------------------------------
    def _read(self) -> list[_Entry]:
        streams: dict[str, str] = {}
        for k in sorted(self.owned):
            if k in self._history:
                streams[self.layout.stream(k)] = "0"
            elif k not in self._claiming:
                streams[self.layout.stream(k)] = ">"
        if not streams:
            time.sleep(0.05)
            return []
        per_stream = max(1, math.ceil(self.config.batch / len(streams)))
        history = any(v == "0" for v in streams.values())
        reply = self.client.xreadgroup(
            self.layout.group,
            self.name,
            streams,
            count=per_stream,
            block=None if history else self.config.block_ms,
        )
        entries: list[_Entry] = []
        for stream, items in reply or []:
            k = self.layout.partition_of_stream(stream)
            if streams.get(stream) == "0":
                if not items:
                    self._history.discard(k)
                    continue
                counts = {
                    p["message_id"]: int(p["times_delivered"])
                    for p in self.client.xpending_range(
                        stream, self.layout.group, items[0][0], items[-1][0], len(items), self.name
                    )
                }
                entries.extend(_Entry(k, i, f, counts.get(i, 1)) for i, f in items)
            else:
                entries.extend(_Entry(k, i, f) for i, f in items)
        return entries

    # -- deciding ------------------------------------------------------------
    def handle(self, entries: list[_Entry]) -> int:
        """Decide, publish and acknowledge ``entries``; returns how many failed."""
        batch = _Batch()
        valid: list[_Entry] = []
        entries = self._still_owned(entries)
        for entry in entries:
            if not entry.fields:
                batch.dead.append((entry, "entry was deleted from the stream before it was decided"))
                continue
            try:
                entry.event = decode_event(entry.fields)
            except InvalidEvent as exc:
                batch.dead.append((entry, f"invalid event: {exc}"))
                continue
            if entry.deliveries > self.config.max_deliveries:
                reason = self.client.hget(self.layout.errors(entry.partition), entry.entry_id)
                batch.dead.append(
                    (entry, reason or f"delivered {entry.deliveries} times without a decision "
                     "(the workers processing it stopped)")
                )
                continue
            valid.append(entry)
        self._decide(valid, batch)
        self._finish(batch)
        return batch.failed

    def _still_owned(self, entries: list[_Entry]) -> list[_Entry]:
        """Fencing: drop entries of partitions whose lease moved on (the new owner claims them)."""
        partitions = sorted({e.partition for e in entries})
        owners = self.client.mget([self.layout.lease(k) for k in partitions])
        lost = {k for k, owner in zip(partitions, owners, strict=True) if owner != self.name}
        for k in lost:
            log.warning("lease lost before deciding", partition=k, worker=self.name)
            self._forget(k)
        return [e for e in entries if e.partition not in lost]

    def _decide(self, entries: list[_Entry], batch: _Batch) -> None:
        blocked: set[tuple[int, str]] = set()
        run: list[_Entry] = []
        for entry in entries:
            assert entry.event is not None
            if entry.event.kind == "message":
                run.append(entry)
                continue
            self._decide_messages(run, batch, blocked)
            run = []
            self._decide_one(entry, batch, blocked, lambda e: self.decider.media(e.event.media))
        self._decide_messages(run, batch, blocked)

    def _decide_messages(self, run: list[_Entry], batch: _Batch, blocked: set[tuple[int, str]]) -> None:
        if not run:
            return
        if not blocked:
            try:
                outcomes = self.decider.messages([e.event.message for e in run])
            except OperationalError as exc:
                raise TransientStoreError(str(exc).splitlines()[0]) from exc
            except Exception:  # one bad event: find it event by event below
                pass
            else:
                for entry, outcome in zip(run, outcomes, strict=True):
                    self._record(entry, outcome, batch)
                return
        for entry in run:
            self._decide_one(entry, batch, blocked, lambda e: self.decider.messages([e.event.message])[0])

    def _decide_one(
        self,
        entry: _Entry,
        batch: _Batch,
        blocked: set[tuple[int, str]],
        decide: Callable[[_Entry], Outcome],
    ) -> None:
        key = (entry.partition, entry.event.key)
        if key in blocked:  # an earlier event of this conversation is being retried
            batch.deferred.append(entry)
            return
        try:
            outcome = decide(entry)
        except OperationalError as exc:
            raise TransientStoreError(str(exc).splitlines()[0]) from exc
        except Exception as exc:
            reason = f"{type(exc).__name__}: {exc}".splitlines()[0][:500]
            batch.failed += 1
            self.stats.add(entry.partition, "failures")
            pipe = self.client.pipeline(transaction=False)
            pipe.hincrby(self.layout.failures(entry.partition), entry.entry_id, 1)
            pipe.hset(self.layout.errors(entry.partition), entry.entry_id, reason)
            failures = int(pipe.execute()[0])
            log.warning("event failed", entry=entry.entry_id, failures=failures, reason=reason)
            if failures >= self.config.max_failures:
                batch.dead.append((entry, f"failed {failures} times; last error: {reason}"))
            else:
                blocked.add(key)
                batch.deferred.append(entry)
            return
        self._record(entry, outcome, batch)

    @staticmethod
    def _record(entry: _Entry, outcome: Outcome, batch: _Batch) -> None:
        """A decided event is done; one that reused another message's key is dead-lettered."""
        if outcome.conflict is None:
            batch.done.append((entry, outcome))
            return
        batch.dead.append(
            (entry, f"message_id was already used in this conversation with a different {outcome.conflict}")
        )

    # -- publishing ----------------------------------------------------------
    def _finish(self, batch: _Batch) -> None:
        """Publish results and dead letters, then acknowledge (decisions are durable)."""
        layout, cfg = self.layout, self.config
        pipe = self.client.pipeline(transaction=False)
        acked: dict[int, list[str]] = {}
        now_ms = str(int(time.time() * 1000))
        for entry, outcome in batch.done:
            pipe.xadd(
                layout.results,
                {
                    "stream": layout.stream(entry.partition),
                    "entry_id": entry.entry_id,
                    "kind": entry.event.kind,
                    "event_id": entry.event.event_id,
                    "created": "1" if outcome.created else "0",
                    "action": str(outcome.decision.get("action")),
                    "decision": json.dumps(outcome.decision, separators=(",", ":")),
                    "worker": self.name,
                    "decided_ms": now_ms,
                },
                maxlen=cfg.results_maxlen,
                approximate=True,
            )
            acked.setdefault(entry.partition, []).append(entry.entry_id)
            self.stats.add(entry.partition, "decided" if outcome.created else "replayed")
        for entry, reason in batch.dead:
            failures = self.client.hget(layout.failures(entry.partition), entry.entry_id)
            pipe.xadd(
                layout.dead,
                {
                    "stream": layout.stream(entry.partition),
                    "entry_id": entry.entry_id,
                    "kind": (entry.fields or {}).get("kind", ""),
                    "data": (entry.fields or {}).get("data", ""),
                    "reason": reason,
                    "deliveries": str(entry.deliveries),
                    "failures": str(failures or 0),
                    "worker": self.name,
                },
                maxlen=cfg.dead_maxlen,
                approximate=True,
            )
            acked.setdefault(entry.partition, []).append(entry.entry_id)
            self.stats.add(entry.partition, "dead")
            log.warning("event dead-lettered", entry=entry.entry_id, reason=reason)
        for k, ids in acked.items():
            pipe.xack(layout.stream(k), layout.group, *ids)
            pipe.hdel(layout.failures(k), *ids)
            pipe.hdel(layout.errors(k), *ids)
        pipe.execute()
        for entry in batch.deferred:
            self._history.add(entry.partition)
        self._undo_delivery(batch.deferred)
        self._untrimmed.update(acked)
        self._trim_due()

    def _undo_delivery(self, entries: list[_Entry]) -> None:
        """Entries read but not attempted (deferred, store down) keep their delivery count.

        The count then means attempts, and ``max_deliveries`` catches events whose
        workers die while deciding them, not events that waited behind others.
        """
        if not entries:
            return
        pipe = self.client.pipeline(transaction=False)
        for entry in entries:
            pipe.xclaim(
                self.layout.stream(entry.partition), self.layout.group, self.name, 0, [entry.entry_id],
                retrycount=max(entry.deliveries - 1, 0), justid=True,
            )
        pipe.execute()

    def _trim_due(self) -> None:
        now = time.monotonic()
        for k in sorted(self._untrimmed):
            if now >= self._next_trim.get(k, 0.0) and k in self.owned:
                self._untrimmed.discard(k)
                self._trim(k)
                self._next_trim[k] = now + self.config.trim_interval

    def _trim(self, k: int) -> None:
        """Drop acknowledged entries so ``XLEN`` is the backlog the producer checks."""
        stream, group = self.layout.stream(k), self.layout.group
        pending = self.client.xpending(stream, group)
        if int(pending.get("pending") or 0) > 0:
            minid = pending["min"]
        else:
            groups = [g for g in self.client.xinfo_groups(stream) if g["name"] == group]
            if not groups:
                return
            ms, seq = str(groups[0]["last-delivered-id"]).split("-")
            minid = f"{ms}-{int(seq) + 1}"
        self.client.xtrim(stream, minid=minid, approximate=False)

    def _wait_for_store(self, stop: threading.Event, seconds: float) -> None:
        stop.wait(seconds)
        try:
            with self.decider.services.read() as session:
                session.execute(text("SELECT 1"))
        except OperationalError:
            return
