"""Shared fixtures: a throw-away PostgreSQL cluster and a database URL per backend.

Each pytest-xdist worker starts its own cluster on a free loopback port (unix
socket in its own temp dir), migrates a template database once, and clones a
fresh database from it for every test. Storage and API tests take ``db_url``,
parametrised over ``sqlite`` and ``postgresql``. Without PostgreSQL binaries
the postgresql cases skip, or fail when ``CI=true``.
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest


def _pg_bin() -> Path | None:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), reverse=True)
    if candidates:
        return Path(candidates[0]).parent
    found = shutil.which("pg_ctl")
    return Path(found).parent if found else None


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class PgCluster:
    """A running throw-away cluster."""

    port: int
    socket_dir: str
    base_url: str
    _counter: itertools.count

    def url(self, database: str) -> str:
        return f"{self.base_url}/{database}"

    def admin(self, sql: str) -> None:
        import psycopg

        dsn = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(sql)

    def fresh_database(self, template: str | None = "sg_template") -> str:
        """A new empty (or template-cloned) database; returns its SQLAlchemy URL."""
        name = f"sg_test_{os.getpid()}_{next(self._counter)}"
        clause = f" TEMPLATE {template}" if template else ""
        self.admin(f"CREATE DATABASE {name}{clause}")
        return self.url(name)


def start_cluster(root: str) -> tuple[PgCluster, callable]:
    """Init and start a cluster under ``root`` (as user postgres when run as root)."""
    bindir = _pg_bin()
    assert bindir is not None
    run_as: list[str] = []
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(root, user.pw_uid, user.pw_gid)
        run_as = ["runuser", "-u", "postgres", "--"]
    data = os.path.join(root, "data")
    port = free_port()
    subprocess.run(
        [
            *run_as,
            str(bindir / "initdb"),
            "-D",
            data,
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        ],
        check=True,
        capture_output=True,
    )
    options = (
        f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
    )
    subprocess.run(
        [
            *run_as,
            str(bindir / "pg_ctl"),
            "-D",
            data,
            "-o",
            options,
            "-l",
            os.path.join(root, "log"),
            "-w",
            "-t",
            "60",
            "start",
        ],
        check=True,
        capture_output=True,
    )

    def stop() -> None:
        pid_file = os.path.join(data, "postmaster.pid")
        pid = None
        if os.path.exists(pid_file):
            pid = int(Path(pid_file).read_text().split()[0])
        subprocess.run(
            [*run_as, str(bindir / "pg_ctl"), "-D", data, "-m", "immediate", "-t", "10", "-w", "stop"],
            capture_output=True,
        )
        if pid is not None and os.path.exists(pid_file):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(root, ignore_errors=True)

    base = f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    return PgCluster(port, root, base, itertools.count()), stop


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    """This worker's PostgreSQL cluster, with a migrated template database."""
    if _pg_bin() is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("PostgreSQL binaries (initdb, pg_ctl) not found; run scripts/system-deps.sh")
        pytest.skip("PostgreSQL binaries not found (install the postgresql package)")
    root = tempfile.mkdtemp(prefix="sg-pg-")
    os.chmod(root, 0o755)
    cluster, stop = start_cluster(root)
    try:
        cluster.admin("CREATE DATABASE sg_template")
        from safeguard.store.db import get_engine

        engine = get_engine(cluster.url("sg_template"))
        engine.dispose()
        from safeguard.store import db

        db._engines.pop(cluster.url("sg_template"), None)
        db._factories.pop(cluster.url("sg_template"), None)
        yield cluster
    finally:
        stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database URL for one test, on each backend."""
    from safeguard.store.db import dispose_engines, get_engine

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'safeguard.db'}"
    else:
        cluster: PgCluster = request.getfixturevalue("pg_cluster")
        url = cluster.fresh_database()
    get_engine(url)
    yield url
    dispose_engines()
    if request.param == "postgresql":
        cluster.admin(f"DROP DATABASE IF EXISTS {url.rsplit('/', 1)[1]} WITH (FORCE)")


@pytest.fixture
def isolated_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Each test sees default settings (no ambient safeguard.toml, data under tmp)."""
    from safeguard.config import get_settings

    monkeypatch.setenv("SAFEGUARD_CONFIG", str(tmp_path / "absent.toml"))
    monkeypatch.setenv("SAFEGUARD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("SAFEGUARD_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    """A fresh Redis on 127.0.0.1 (no persistence), shut down after the test."""
    binary = shutil.which("redis-server")
    if binary is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("redis-server not found; run scripts/system-deps.sh")
        pytest.skip("redis-server not found (install the redis-server package)")
    import redis

    port = free_port()
    workdir = tmp_path / "redis"
    workdir.mkdir()
    server = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(workdir), "--protected-mode", "yes"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    deadline = time.monotonic() + 20
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail(f"redis-server did not start on port {port}")
            time.sleep(0.05)
    try:
        yield url
    finally:
        client.close()
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
