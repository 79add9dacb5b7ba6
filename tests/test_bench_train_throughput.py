"""bench/train_throughput.py in its quick mode, so that it cannot rot: the trainer-vs-plain-loop row,
the FastGRU-vs-nn.GRU rows for training and for the forward without gradients (at a size below the
packing threshold and one above it), the additive-attention row, and its RESULT line agreeing
with the rows."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_the_train_throughput_bench_runs_quick():
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "train_throughput.py"), "--quick", "--reps", "2",
                           "--sizes", "small", "--cells", "gru", "--gru-hidden", "16,160", "--threads", "1"],
                          capture_output=True, text=True, timeout=600, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("data ") and "1 threads, cpu" in lines[0]
    assert lines[1].split()[:2] == ["cell", "size"] and set(lines[2]) == {"-"}

    def ratio(line: str, label: list[str]) -> float:
        words = line.split()
        assert words[: len(label)] == label
        base, new, r = float(words[-3].replace(",", "")), float(words[-2].replace(",", "")), float(words[-1])
        assert base > 0 and new > 0 and r == pytest.approx(new / base, abs=0.002)
        return r

    trainer = ratio(lines[3], ["gru", "small"])
    assert lines[4].startswith("GRU ") and "nn.GRU tok/s" in lines[4]
    train = [ratio(lines[5], ["hidden", "16"]), ratio(lines[6], ["hidden", "160"])]
    assert lines[7].startswith("GRU eval") and "without gradients" in lines[7]
    evals = [ratio(lines[8], ["hidden", "16"]), ratio(lines[9], ["hidden", "160"])]
    assert lines[10].startswith("attention") and "bench/seq2seq_throughput.py" in lines[10]
    attention = ratio(lines[11], ["hidden", "32"])
    result = re.fullmatch(r"RESULT min_ratio=([\d.]+) gru_min_ratio=([\d.]+) gru_eval_min_ratio=([\d.]+) "
                          r"attention_ratio=([\d.]+)", lines[12])
    assert result, lines[12]
    assert [float(x) for x in result.groups()] == pytest.approx([trainer, min(train), min(evals), attention], abs=0.001)
