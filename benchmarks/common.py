"""Shared helpers for the benchmark scripts (``benchmarks/bench_*.py``).

Machine description (cores, RAM, CPU model, Python and key package versions,
UTC date/time), median/percentile helpers, Markdown tables, CPU pinning and
``measure_peak_rss``: run a child process and read its own peak RSS and CPU
time from ``wait4`` (not the whole process tree's, not the caller's).
"""

from __future__ import annotations

import json
import math
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RESULTS_DIR = REPO / "benchmarks" / "results"
KEY_PACKAGES: tuple[str, ...] = ("safeguard", "numpy", "scipy", "scikit-learn", "torch", "regex")


# --------------------------------------------------------------------------- machine


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo (or ``platform.processor()``)."""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def ram_gib() -> float | None:
    """Total RAM in GiB from /proc/meminfo (None if unreadable)."""
    try:
        for line in Path("/proc/meminfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / (1024 * 1024)
    except (OSError, ValueError, IndexError):
        pass
    return None


def nproc() -> int:
    """CPUs this process may run on (what ``nproc`` prints)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def package_version(name: str) -> str:
    """Installed version of a distribution, or ``-`` if it is not installed."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "-"


def utc_now() -> str:
    """The current date and time, UTC, to the minute."""
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")


def machine_description(packages: Sequence[str] = KEY_PACKAGES) -> dict[str, str]:
    """The facts a reader needs to compare figures across machines."""
    ram = ram_gib()
    return {
        "cpus": str(nproc()),
        "cpu_model": cpu_model(),
        "ram": f"{ram:.1f} GiB" if ram is not None else "unknown",
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "packages": ", ".join(f"{p} {package_version(p)}" for p in packages),
        "date": utc_now(),
    }


def machine_line(packages: Sequence[str] = KEY_PACKAGES) -> str:
    """One Markdown line describing the machine and software."""
    m = machine_description(packages)
    return (f"Machine: {m['cpus']} CPU(s), {m['cpu_model']}, {m['ram']} RAM, {m['os']}; "
            f"Python {m['python']}; {m['packages']}.")


def load_average() -> str:
    """The 1/5/15-minute load averages (how busy the machine was)."""
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return "unknown"
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f}"


# --------------------------------------------------------------------------- statistics


def median(values: Sequence[float]) -> float:
    """The median (mean of the two middle values for an even count)."""
    if not values:
        raise ValueError("median of no values")
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile (0-100), linear interpolation between ranks (numpy's default)."""
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= p <= 100:
        raise ValueError(f"percentile must be in [0, 100], got {p}")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


# --------------------------------------------------------------------------- formatting


def md_table(headers: Sequence[str], rows: Sequence[Sequence[object]], align: str | None = None) -> str:
    """A Markdown table; ``align`` is one letter per column (l/r), default l then r."""
    align = align or ("l" + "r" * (len(headers) - 1))
    marks = ["---:" if a == "r" else "---" for a in align]
    lines = ["| " + " | ".join(headers) + " |", "| " + " | ".join(marks) + " |"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def fmt(value: float | None, digits: int = 3) -> str:
    """A number for a table (``n/a`` for None)."""
    return "n/a" if value is None else f"{value:.{digits}f}"


def fmt_int(value: float) -> str:
    """A whole number with thousands separators."""
    return f"{round(value):,}"


# --------------------------------------------------------------------------- processes


def pin_prefix(cpu: int = 0) -> list[str]:
    """``taskset -c CPU`` if available (empty list otherwise; see ``pin_self``)."""
    exe = shutil.which("taskset")
    return [exe, "-c", str(cpu)] if exe else []


def pin_self(cpu: int = 0) -> bool:
    """Pin the calling process to one CPU with ``sched_setaffinity`` (True if done)."""
    try:
        os.sched_setaffinity(0, {cpu})
    except (AttributeError, OSError):
        return False
    return True


@dataclass(frozen=True, slots=True)
class RunResult:
    """A finished child process: exit code, output, wall time, own CPU time and peak RSS."""

    returncode: int
    stdout: str
    stderr: str
    wall_s: float
    user_s: float
    sys_s: float
    max_rss_mib: float


# A tiny launcher: fork+exec the command, wait4 it, write its rusage as JSON.
# Needed because Linux carries the parent's memory high-water mark at fork time
# into the child's ru_maxrss across exec: a child forked straight from a
# benchmark that has loaded torch would report the benchmark's RSS, not its own.
# Forked from this small interpreter instead, the floor is a few MiB.
_LAUNCHER = r"""
import json, os, sys
out, cmd = sys.argv[1], sys.argv[2:]
pid = os.fork()
if pid == 0:
    try:
        os.execvp(cmd[0], cmd)
    finally:
        os._exit(127)
_, status, ru = os.wait4(pid, 0)
with open(out, "w") as handle:
    json.dump({"maxrss_kib": ru.ru_maxrss, "user": ru.ru_utime, "sys": ru.ru_stime}, handle)
code = os.waitstatus_to_exitcode(status)
sys.exit(code if code >= 0 else 128 - code)
"""


def measure_peak_rss(
    cmd: Sequence[str],
    *,
    cwd: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float | None = None,
    stdout_path: str | Path | None = None,
) -> RunResult:
    """Run ``cmd`` and return its wall time, CPU time and peak RSS (``ru_maxrss``, Linux).

    The command runs under a small launcher process that reads the command's
    own rusage with ``wait4`` (see ``_LAUNCHER``), so the figures cover that
    process (and any children it waited for), never the caller. ``stdout_path``
    sends stdout to a file (e.g. ``/dev/null``) instead of capturing it. On
    timeout the whole process group is killed and ``TimeoutExpired`` raised.
    """
    import signal
    import tempfile

    with tempfile.NamedTemporaryFile(prefix="rusage-", suffix=".json", delete=False) as handle:
        usage_path = handle.name
    out_handle = open(stdout_path, "wb") if stdout_path is not None else subprocess.PIPE  # noqa: SIM115
    try:
        started = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-S", "-c", _LAUNCHER, usage_path, *cmd], cwd=cwd,
            env=dict(env) if env is not None else None, stdout=out_handle, stderr=subprocess.PIPE,
            start_new_session=True,
        )
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise
        wall = time.perf_counter() - started
        try:
            usage = json.loads(Path(usage_path).read_text(encoding="utf-8") or "{}")
        except (OSError, json.JSONDecodeError):
            usage = {}
    finally:
        if stdout_path is not None:
            out_handle.close()  # type: ignore[union-attr]
        Path(usage_path).unlink(missing_ok=True)
    return RunResult(
        returncode=proc.returncode,
        stdout=(out or b"").decode("utf-8", errors="replace"),
        stderr=(err or b"").decode("utf-8", errors="replace"),
        wall_s=wall,
        user_s=float(usage.get("user", 0.0)),
        sys_s=float(usage.get("sys", 0.0)),
        max_rss_mib=float(usage.get("maxrss_kib", 0)) / 1024,  # Linux reports KiB
    )


def python_exe() -> str:
    """The interpreter to run child benchmarks with (the repository venv if present)."""
    venv = REPO / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable
