"""bench/classify.py in its quick mode, so that it cannot rot: it runs, prints one row per model
and its RESULT line, and its batched and one-by-one ways agree."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_train_classify import reviews

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_the_classify_bench_runs_quick(tmp_path):
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "classify.py"), "--quick", "--data", str(reviews(tmp_path))],
                          capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("data reviews.tsv: 40 texts") and "random weights (seed 0)" in lines[0]
    rows = [line.split() for line in lines[3:-1]]
    assert [(row[0], row[1]) for row in rows] == [(c, p) for c in ("gru", "lstm") for p in ("last", "max", "attention")]
    rates = []
    for row in rows:
        one, batched, speedup, diff = float(row[2].replace(",", "")), float(row[3].replace(",", "")), row[4], float(row[5])
        assert one > 0 and batched > 0 and speedup.endswith("×")
        assert abs(float(speedup[:-1]) - batched / one) < 0.05 + batched / one * 0.02  # the rates are printed rounded
        assert diff < 1e-5  # a padded batch is packed: each text gets what it gets alone
        rates.append((one, batched, float(speedup[:-1])))
    result = re.fullmatch(r"RESULT batched_texts_per_s=(\d+) one_by_one_texts_per_s=(\d+) min_speedup=([\d.]+)", lines[-1])
    assert result, lines[-1]
    assert (float(result[2]), float(result[1])) == pytest.approx(rates[0][:2], abs=1)  # the GRU with last pooling
    assert float(result[3]) == pytest.approx(min(r[2] for r in rates), abs=0.06)


@pytest.mark.slow
@pytest.mark.parametrize("how, names", [(["--seeds", "2"], ["seed-1", "seed-2"]),
                                        (["--folds", "2", "--jobs", "2"], ["fold-0", "fold-1", "all"])])
def test_the_expert_bench_runs_quick(tmp_path, how, names):
    """bench/classify_accuracy.py expert: one row per seed (or per disjoint fold, and one for all
    of them) whose numbers agree with each other and with the RESULT line."""
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "classify_accuracy.py"), "expert", "--quick", *how,
                           "--threads", "1", "--data", str(reviews(tmp_path))],
                          capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("sentiment-zh · the sentiment recipe: char GRU-128, max pooling, n-gram expert · 10 steps")
    rows = [line.split() for line in lines[2:-1]]
    assert [row[0] for row in rows] == names
    for row in rows:
        pooled, alone, logreg = (float(v.rstrip("%")) for v in row[2:5])
        assert 0 <= alone <= 100 and float(row[5]) == pytest.approx(pooled - logreg, abs=0.11)
        right, wrong = map(int, row[6].split("/"))
        held = 80 if row[0] == "all" else 40
        assert pooled - logreg == pytest.approx((right - wrong) / held * 100, abs=0.11)  # the paired counts explain it
        assert 0 < float(row[7]) <= 1
    if names[-1] == "all":  # the folds' counts add up
        assert int(rows[-1][6].split("/")[0]) == sum(int(row[6].split("/")[0]) for row in rows[:-1])
    result = re.fullmatch(r"RESULT test_acc=([\d.]+) alone=([\d.]+) logreg=([\d.]+) margin=([-+][\d.]+) "
                          r"(seeds|folds)_beating=(\d)/2 (max_p|p)=([\d.e-]+)", lines[-1])
    assert result, lines[-1]
    runs = rows[:2]
    pooled_mean = sum(float(row[2].rstrip("%")) for row in runs) / 2  # equal folds: the mean is the pooled accuracy
    assert float(result[1]) * 100 == pytest.approx(pooled_mean, abs=0.06)
    assert int(result[6]) == sum(float(row[5]) > 0 for row in runs)
