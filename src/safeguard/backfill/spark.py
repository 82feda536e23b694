"""The Spark engine: the same scoring function in ``mapInArrow`` on every executor.

``local[*]`` on this machine's Java 17 by default (UI off, driver bound to
127.0.0.1); under ``spark-submit`` the master and resources come from it.
Messages are repartitioned by conversation id and sorted within partitions,
so each conversation is scored whole, in order, by one Python worker, which
loads the detector once (``load_detector`` is cached per process).
"""

from __future__ import annotations

import os
import secrets
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pyarrow as pa

from safeguard.backfill.archive import INPUT_DDL, detect_format
from safeguard.backfill.score import (
    CONVERSATION_DDL,
    INPUT_COLUMNS,
    ORDER_COLUMN,
    SORT_COLUMN,
    DetectorSpec,
    score_batches,
)

ARROW_BATCH = 10_000
WATCH_SECONDS = 0.5


def _has_pandas() -> bool:
    """``mapInArrow`` needs pandas (``pyspark[sql]``); without it the RDD path runs."""
    try:
        import pandas  # noqa: F401
    except ImportError:
        return False
    return True


def _batches_in(rows: Iterator, columns: list[str]) -> Iterator[pa.RecordBatch]:  # type: ignore[type-arg]
    chunk: list[tuple] = []
    for row in rows:
        chunk.append(tuple(row))
        if len(chunk) >= ARROW_BATCH:
            yield pa.RecordBatch.from_arrays(
                [pa.array(c, pa.string()) for c in zip(*chunk, strict=True)], names=columns
            )
            chunk = []
    if chunk:
        yield pa.RecordBatch.from_arrays(
            [pa.array(c, pa.string()) for c in zip(*chunk, strict=True)], names=columns
        )


def _rows_out(batches: Iterator[pa.RecordBatch]) -> Iterator[tuple]:  # type: ignore[type-arg]
    for batch in batches:
        for row in batch.to_pylist():
            row["authors"] = [(a["sender_id"], a["score"], a["messages"]) for a in row["authors"]]
            yield tuple(row.values())


def spark_session(master: str | None = None, shuffle_partitions: int | None = None):  # type: ignore[no-untyped-def]
    """A session: ``master`` if given, spark-submit's if launched by it, else ``local[*]``."""
    from pyspark.sql import SparkSession

    submitted = "PYSPARK_GATEWAY_PORT" in os.environ
    builder = SparkSession.builder.appName("safeguard-backfill")
    if master is None and not submitted:
        master = "local[*]"
    if master is not None:
        builder = builder.master(master)
    if master is not None and master.startswith("local"):
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        builder = (
            builder.config("spark.driver.host", "127.0.0.1")
            .config("spark.driver.bindAddress", "127.0.0.1")
            .config("spark.pyspark.python", sys.executable)
        )
    builder = (
        builder.config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", str(ARROW_BATCH))
    )
    if shuffle_partitions is None and master is not None and master.startswith("local"):
        shuffle_partitions = 2 * (os.cpu_count() or 1)  # not Spark's 200: one machine's cores
    if shuffle_partitions is not None:
        builder = builder.config("spark.sql.shuffle.partitions", str(shuffle_partitions))
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


