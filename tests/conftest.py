import random

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
