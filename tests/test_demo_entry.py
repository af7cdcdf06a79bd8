"""`python -m demo` explains itself and refuses to write demo data into an unnamed database."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _demo(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "demo", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_help_describes_the_demo_and_runs_nothing(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    done = _demo("--help", env={"TOUSU_DATABASE_URL": f"sqlite:///{db}", "PATH": "/usr/bin"})
    assert done.returncode == 0, done.stderr
    assert "TOUSU_DATABASE_URL" in done.stdout and "演示" in done.stdout
    assert not db.exists()


def test_without_a_database_named_it_refuses_with_exit_2(tmp_path: Path) -> None:
    # Before any context is opened: the configured database is never touched.
    done = _demo(env={"PATH": "/usr/bin", "HOME": str(tmp_path)})
    assert done.returncode == 2
    assert "TOUSU_DATABASE_URL" in done.stderr
