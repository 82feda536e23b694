"""The README's Quickstart runs as written, on the files in examples/.

The shell commands are read from the Quickstart's ``sh`` and ``console`` code blocks
(nothing here repeats them) and run with bash, in order, in a temporary directory holding
a copy of examples/, against a temporary SQLite database. The REST API commands run
against the README's own ``safeguard serve`` command, started on a free loopback port.
Commands that need Redis, Spark, a package install or a second server are skipped by
the explicit list below, each with its reason.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
EXAMPLES = ROOT / "examples"
BIN = Path(sys.executable).parent
SECTION = ("## Quickstart", "## How the grooming detector works")
PASSWORD = "example-password-1234"
COMMAND_TIMEOUT = 600.0

# Commands that cannot run in a test, matched by a substring of the command.
SKIPPED: dict[str, str] = {
    "source .venv/bin/activate": "the test puts the venv's bin/ first on PATH instead",
    "pip install": "installs packages (needs a package index)",
    "safeguard serve --workers": "a second server process; the test starts one with `safeguard serve --host`",
    "safeguard worker --stream": "needs a Redis server",
    "safeguard publish": "needs a Redis server (test_publish_example_validates checks the file)",
    "--engine spark": "needs Apache Spark on Java (slow to start); `--engine local` runs instead",
}
# Commands that talk to the server the test starts (the README's port is replaced).
SERVER_MARKERS = ("curl ", "status --url", "safeguard serve --host")
# Exit statuses the README documents other than 0.
EXIT_STATUSES: dict[str, set[int]] = {"safeguard match ": {0, 1}}
# Placeholders the reader fills in, and where the test gets them.
PLACEHOLDERS = {"CASE_ID": "the case_id of an escalated message (from examples/messages.jsonl)"}

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("readme_quickstart")]


@dataclass
class Block:
    """One fenced code block of the Quickstart."""

    lang: str
    lines: list[str]


@dataclass
class Outcome:
    """What running one command did."""

    command: str
    status: int | None
    seconds: float
    stdout: str = ""
    stderr: str = ""
    skipped: str | None = None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def quickstart() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index(SECTION[0])
    return text[start : text.index(SECTION[1], start)]


def blocks(section: str) -> Iterator[Block]:
    """Fenced code blocks in order (language from the opening fence)."""
    lang: str | None = None
    lines: list[str] = []
    for line in section.splitlines():
        if line.startswith("```"):
            if lang is None:
                lang = line[3:].strip()
                lines = []
            else:
                yield Block(lang, lines)
                lang = None
        elif lang is not None:
            lines.append(line)


def _complete(command: str) -> bool:
    """Whether a command is whole: no open quote and no trailing backslash."""
    if command.rstrip().endswith("\\"):
        return False
    try:
        shlex.split(command, comments=True)
    except ValueError:
        return False
    return True


def strip_comments(command: str) -> str:
    """The command without its shell comments (a '#' starting a word, outside quotes)."""
    kept: list[str] = []
    for line in command.split("\n"):
        quote: str | None = None
        cut = len(line)
        for index, char in enumerate(line):
            if quote:
                quote = None if char == quote else quote
            elif char in "'\"":
                quote = char
            elif char == "#" and (index == 0 or line[index - 1].isspace()):
                cut = index
                break
        kept.append(line[:cut].rstrip())
    return "\n".join(kept).strip()


def shell_commands(section: str) -> list[str]:
    """Every command of the section's sh/console blocks, continuation lines joined."""
    commands: list[str] = []
    for block in blocks(section):
        if block.lang not in ("sh", "console"):
            continue
        pending = ""
        for raw in block.lines:
            if block.lang == "console" and not pending:
                if not raw.startswith("$ "):
                    continue  # printed output
                raw = raw[2:]
            if not pending and (not raw.strip() or raw.lstrip().startswith("#")):
                continue
            pending = f"{pending}\n{raw}" if pending else raw
            if _complete(pending):
                commands.append(strip_comments(pending))
                pending = ""
        assert not pending, f"unterminated command in the README: {pending!r}"
    return commands


def json_sample(section: str, after: str) -> str:
    """The first ``json`` block after the sh block containing ``after``."""
    seen = False
    for block in blocks(section):
        if block.lang == "sh" and any(after in line for line in block.lines):
            seen = True
        elif seen and block.lang == "json":
            return "\n".join(block.lines)
    raise AssertionError(f"no json sample after {after!r}")


def sample_scalars(sample: str, keys: tuple[str, ...]) -> dict[str, object]:
    """Top-level scalar values of a README sample (which may contain '...')."""
    found: dict[str, object] = {}
    for key in keys:
        match = re.search(rf'"{key}": ("[^"]*"|-?[\d.]+|true|false|null)', sample)
        assert match, f"{key!r} not in the README sample"
        found[key] = json.loads(match.group(1))
    return found


