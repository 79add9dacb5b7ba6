"""Training a translator through the same Trainer and run directory: BLEU, samples, resume."""

import pytest

from rnn_tui.config import Config
from rnn_tui.errors import RnnTuiError
from rnn_tui.runs.checkpoint import load_checkpoint
from rnn_tui.runs.rundir import RunDir
from rnn_tui.train.trainer import train_run
from tests.typed_records import assert_written_as_typed


@pytest.fixture(autouse=True)
def one_thread(monkeypatch):
    monkeypatch.setenv("RNN_TUI_ATTACHED", "1")  # the trainer's own rule: one thread


def pairs_file(tmp_path, n=400):
    """Small English → Chinese pairs: "I have N cats ." → "我有N只猫。", plus two malformed lines."""
    digits = "零一二三四五六七八九"
    lines = [f"I have {i % 10} {'cats' if i % 2 else 'dogs'} .\t我有{digits[i % 10]}只{'猫' if i % 2 else '狗'}。\tCC-BY"
             for i in range(n)]
    lines.insert(7, "a line without a tab")
    lines.insert(30, "\tno source")
    path = tmp_path / "pairs.tsv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def s2s_config(data: str, **train) -> Config:
    cfg = Config(task="seq2seq")
    cfg.data.spec, cfg.data.test_size = data, 20
    cfg.model.cell, cfg.model.hidden, cfg.model.embed, cfg.model.attention = "gru", 32, 16, "additive"
    t = cfg.train
    t.schedule = "constant"  # a cosine schedule depends on the budget, which resuming changes
    t.batch, t.lr, t.steps, t.log_interval = 16, 0.01, 40, 5
    t.eval_interval, t.sample_interval, t.checkpoint_interval = 20, 20, 20
    for key, value in train.items():
        setattr(t, key, value)
    return cfg.validate()


def test_a_translator_trains_logs_bleu_and_samples(tmp_path):
    run = RunDir.create(tmp_path / "runs", s2s_config(str(pairs_file(tmp_path)), steps=120), name="t")
    end = train_run(run)
    assert end["state"] == "finished" and end["step"] == 120
    metrics = run.read_metrics()
    start = next(r for r in metrics if r["event"] == "start")
    assert start["task"] == "seq2seq" and start["skipped_lines"] == 2 and start["first_skipped"] == [8, 31]
    assert start["test_pairs"] == 20 and start["train_pairs"] + start["val_pairs"] == 380
    vals = [r for r in metrics if r["event"] == "val"]
    assert all(0 <= r["val_bleu"] <= 100 + 1e-9 for r in vals), vals  # sacrebleu can give 100.00000000000004
    assert vals[-1]["val_loss"] < vals[0]["val_loss"]
    assert vals[-1]["val_bleu"] > 50  # a tiny, regular language: greedy outputs mostly right
    train = [r for r in metrics if r["event"] == "train"]
    assert train[-1]["loss"] < train[0]["loss"] and all(r["tokens_per_s"] > 0 for r in train), train
    sample = run.read_samples()[-1]
    assert len(sample["translations"]) == 3
    item = sample["translations"][0]
    assert item["source"].startswith("I have") and item["reference"].startswith("我有")
    assert item["source"] in sample["text"] and item["hypothesis"] in sample["text"]
    ckpt = load_checkpoint(run.checkpoints, "latest")
    assert ckpt.meta["task"] == "seq2seq" and "猫" in ckpt.meta["tgt_vocab"]["itos"] and "cats" in ckpt.meta["src_vocab"]["itos"]
    assert_written_as_typed(run)  # seq2seq's start and val keys, samples with translations


def test_resume_continues_exactly_with_scheduled_sampling(tmp_path):
    data = str(pairs_file(tmp_path))
    cfg = s2s_config(data, steps=40, teacher_forcing=0.5)  # coin flips: the RNG state must be restored
    cfg.model.dropout = 0.2
    root = tmp_path / "runs"
    train_run(RunDir.create(root, cfg, name="whole"))
    cfg.train.steps = 20
    split = RunDir.create(root, cfg, name="split")
    train_run(split)
    resumed = split.config()
    resumed.train.steps = 40
    split.config_path.write_text(resumed.to_toml())
    train_run(split, resume=True)

    def numbers(run, event):
        keep = ("step", "loss", "grad_norm", "lr", "val_loss", "val_bleu")
        return [{k: r[k] for k in keep if k in r} for r in run.read_metrics() if r["event"] == event]

    whole = RunDir.open("whole", root)
    assert numbers(whole, "train") == numbers(split, "train")
    assert numbers(whole, "val") == numbers(split, "val")


def test_a_text_file_for_seq2seq_is_one_clear_error(tmp_path):
    text = tmp_path / "plain.txt"
    text.write_text("just some text\n" * 20, encoding="utf-8")
    run = RunDir.create(tmp_path / "runs", s2s_config(str(text)), name="bad")
    with pytest.raises(RnnTuiError, match="needs sentence pairs"):
        train_run(run)
    assert run.read_status()["state"] == "failed"
