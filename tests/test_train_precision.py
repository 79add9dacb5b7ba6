"""Training without needless waits for the device, and in lower precision (--precision bf16|fp16).

The per-step numbers stay device tensors until a metric record (or an evaluation, a sample, a
checkpoint) reads them; a non-finite step is found there and never reaches a checkpoint. The
tests that need a GPU run their CPU part everywhere and skip only the part on the device.
"""

import math
import re
import subprocess
import sys

import pytest
import torch

from rnn_tui.errors import RnnTuiError
from rnn_tui.runs.checkpoint import load_checkpoint
from rnn_tui.runs.rundir import RunDir
from rnn_tui.train import trainer as trainer_module
from rnn_tui.train.trainer import _Accumulator, prepare, train_run
from tests.conftest import small_config

CUDA = torch.cuda.is_available()


def _train(tmp_path, cfg, name, resume=False):
    run = RunDir.open(name, tmp_path) if resume else RunDir.create(tmp_path, cfg, name=name)
    return run, train_run(run, resume=resume)


def _records(run, keys=("step", "loss", "grad_norm", "clip_frac")):
    return [{k: r[k] for k in keys} for r in run.read_metrics() if r["event"] == "train"]


def _no_eval(**train):
    return {"eval_interval": 1000, "sample_interval": 1000, "checkpoint_interval": 1000, **train}


@pytest.mark.parametrize("clip_mode,clip", [("norm", 0.24), ("value", 0.13)])  # (some of its steps clip, some not)
def test_a_record_is_the_mean_of_its_steps(tmp_path, text_file, clip_mode, clip):
    """Read once per interval, the numbers are those read step by step, averaged."""
    each = _records(_train(tmp_path, small_config(str(text_file), steps=12, log_interval=1, clip=clip,
                                                  clip_mode=clip_mode, **_no_eval()), "each")[0])
    four = _records(_train(tmp_path, small_config(str(text_file), steps=12, log_interval=4, clip=clip,
                                                  clip_mode=clip_mode, **_no_eval()), "four")[0])
    assert [r["step"] for r in four] == [4, 8, 12]
    for record, k in zip(four, range(0, 12, 4)):
        steps = each[k : k + 4]
        for key in ("loss", "grad_norm", "clip_frac"):
            assert record[key] == pytest.approx(sum(s[key] for s in steps) / 4, rel=1e-9, abs=1e-12)
    assert 0 < sum(r["clip_frac"] for r in each) < len(each), "some steps clipped, some not"


def test_a_non_finite_step_found_later_never_reaches_a_checkpoint(tmp_path, text_file):
    """Read only every 7 steps (the checkpoints), the run still fails at the step that went bad,
    with its latest checkpoint from before it, and no record of a non-finite number."""
    cfg = small_config(str(text_file), steps=300, optimizer="sgd", lr=5.0, clip=0.0,  # nan after a few checkpoints
                       device="cpu", **_no_eval(checkpoint_interval=7, log_interval=1000))  # (a GPU may not diverge)
    cfg.model.cell = "rnn-relu"
    run = RunDir.create(tmp_path, cfg, name="nan")
    with pytest.raises(RnnTuiError, match=r"became (nan|inf) at step \d+.*last good checkpoint is kept") as failed:
        train_run(run)
    bad = int(re.search(r"at step (\d+)", str(failed.value)).group(1))
    ckpt = load_checkpoint(run.checkpoints, "latest")
    assert ckpt.meta["step"] < bad and ckpt.meta["step"] % 7 == 0
    assert all(math.isfinite(float(v.abs().max())) for v in ckpt.model.values())
    status = run.read_status()
    assert status["state"] == "failed" and ckpt.meta["step"] < bad <= status["step"]


def test_the_accumulator_names_the_first_bad_step():
    acc = _Accumulator()
    for step, (loss, norm) in enumerate([(1.0, 2.0), (3.0, math.inf), (math.nan, 1.0)], start=11):
        acc.add(step, torch.tensor(loss), 5, torch.tensor(norm), torch.tensor(norm > 1.5))
    with pytest.raises(trainer_module._NonFinite, match="gradient norm became inf at step 12"):
        acc.read()
    lenient = _Accumulator(strict=False)  # fp16: a non-finite norm is a step the scaler skipped
    for step, norm in enumerate([2.0, math.inf, 4.0], start=1):
        lenient.add(step, torch.tensor(1.5), 5, torch.tensor(norm), None)
    assert lenient.read() == (1.5, 3.0, 0.0) and lenient.tokens == 15