def skip_reason(command: str) -> str | None:
    for marker, reason in SKIPPED.items():
        if marker in command:
            return reason
    if "clip.mp4" in command:
        try:
            import vpdq  # noqa: F401
        except ImportError:
            return "video hashing needs the optional `video` extra (vpdq), not installed here"
    if command.startswith("curl ") and shutil.which("curl") is None:
        return "curl is not installed"
    return None


def expected_statuses(command: str) -> set[int]:
    for marker, statuses in EXIT_STATUSES.items():
        if marker in command:
            return statuses
    return {0}


@dataclass
class Session:
    """The temporary working directory, environment and server of one run."""

    cwd: Path
    port: int
    env: dict[str, str]
    values: dict[str, str] = field(default_factory=dict)
    server: subprocess.Popen[bytes] | None = None

    def prepare(self, command: str) -> str:
        if any(marker in command for marker in SERVER_MARKERS):
            command = re.sub(r"\b8000\b", str(self.port), command)
        for name in PLACEHOLDERS:  # shell variables (KEY, ADMIN_KEY) come from the environment
            if name in self.values:
                command = re.sub(rf"\b{name}\b", self.values[name], command)
        return command

    def run(self, command: str) -> Outcome:
        reason = skip_reason(command)
        if reason:
            return Outcome(command, None, 0.0, skipped=reason)
        missing = [p for p in PLACEHOLDERS if re.search(rf"\b{p}\b", command) and p not in self.values]
        if missing:
            return Outcome(command, None, 0.0, skipped=f"no value for {', '.join(missing)} yet")
        prepared = self.prepare(command)
        if prepared.startswith("safeguard serve "):
            return self.start_server(command, prepared)
        assignment = re.fullmatch(r"([A-Z_]+)=(\$\(.*\))", prepared, re.S)
        script = f"set -o pipefail\n{prepared}"
        if assignment:
            script += f'\nprintf "%s" "${assignment.group(1)}"'
        started = time.monotonic()
        done = subprocess.run(
            ["bash", "-c", script],
            cwd=self.cwd,
            env={**self.env, **self.values},
            input=f"{PASSWORD}\n{PASSWORD}\n",
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT,
            start_new_session=True,  # no controlling terminal: password prompts read stdin
        )
        if assignment and done.returncode == 0:
            self.values[assignment.group(1)] = done.stdout.strip()
        return Outcome(command, done.returncode, time.monotonic() - started, done.stdout, done.stderr)

    def start_server(self, command: str, prepared: str) -> Outcome:
        """Start the README's serve command in the background and wait until it is ready."""
        started = time.monotonic()
        with (self.cwd / "serve.log").open("wb") as log:  # the child keeps its own copy
            self.server = subprocess.Popen(
                ["bash", "-c", f"exec {prepared}"],
                cwd=self.cwd,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = started + 180
        while time.monotonic() < deadline and self.server.poll() is None:
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return Outcome(command, 0, time.monotonic() - started)
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        tail = (self.cwd / "serve.log").read_text(errors="replace")[-2000:]
        return Outcome(command, self.server.poll(), time.monotonic() - started, stderr=tail)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def escalate_example(self) -> None:
        """Fill CASE_ID: send examples/messages.jsonl to the server with its child marked as one."""
        if self.server is None or "KEY" not in self.values or "CASE_ID" in self.values:
            return
        headers = {"Authorization": f"Bearer {self.values['KEY']}"}
        with httpx.Client(base_url=self.url, headers=headers, timeout=30) as client:
            answer = client.put(
                "/v1/accounts/ella_b", json={"age_band": "child", "age_assurance": "estimated"}
            )
            answer.raise_for_status()
            for line in (self.cwd / "examples" / "messages.jsonl").read_text(encoding="utf-8").splitlines():
                decision = client.post("/v1/messages", json=json.loads(line))
                decision.raise_for_status()
                if decision.json().get("case_id"):
                    self.values["CASE_ID"] = decision.json()["case_id"]
                    return

    def stop(self) -> None:
        if self.server is not None and self.server.poll() is None:
            os.killpg(self.server.pid, signal.SIGTERM)
            try:
                self.server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.server.pid, signal.SIGKILL)
                self.server.wait()


@pytest.fixture
def session(tmp_path: Path) -> Iterator[Session]:
    shutil.copytree(EXAMPLES, tmp_path / "examples")
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "SAFEGUARD_DATABASE_URL": f"sqlite:///{tmp_path / 'safeguard.db'}",
        "SAFEGUARD_DATA_DIR": str(tmp_path / "data"),
        "SAFEGUARD_CONFIG": str(tmp_path / "no-config.toml"),
        "COLUMNS": "160",
    }
    for name in ("SAFEGUARD_STREAM__URL", "SAFEGUARD_API_KEY"):
        env.pop(name, None)
    run = Session(cwd=tmp_path, port=free_port(), env=env)
    yield run
    run.stop()


