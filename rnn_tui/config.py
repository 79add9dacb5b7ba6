"""Configuration as plain data: three dataclasses, saved as the sections of ``config.toml``.

A run directory's ``config.toml`` holds everything needed to rebuild the data pipeline, the
model and the optimizer. Values are validated here, once, so every later layer can trust them.
"""

from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from rnn_tui.errors import RnnTuiError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

TASKS = ("lm", "seq2seq")
ATTENTIONS = ("none", "additive", "dot", "general")
SEQ2SEQ_CELLS = ("rnn", "gru", "lstm")
TOKENIZERS = ("char", "word", "jieba")
CELLS = ("rnn", "rnn-relu", "gru", "lstm", "peephole-lstm")
INITS = ("default", "xavier", "orthogonal")
OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop", "adagrad")
SCHEDULES = ("constant", "step", "cosine", "inverse-time", "plateau")
CLIP_MODES = ("norm", "value")
BATCHING = ("sequential", "random")
DEVICES = ("auto", "cpu", "cuda", "mps")


@dataclass
class DataConfig:
    spec: str = "builtin:python-stdlib"  # builtin:NAME, a file, a folder of .txt, or a `data get` name
    tokenizer: str = "char"
    encoding: str = "utf-8"
    val_fraction: float = 0.1
    test_fraction: float = 0.0
    min_freq: int = 1
    max_vocab: int = 0  # 0 = no limit
    lowercase: bool = False
    # seq2seq (translation) only: a TSV of source<TAB>target pairs
    src_tokenizer: str = "word"
    tgt_tokenizer: str = "char"
    max_src_words: int = 0  # drop pairs whose source has more words (tokens with a letter or digit) than this; 0 = keep all
    test_size: int = 0  # hold out exactly this many pairs (a seeded random choice) for testing; 0 = test_fraction
    reverse: bool = False  # the second column is the source


@dataclass
class ModelConfig:
    cell: str = "lstm"
    layers: int = 1
    hidden: int = 512
    embed: int = 64  # 0 = one-hot input
    dropout: float = 0.0
    tie_weights: bool = False
    init: str = "default"
    forget_bias: float = 0.0  # 1.0 is the classic "forget-gate bias 1" (LSTM cells only)
    # seq2seq only
    attention: str = "additive"  # none | additive (Bahdanau) | dot | general (Luong)
    bidirectional: bool = False  # encoder reads the source both ways
    feed_context: bool = True  # attention=none: feed the final encoder state to every decoder step


@dataclass
class TrainConfig:
    optimizer: str = "adam"
    lr: float = 2e-3
    momentum: float = 0.0
    weight_decay: float = 0.0
    schedule: str = "cosine"
    step_size: int = 1000  # schedule=step: steps between decays
    gamma: float = 0.5  # schedule=step|plateau: decay factor
    decay: float = 0.5  # schedule=inverse-time: lr / (1 + decay * epoch)
    plateau_patience: int = 2  # schedule=plateau: evaluations without improvement
    min_lr_fraction: float = 0.1  # schedule=cosine: final lr = lr * this
    warmup: int = 0
    clip: float = 1.0  # 0 = off
    clip_mode: str = "norm"
    batch: int = 32
    seq_len: int = 100
    batching: str = "random"
    epochs: float = 0.0  # budgets: the first one reached stops training; all 0 = 1 epoch
    steps: int = 0
    time: float = 0.0  # seconds
    patience: int = 0  # early stopping: evaluations without val improvement (0 = off)
    eval_interval: int = 200
    eval_batches: int = 0  # 0 = whole validation split
    log_interval: int = 20
    sample_interval: int = 500
    sample_length: int = 200
    checkpoint_interval: int = 500
    device: str = "auto"
    seed: int = 1337
    threads: int = 0  # 0 = choose from what else runs
    teacher_forcing: float = 1.0  # seq2seq: probability of feeding the reference token (1 = always)


