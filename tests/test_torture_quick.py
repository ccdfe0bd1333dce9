"""The short version of benchmarks/torture.py: real workers SIGKILLed at random moments of
ingest, extract, cluster and a checkpoint save lose no committed row, double nothing, leave
no file behind, and every job finishes done after restarts.

It runs the script as a process of its own (it forks its workers, which must not happen
inside pytest's process) and reads its table.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def rows(table: str) -> dict[str, dict[str, int]]:
    """The torture table's rows (stages and the total), by column."""
    lines = [line.split() for line in table.splitlines()]
    header = next(line for line in lines if line[:1] == ["stage"])
    columns = " ".join(header[1:]).replace("rows lost", "rows_lost").split()
    return {line[0]: dict(zip(columns, map(int, line[1:]))) for line in lines
            if len(line) == len(columns) + 1 and line[1].isdigit()}


def test_quick_torture_loses_nothing(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "torture.py"), "--quick", "--seed", "3",
         "--keep", str(tmp_path / "torture")],
        cwd=REPO, capture_output=True, text=True, timeout=300)
    report = done.stdout + done.stderr[-3000:]
    table = rows(done.stdout)
    total = table["total"]
    assert (total["rows_lost"], total["duplicates"], total["leftovers"]) == (0, 0, 0), report
    assert total["survived"] == total["kills"], report
    for stage in ("ingest", "extract", "cluster"):
        assert table[stage]["kills"] >= 1, f"no kill landed during {stage}:\n{report}"
    saving = table["save"]["kills"] + table.get("train", {}).get("kills", 0)
    assert saving >= 1, f"no kill landed during training or a save:\n{report}"
    assert done.returncode == 0, report  # 0 also says every job ended done