def test_quickstart_parses_into_the_documented_commands() -> None:
    commands = shell_commands(quickstart())
    assert len(commands) >= 30
    assert "safeguard scan examples/chats.jsonl --json --early" in commands
    curl = [c for c in commands if c.startswith("curl ") and "/v1/messages" in c]
    assert len(curl) == 1 and '"recipient_ids": ["kid1"]' in curl[0]  # a quoted, two-line body
    assert not any(c.startswith(("# ", "$ ", "{")) for c in commands)


def test_every_examples_path_in_the_quickstart_exists() -> None:
    paths = set(re.findall(r"examples/[\w./-]+", " ".join(shell_commands(quickstart()))))
    assert len(paths) >= 15
    missing = sorted(p for p in paths if not (ROOT / p).exists())
    assert not missing, f"README quickstart names files examples/ does not have: {missing}"


def test_publish_example_validates() -> None:
    """`safeguard publish` is skipped (Redis): its input passes the same validation here."""
    from safeguard.stream.events import message_fields_from_line

    lines = (EXAMPLES / "messages.jsonl").read_text(encoding="utf-8").splitlines()
    fields = [message_fields_from_line(line) for line in lines]
    assert len(fields) >= 10
    events = [json.loads(f["data"]) for f in fields if f["kind"] == "message"]
    assert len(events) == len(lines)
    assert {e["conversation_id"] for e in events} == {"chat-a", "chat-b", "chat-c"}


def test_labelled_examples_can_cross_validate() -> None:
    import csv

    with (EXAMPLES / "labelled.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    labels = [int(r["label"]) for r in rows]
    assert len(rows) >= 60 and min(labels.count(0), labels.count(1)) >= 30
    assert set(rows[0]) == {"id", "segment", "label"}


def test_quickstart_commands_run_as_written(session: Session) -> None:
    section = quickstart()
    outcomes: list[Outcome] = []
    for command in shell_commands(section):
        if "CASE_ID" in command:
            session.escalate_example()
        outcome = session.run(command)
        outcomes.append(outcome)
        if outcome.skipped is None and outcome.status not in expected_statuses(command):
            break  # later commands depend on earlier ones
    session.stop()

    report = "\n".join(
        f"{'skip' if o.skipped else o.status!s:>4} {o.seconds:6.1f}s  {o.command.splitlines()[0][:90]}"
        + (f"  ({o.skipped})" if o.skipped else "")
        for o in outcomes
    )
    print(report)
    failed = [o for o in outcomes if o.skipped is None and o.status not in expected_statuses(o.command)]
    assert not failed, (
        f"{failed[0].command!r} exited {failed[0].status}\nstdout: {failed[0].stdout[-2000:]}\n"
        f"stderr: {failed[0].stderr[-2000:]}\n{report}"
    )
    ran = [o for o in outcomes if o.skipped is None]
    assert len(ran) >= 28, report
    skipped = {o.command for o in outcomes if o.skipped}
    assert not any("CASE_ID" in c for c in skipped), report

    by_command = {o.command: o for o in outcomes}
    # The README's sample output is what the command prints today.
    scan = by_command["safeguard scan examples/chats.jsonl --json --early"]
    first = json.loads(scan.stdout.splitlines()[0])
    sample = sample_scalars(
        json_sample(section, "safeguard scan examples/chats.jsonl"),
        ("id", "score", "flagged", "stage", "messages", "likely_groomer", "first_flagged_index"),
    )
    assert first["score"] == pytest.approx(sample.pop("score"), abs=0.01)
    assert {k: first[k] for k in sample} == sample
    curl = next(o for o in outcomes if o.command.startswith("curl ") and "/v1/messages" in o.command)
    documented = re.search(r'# -> \{"action": "(\w+)", "risk": ([\d.]+)', section)
    assert documented, "the README shows the message answer as '# -> {...}'"
    answer = json.loads(curl.stdout)
    assert answer["action"] == documented.group(1)
    assert answer["risk"] == pytest.approx(float(documented.group(2)), abs=0.01)
    assert answer["case_id"] is None
    # Files the commands promise to write.
    for written in ("model.safetensors", "case.xml", "reviewed.csv", "bundle.sgb", "signing.key.pub"):
        assert (session.cwd / written).is_file(), f"{written} was not written\n{report}"
    assert "<" in (session.cwd / "case.xml").read_text(encoding="utf-8")
