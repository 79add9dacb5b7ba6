"""Crash safety in short: bench/crash.py's harness with 6 SIGKILLs of real `rnn-tui train`
processes (a char LSTM and a translation GRU, 3 kills each, at seeded random moments), then
`runs`, `inspect`, `generate`/`score`/`translate` and `train --resume` on every run."""

import importlib.util
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench" / "crash.py"


def load_harness():
    """bench/crash.py as a module (bench/ is not a package)."""
    spec = importlib.util.spec_from_file_location("bench_crash", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_random_kills_leave_every_run_readable_and_resumable(tmp_path):
    crash = load_harness()
    summary = crash.crash_test(tmp_path / "runs", kills=6, runs=2, seed=7, jobs=2)
    report = crash.report(summary)
    assert summary.kills == 6, report
    assert {r.kind for r in summary.reports} == {"lm", "seq2seq"}
    assert summary.unreadable == 0, report
    assert summary.lost_max <= crash.CHECKPOINT_INTERVAL, report