@contextmanager
def watch_tasks(session, on_progress: Callable[[int], None] | None) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """While the block runs, report its jobs' completed Spark tasks to ``on_progress`` (driver side).

    The block's jobs run in their own job group; a thread polls the status tracker
    every ``WATCH_SECONDS`` and once more at the end. Best effort: a failing poll stops it.
    """
    if on_progress is None:
        yield
        return
    context = session.sparkContext
    group = f"safeguard-backfill-{secrets.token_hex(4)}"
    context.setJobGroup(group, "safeguard backfill")
    tracker = context.statusTracker()
    done: dict[int, int] = {}
    stop = threading.Event()

    def poll() -> bool:
        try:
            for job in tracker.getJobIdsForGroup(group):
                info = tracker.getJobInfo(job)
                for stage in info.stageIds if info is not None else ():
                    stage_info = tracker.getStageInfo(stage)
                    if stage_info is not None:
                        done[stage] = max(done.get(stage, 0), stage_info.numCompletedTasks)
        except Exception:  # progress is best effort: a stopping context ends it, not the job
            return False
        on_progress(sum(done.values()))
        return True

    def loop() -> None:
        while not stop.wait(WATCH_SECONDS) and poll():
            pass

    watcher = threading.Thread(target=loop, name="spark-progress", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        stop.set()
        watcher.join()
        for key in ("spark.jobGroup.id", "spark.job.description"):
            context.setLocalProperty(key, None)
    poll()


def run_spark(
    input_path: Path,
    output: Path,
    spec: DetectorSpec,
    input_format: str = "auto",
    *,
    master: str | None = None,
    shuffle_partitions: int | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> None:
    """Score the archive on Spark; writes ``conversations/`` and ``accounts/`` Parquet.

    ``on_progress`` gets the number of Spark tasks completed so far, every ``WATCH_SECONDS``.
    """
    remote = str(input_path).startswith(("hdfs:", "s3a:", "s3:", "gs:", "abfs:"))
    fmt = input_format if remote else detect_format(input_path, input_format)
    session = spark_session(master, shuffle_partitions)
    with watch_tasks(session, on_progress):
        _run_job(session, input_path, output, spec, fmt)


def _run_job(session, input_path: Path, output: Path, spec: DetectorSpec, fmt: str) -> None:  # type: ignore[no-untyped-def]
    """The job itself: read, score each conversation whole, aggregate, write."""
    from pyspark.sql import functions as F

    reader = session.read
    if fmt == "parquet":
        frame = reader.parquet(str(input_path))
        for name in INPUT_COLUMNS:
            if name not in frame.columns:
                frame = frame.withColumn(name, F.lit(None).cast("string"))
    else:
        frame = reader.schema(INPUT_DDL).json(str(input_path))
    frame = frame.select(*[F.col(c).cast("string").alias(c) for c in INPUT_COLUMNS])
    frame = frame.where(F.col("conversation_id").isNotNull() & F.col("message_id").isNotNull())
    frame = frame.withColumn(ORDER_COLUMN, F.monotonically_increasing_id()).withColumn(
        SORT_COLUMN, F.coalesce(F.col("sent_at"), F.lit(""))
    )
    ordered = frame.repartition("conversation_id").sortWithinPartitions(
        "conversation_id", SORT_COLUMN, ORDER_COLUMN
    )

    conversations_path = str(output / "conversations")
    if _has_pandas():

        def score(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
            return score_batches(batches, spec)

        scored = ordered.mapInArrow(score, CONVERSATION_DDL)
    else:
        columns = [*INPUT_COLUMNS]

        def score_rows(rows: Iterator) -> Iterator[tuple]:  # type: ignore[type-arg]
            return _rows_out(score_batches(_batches_in(rows, columns), spec))

        scored = session.createDataFrame(
            ordered.select(*columns).rdd.mapPartitions(score_rows), CONVERSATION_DDL
        )
    scored.write.mode("overwrite").parquet(conversations_path)
    conversations = session.read.parquet(conversations_path)
    author = F.explode("authors").alias("a")
    exploded = conversations.select("flagged", "likely_groomer", author)
    accounts = (
        exploded.groupBy(F.col("a.sender_id").alias("sender_id"))
        .agg(
            F.max("a.score").alias("max_score"),
            F.avg("a.score").alias("mean_score"),
            F.count(F.lit(1)).alias("conversations"),
            F.sum(F.col("flagged").cast("long")).alias("conversations_flagged"),
            F.sum((F.col("likely_groomer") == F.col("a.sender_id")).cast("long")).alias("likely_groomer_in"),
            F.sum("a.messages").alias("messages"),
        )
        .withColumn("likely_groomer_in", F.coalesce(F.col("likely_groomer_in"), F.lit(0)))
        .orderBy(F.desc("max_score"), "sender_id")
    )
    accounts.write.mode("overwrite").parquet(str(output / "accounts"))
