"""bench/seq2seq_vs_commit.py in its quick mode against this very commit, so that it cannot rot: it
extracts the commit's tree, runs the same training in both trees' code (each child process checks
that its own tree's rnn_tui ran), the first batch's loss agrees, and the RESULT line is the median
of the printed rounds."""

import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_the_bench_against_a_commit_runs_quick():
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "seq2seq_vs_commit.py"), "--quick", "--against", "HEAD"],
                          capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("additive attention, phrases-en-zh, gru 1×32") and lines[0].endswith("HEAD against this checkout")
    rounds = [line.split() for line in lines[2:-1]]
    assert [r[0] for r in rounds] == ["1", "2"]
    ratios = []
    for _, old, new, ratio in rounds:
        assert float(old) > 0 and float(new) > 0
        assert float(ratio) == pytest.approx(float(new) / float(old), abs=0.002)
        ratios.append(float(ratio))
    result = re.fullmatch(r"RESULT ratio=([\d.]+) loss_diff=(\S+)", lines[-1])
    assert result, lines[-1]
    assert float(result[1]) == pytest.approx(statistics.median(ratios), abs=0.002)
    assert float(result[2]) == 0.0  # the same code, the same weights, the same first batch