def test_bf16_trains_on_the_cpu_close_to_fp32(tmp_path, text_file):
    runs = {p: _train(tmp_path, small_config(str(text_file), steps=10, log_interval=1, precision=p, **_no_eval()), p)
            for p in ("fp32", "bf16")}
    fp32, bf16 = (_records(runs[p][0]) for p in ("fp32", "bf16"))
    assert all(r["loss"] == pytest.approx(s["loss"], rel=0.02) for r, s in zip(bf16, fp32))
    assert bf16[-1]["loss"] < bf16[0]["loss"] and fp32 != bf16  # it learns, and in another arithmetic
    weights = load_checkpoint(runs["bf16"][0].checkpoints, "latest").model
    assert {v.dtype for v in weights.values()} == {torch.float32}  # the weights stay fp32


def test_fp16_on_the_cpu_is_refused_in_one_line(tmp_path, text_file):
    with pytest.raises(RnnTuiError, match=r"--precision fp16 needs a CUDA GPU; this run trains on the cpu"):
        prepare(small_config(str(text_file), precision="fp16", device="cpu"))
    out = subprocess.run([sys.executable, "-m", "rnn_tui", "train", "--data", str(text_file), "--precision", "fp16",
                          "--device", "cpu", "--steps", "1", "--runs-dir", str(tmp_path / "runs")],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode != 0 and "Traceback" not in out.stderr
    assert "--precision fp16 needs a CUDA GPU" in out.stderr


def _fp16_resume_is_exact(tmp_path, text_file, device):
    """fp16 on ``device``: 12 steps + resume to 24 give the numbers, and the scaler's state, of 24 in one go."""
    cfg = small_config(str(text_file), steps=24, log_interval=4, precision="fp16", device=device,
                       **_no_eval(checkpoint_interval=12))
    whole, _ = _train(tmp_path, cfg, "whole")
    cfg.train.steps = 12
    run, _ = _train(tmp_path, cfg, "split")
    assert load_checkpoint(run.checkpoints, "latest").meta["scaler"]["_growth_tracker"] > 0  # steps since a skip
    resumed = run.config()
    resumed.train.steps = 24
    run.config_path.write_text(resumed.to_toml())
    _train(tmp_path, None, "split", resume=True)
    assert _records(whole) == _records(run)
    scalers = [load_checkpoint(r.checkpoints, "latest").meta["scaler"] for r in (whole, run)]
    assert scalers[0] == scalers[1]  # restored: a new scaler would have counted only the last 12 steps


def test_the_fp16_scaler_is_kept_and_restored_on_resume(tmp_path, text_file, monkeypatch):
    """The whole fp16 path — autocast, the scaler's scale, unscale, step and update, its state in
    the checkpoint — on the CPU (its autocast does fp16, which the trainer refuses only as slow)."""
    monkeypatch.setattr(trainer_module, "FP16_DEVICES", ("cuda", "cpu"))
    _fp16_resume_is_exact(tmp_path, text_file, "cpu")


def test_the_onednn_probe_leaves_the_random_stream_alone(monkeypatch):
    """Where the CPU claims the instructions, a tiny LSTM is tried in the dtype (oneDNN's can still
    refuse it); its weights must not shift the run's random numbers (a resume would not be exact)."""
    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: True)
    trainer_module._onednn_lacks.cache_clear()
    try:
        torch.manual_seed(0)
        expected = torch.rand(4)
        torch.manual_seed(0)
        assert isinstance(trainer_module._onednn_lacks(torch.bfloat16), bool)  # (refused on an AVX2-only CPU)
        assert torch.equal(torch.rand(4), expected)
    finally:
        trainer_module._onednn_lacks.cache_clear()


def test_fp16_on_cuda_trains_and_resumes_exactly(tmp_path, text_file):
    cfg = small_config(str(text_file), precision="fp16")
    assert cfg.train.precision == "fp16"  # (the CPU part: the setting; the CPU's refusal is tested above)
    if not CUDA:
        pytest.skip("no CUDA GPU: the device part")
    _fp16_resume_is_exact(tmp_path, text_file, "cuda")


@pytest.mark.parametrize("precision", ["fp32", "bf16", "fp16"])
def test_a_cuda_step_never_waits_for_the_device(tmp_path, text_file, precision, monkeypatch):
    """torch's sync debug mode raises at any host–device synchronisation inside training steps;
    the numbers are read once, after them. fp16 too: its fused optimizer skips an overflowed step
    on the device, where a plain one asks the host whether the gradients overflowed."""
    cfg = small_config(str(text_file), precision=precision, **_no_eval())
    acc = _Accumulator()
    if not CUDA:  # the CPU part: the same steps and the one read
        monkeypatch.setattr(trainer_module, "FP16_DEVICES", ("cuda", "cpu"))
        trainer = prepare(cfg)
        for _ in range(3):
            trainer._train_step(acc)
        assert acc.n == 3 and math.isfinite(acc.read()[0])
        pytest.skip("no CUDA GPU: the device part")
    cfg.train.device = "cuda"
    trainer = prepare(cfg)
    trainer._train_step(acc)  # warm-up: allocations, cuDNN's set-up
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        for _ in range(3):
            trainer._train_step(acc)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    assert acc.n == 4 and math.isfinite(acc.read()[0])
