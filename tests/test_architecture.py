"""The layering and structure rules hold (run by `make test`; `make lint` runs them too).

- import-linter's contracts (``[tool.importlinter]`` in pyproject.toml): the core never
  imports a door, doors never import each other, the store imports no capability;
- no function on the message path above complexity 20, no file in ``src/`` over 500
  lines without a reason at its top (``scripts/check_structure.py``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False
    )


def test_import_contracts_are_kept() -> None:
    result = _run(str(BIN / "lint-imports"), "--no-cache")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_message_path_complexity_and_file_lengths() -> None:
    result = _run(sys.executable, str(ROOT / "scripts" / "check_structure.py"))
    assert result.returncode == 0, result.stdout + result.stderr