@dataclass
class Config:
    task: str = "lm"
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def validate(self) -> "Config":
        _choice("task", self.task, TASKS)
        _choice("tokenizer", self.data.tokenizer, TOKENIZERS)
        _choice("src-tokenizer", self.data.src_tokenizer, TOKENIZERS)
        _choice("tgt-tokenizer", self.data.tgt_tokenizer, TOKENIZERS)
        _choice("attention", self.model.attention, ATTENTIONS)
        _range("teacher-forcing", self.train.teacher_forcing, 0.0, 1.0)
        _range("max-src-words", self.data.max_src_words, 0, 1e6)
        _range("test-size", self.data.test_size, 0, 1e9)
        if self.task == "seq2seq":
            _choice("cell", self.model.cell, SEQ2SEQ_CELLS)
        _choice("cell", self.model.cell, CELLS)
        _choice("init", self.model.init, INITS)
        _choice("optimizer", self.train.optimizer, OPTIMIZERS)
        _choice("schedule", self.train.schedule, SCHEDULES)
        _choice("clip-mode", self.train.clip_mode, CLIP_MODES)
        _choice("batching", self.train.batching, BATCHING)
        _choice("device", self.train.device, DEVICES)
        _range("layers", self.model.layers, 1, 16)
        _range("hidden", self.model.hidden, 1, 8192)
        _range("embed", self.model.embed, 0, 8192)
        _range("dropout", self.model.dropout, 0.0, 0.95)
        _range("lr", self.train.lr, 1e-8, 100.0)
        _range("batch", self.train.batch, 1, 65536)
        _range("seq-len", self.train.seq_len, 1, 100000)
        _range("clip", self.train.clip, 0.0, 1e6)
        _range("val-fraction", self.data.val_fraction, 0.0, 0.5)
        _range("test-fraction", self.data.test_fraction, 0.0, 0.5)
        _range("min-freq", self.data.min_freq, 1, 1e12)
        _range("max-vocab", self.data.max_vocab, 0, 1e12)
        for name in ("epochs", "steps", "time", "patience", "threads", "warmup"):
            _range(name, getattr(self.train, name), 0, 1e12)
        for name in ("eval_interval", "log_interval", "sample_interval", "checkpoint_interval"):
            _range(name.replace("_", "-"), getattr(self.train, name), 1, 1e12)
        if self.model.tie_weights and self.model.embed != self.model.hidden:
            raise RnnTuiError(
                f"--tie-weights needs --embed equal to --hidden ({self.model.hidden}), got {self.model.embed}"
            )
        return self

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any], *, where: str = "config") -> "Config":
        raw = dict(raw)
        cfg = cls(task=raw.pop("task", "lm"))
        for section in ("data", "model", "train"):
            values = raw.pop(section, {}) or {}
            target = getattr(cfg, section)
            known = {f.name: f for f in fields(target)}
            for key, value in values.items():
                key = key.replace("-", "_")
                if key not in known:
                    raise RnnTuiError(f"{where}: unknown key [{section}] {key}; see `rnn-tui train --help`")
                setattr(target, key, _coerce(value, getattr(target, key), f"[{section}] {key}", where))
        if raw:
            raise RnnTuiError(f"{where}: unknown section or key {sorted(raw)[0]!r}")
        return cfg

    def to_toml(self) -> str:
        import tomli_w

        return tomli_w.dumps(self.to_dict())

    @classmethod
    def load(cls, path: str | Path) -> "Config":
        path = Path(path)
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise RnnTuiError(f"config file not found: {path}") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise RnnTuiError(f"{path}: not valid TOML ({exc})") from None
        return cls.from_dict(raw, where=str(path))


def _coerce(value: Any, default: Any, name: str, where: str) -> Any:
    """Convert a TOML/CLI value to the type of the field's default, or fail with one line."""
    kind = type(default)
    try:
        if kind is bool:
            if isinstance(value, bool):
                return value
            raise ValueError
        if kind is int:
            if isinstance(value, float) and not value.is_integer():
                raise ValueError
            return int(value)
        if kind is float:
            return float(value)
        return str(value)
    except (TypeError, ValueError):
        raise RnnTuiError(f"{where}: {name} must be {kind.__name__}, got {value!r}") from None


def _choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise RnnTuiError(f"--{name} must be one of {', '.join(choices)}; got {value!r}")


def _range(name: str, value: float, lo: float, hi: float) -> None:
    if not (lo <= value <= hi):
        raise RnnTuiError(f"--{name} must be between {lo:g} and {hi:g}; got {value!r}")
