"""bench/forecast.py in its quick modes, so that it cannot rot: the speed table and its RESULT
line, and the accuracy table of the sine experiment (the only one on the project's own data)."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def bench(*args: str) -> list[str]:
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "forecast.py"), *args, "--quick"], capture_output=True,
                          text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.splitlines()


@pytest.mark.slow
def test_the_speed_bench_runs_quick():
    lines = bench()
    assert lines[0].startswith("builtin:sine, test 400 points · window 48") and "random weights (seed 0)" in lines[0]
    rows = [line.split() for line in lines[3:-1]]
    assert [(row[0], row[1], row[2]) for row in rows] == [("gru", "32", "1"), ("gru", "32", "12")]
    for row in rows:
        rate, values, ms = float(row[3].replace(",", "")), float(row[4].replace(",", "")), float(row[5])
        assert rate > 0 and ms > 0
        assert values == pytest.approx(rate * 32 * int(row[2]), rel=0.01, abs=1)  # values forecast per training step
    result = re.fullmatch(r"RESULT train_steps_per_s=([\d.]+) forecast_ms=([\d.]+)", lines[-1])
    assert result, lines[-1]
    assert (float(result[1]), float(result[2])) == pytest.approx((float(rows[0][3]), float(rows[0][5])), abs=0.06)


@pytest.mark.slow
def test_the_sine_accuracy_bench_runs_quick():
    lines = bench("sine", "--seeds", "1")
    assert lines[0].startswith("sine · 400 test points, one step ahead · 10 steps")
    assert lines[1].split() == ["seed", "CPU", "s", "best-step", "MSE", "RMSE/best", "persist.", "AR(120)"]
    seed, _, step, mse, ratio, persistence, ar = lines[2].split()
    result = re.fullmatch(r"RESULT sine_mse=(\S+) persistence=(\S+) ar=(\S+) noise_variance=0.01 "
                          r"ratio_to_noise=(\S+) target_met=(yes|no)", lines[-1])
    assert result, lines[-1]
    assert seed == "1" and step in ("5", "10") and (result[1], result[2], result[3]) == (mse, persistence, ar)
    assert float(result[4]) == pytest.approx(float(mse) / 0.01, rel=1e-3)
    assert 0.01 < float(ar) < float(persistence)  # the AR baseline: near the noise, far better than the last value
    assert float(ratio) == pytest.approx((float(mse) / float(ar)) ** 0.5, rel=0.01)  # RMSEs: the model's / the best baseline's
