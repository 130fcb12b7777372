"""Durability: the SQLite gallery survives kill -9 of a writer (runs benchmarks/gallery_crash.py at a small size)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "gallery_crash.py"


@pytest.mark.slow
def test_gallery_survives_kill_9_during_enrollment(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--kills", "4", "--samples", "3000", "--people", "15", "--min-delay", "0.4",
         "--max-delay", "1.5", "--seed", "3", "--gallery", str(tmp_path / "crash.sqlite")],
        capture_output=True, text=True, timeout=600, check=False)
    summary = json.loads(done.stdout)
    assert done.returncode == 0, summary
    assert summary["ok"] and summary["kills"] >= 1
    assert summary["integrity_problems"] == [] and summary["missing_count"] == 0 and summary["duplicates"] == 0
    assert summary["stored"] == 3000
    assert sum(r["committed"] for r in summary["per_round"]) > 0  # kills landed while it was committing
