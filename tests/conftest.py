import json
import math
import random
import subprocess
import sys
from pathlib import Path

import pytest

from rnn_tui.config import Config

WORDS = "the quick brown fox jumps over a lazy dog while seven wizards hex a jolly bad sphinx".split()


@pytest.fixture
def text_file(tmp_path):
    """A small English text, deterministic, ~12 KB."""
    rng = random.Random(0)
    lines = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 10))) + "." for _ in range(400)]
    path = tmp_path / "tiny.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def small_config(data: str, **train) -> Config:
    cfg = Config()
    cfg.data.spec = data
    cfg.model.cell, cfg.model.hidden, cfg.model.embed = "lstm", 32, 16
    t = cfg.train
    t.batch, t.seq_len, t.steps, t.log_interval, t.eval_interval = 8, 20, 40, 5, 20
    t.sample_interval, t.checkpoint_interval, t.sample_length, t.schedule = 20, 20, 30, "constant"
    t.threads = 1
    for key, value in train.items():
        setattr(t, key, value)
    return cfg.validate()


def train_tiny_run(root, text: str, name: str, steps: int = 30, layers: int = 1, tokenizer: str = "char"):
    """A small run trained in-process on ``text`` (a checkpoint to drive the app and commands)."""
    from rnn_tui.runs.rundir import RunDir
    from rnn_tui.train.trainer import train_run

    path = root / f"{name}.txt"
    path.write_text(text, encoding="utf-8")
    cfg = small_config(str(path), steps=steps)
    cfg.model.layers, cfg.data.tokenizer = layers, tokenizer
    run = RunDir.create(root, cfg.validate(), name=name)
    train_run(run)
    return run


def console_runs(root, **configs: Config):
    """root/"runs" with a run trained in-process for each of ``configs`` (name -> config), and "lm",
    a tiny language model a console pane (Translate, Classify, Forecast) must refuse; one trainer
    thread each (tiny matrices, and robust on a busy machine)."""
    from rnn_tui.runs.rundir import RunDir
    from rnn_tui.train.trainer import train_run

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RNN_TUI_ATTACHED", "1")
        for name, cfg in configs.items():
            train_run(RunDir.create(root / "runs", cfg, name=name))
        text = root / "t.txt"
        text.write_text("hello world.\n" * 200, encoding="utf-8")
        train_run(RunDir.create(root / "runs", small_config(str(text), steps=5), name="lm"))
    return root / "runs"


async def wait_for(pilot, condition, seconds: float = 10.0) -> bool:
    """Let the app run until ``condition()`` holds (workers post messages asynchronously)."""
    for _ in range(int(seconds / 0.05)):
        if condition():
            return True
        await pilot.pause(0.05)
    return condition()


@pytest.fixture
def one_torch_thread():
    """Tiny matrices: one thread is the fastest, and robust when other processes compete for the
    cores (OpenMP threads spin-wait otherwise; see docs/architecture.md)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def handwritten_run(root):
    """A finished run written by hand (no training, no timing): train records every 10 steps up
    to 1000 whose loss follows 4.2 → 1.5, grad_norm 0.8 → 0.3, lr 0.002; val records every 100
    steps a little above; one sample. Its curves are known exactly."""
    from rnn_tui.runs.rundir import RunDir

    cfg = Config()
    cfg.data.spec = "builtin:arith"
    run = RunDir.create(root, cfg, name="snapshot-run")
    for step in range(10, 1001, 10):
        loss = 1.5 + 2.7 * math.exp(-step / 150)
        run.append_metric({"event": "train", "step": step, "epoch": step / 500, "elapsed": step / 10, "loss": loss,
                           "ppl": math.exp(loss), "bpt": loss / math.log(2), "grad_norm": 0.3 + 0.5 * math.exp(-step / 80),
                           "clip_frac": 0.0, "lr": 0.002, "tokens_per_s": 20000.0, "progress": step / 1000, "eta_s": 0.0})
        if step % 100 == 0:
            run.append_metric({"event": "val", "step": step, "epoch": step / 500, "elapsed": step / 10,
                               "val_loss": loss + 0.1, "val_ppl": math.exp(loss + 0.1), "val_bpt": (loss + 0.1) / math.log(2),
                               "best": True, "lr_reduced": False})
    run.append_sample({"event": "sample", "step": 1000, "epoch": 2.0, "elapsed": 100.0, "prime": "12+3",
                       "text": "4=46\n7+5=12\n", "temperature": 0.8})
    status = json.loads(run.status_path.read_text())
    status.update(state="finished", step=1000, epoch=2.0, best_val_loss=1.6, pid=0, heartbeat=0, reason="budget reached")
    run.status_path.write_text(json.dumps(status))
    return run


_ON_DISK = object()


def history_of(path, step=_ON_DISK):
    """What the app knows of the run at ``path`` after its follower's first poll (what a pane's
    set_run is given); ``step`` pretends another checkpoint step (a run still training)."""
    from rnn_tui.runs.follower import RunFollower
    from rnn_tui.runs.rundir import RunDir
    from rnn_tui.tui.history import RunHistory

    run = RunDir(Path(path))
    history = RunHistory(run.id, str(run.path))
    history.apply(RunFollower(run).poll())
    if step is not _ON_DISK:
        history.checkpoint_step = step
    return history


def hold_lock_in_child(run) -> subprocess.Popen:
    """Another process that takes ``run``'s trainer lock (as a trainer would) and sleeps; returns once it holds it."""
    code = (f"from pathlib import Path; from rnn_tui.runs.rundir import RunDir; import time; "
            f"lock = RunDir(Path({str(run.path)!r})).lock(); print(1, flush=True); time.sleep(60)")
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline() == "1\n"
    return child


def set_safetensors_metadata(path, metadata: dict) -> None:
    """Replace the header metadata of the safetensors file ``path``; its tensors stay as they are."""
    data = path.read_bytes()
    n = int.from_bytes(data[:8], "little")
    header = {**json.loads(data[8 : 8 + n]), "__metadata__": metadata}
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)  # safetensors pads its header to 8 bytes
    path.write_bytes(len(raw).to_bytes(8, "little") + raw + data[8 + n :])


def safetensors_metadata(path) -> dict:
    data = path.read_bytes()
    return json.loads(data[8 : 8 + int.from_bytes(data[:8], "little")])["__metadata__"]


def text_of(app, selector) -> str:
    """What the widget ``selector`` of a running app shows, as plain text."""
    return str(app.query_one(selector).render())
