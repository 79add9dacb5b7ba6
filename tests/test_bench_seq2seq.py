"""bench/seq2seq_throughput.py in its quick mode, so that it cannot rot: it runs, compares the two
training paths' losses on one batch, times both and prints its RESULT line."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_the_seq2seq_throughput_bench_runs_quick():
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "seq2seq_throughput.py"), "--quick",
                           "--data", "builtin:numbers-en-zh"],
                          capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("builtin:numbers-en-zh: ") and "attention additive" in lines[0]
    diff = re.fullmatch(r"\|loss\(forward\) − loss\(forward_steps\)\| on one batch, same weights: (\S+)", lines[1])
    assert diff and float(diff[1]) <= 1e-5
    rows = {tuple(row.split()[:2]) for row in lines[2:-1]}
    assert rows == {(name, clock) for name in ("steps", "batched") for clock in ("wall", "cpu")}
    result = re.fullmatch(r"RESULT ratio=([\d.]+) cpu_ratio=([\d.]+) loss_diff=(\S+)", lines[-1])
    assert result, lines[-1]
    assert float(result[1]) > 0 and float(result[2]) > 0 and float(result[3]) <= 1e-5
