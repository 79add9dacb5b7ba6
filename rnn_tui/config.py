"""Configuration as plain data: three dataclasses, saved as the sections of ``config.toml``.

A run directory's ``config.toml`` holds everything needed to rebuild the data pipeline, the
model and the optimizer. Every field a user may set is declared once, here, with its help, label,
bounds and choices (``options.setting``): the flags of `rnn-tui train`, the app's forms and the
validation are all read off these declarations. Values are validated here, once, so every later
layer can trust them.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from rnn_tui.errors import RnnTuiError
from rnn_tui.options import Declared, SettingError, check, check_value, declared, setting, setting_of

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

TASKS = ("lm", "seq2seq", "classify", "forecast")
CELL_NAMES = ("rnn", "rnn-relu", "gru", "lstm", "peephole-lstm")  # models/cells.py CELLS implements each
SEQ2SEQ_CELLS = ("rnn", "gru", "lstm")
ATTENTIONS = ("none", "additive", "dot", "general")
TOKENIZERS = ("char", "word", "jieba")
POOLINGS = ("last", "mean", "max", "attention")  # models/classifier.py implements each (and imports this)
LM, SEQ2SEQ, CLASSIFY = ("lm",), ("seq2seq",), ("classify",)
FORECAST = ("forecast",)
TRANSFORMS = ("log", "diff", "sdiff")  # data/transforms.py applies them in this order, then scaling
STRATEGIES = ("direct", "recursive")  # models/forecaster.py implements each

@dataclass
class DataConfig:
    spec: str = setting("builtin:python-stdlib", "builtin:NAME, a file, a folder of .txt, or a downloaded corpus.",
                        label="dataset", flag="data")
    tokenizer: str = setting("char", "How text becomes tokens (jieba: Chinese words).", choices=TOKENIZERS,
                             tasks=LM + CLASSIFY, form=True)
    encoding: str = setting("utf-8", "Text encoding of the data file.", label="text encoding")
    val_fraction: float = setting(0.1, "The last part of the text (or a share of the pairs; a series: the last part before "
                                       "the test points) kept for validation.",
                                  label="validation fraction", lo=0.0, hi=0.5, form=True)
    test_fraction: float = setting(0.0, "The part held out for testing.", label="test fraction", lo=0.0, hi=0.5)
    min_freq: int = setting(1, "Rarer tokens become <unk>.", label="minimum token count", lo=1, hi=1e12)
    max_vocab: int = setting(0, "Keep the N most frequent tokens (0: all).", label="vocabulary limit", hint="0 = all", lo=0,
                             hi=1e12)
    lowercase: bool = setting(False, "Lowercase the text (translation: the source).")
    src_tokenizer: str = setting("word", "Source-side tokenizer.", label="source tokenizer", choices=TOKENIZERS,
                                 tasks=SEQ2SEQ)
    tgt_tokenizer: str = setting("char", "Target-side tokenizer.", label="target tokenizer", choices=TOKENIZERS,
                                 tasks=SEQ2SEQ)
    max_src_words: int = setting(0, "Drop pairs whose source has more words (tokens with a letter or digit; 0: keep all).",
                                 label="longest source (words)", hint="0 = keep all", lo=0, hi=1e6, tasks=SEQ2SEQ)
    test_size: int = setting(0, "Hold out exactly N pairs (or labeled texts), a seeded random choice that depends on the "
                                "data only, or the last N points of a series (0: use the test fraction).",
                             label="test examples", lo=0, hi=1e9, tasks=SEQ2SEQ + CLASSIFY + FORECAST)
    reverse: bool = setting(False, "The second column is the source.", label="reversed pairs", tasks=SEQ2SEQ)
    max_tokens: int = setting(400, "The most tokens of a text the classifier reads; longer texts are cut (0: all). "
                                   "Sorted batching puts the longest texts together, and one batch of 64 reviews of "
                                   "~2,800 characters took 66 s against 0.05 s for a typical batch (GRU-128, CPU).",
                              label="most tokens per text", hint="0 = all", lo=0, hi=1e9, tasks=CLASSIFY)
    label_column: str = setting("label", "The column of the class labels (a CSV/TSV file with a header).",
                                label="label column", tasks=CLASSIFY)
    text_column: str = setting("text", "The column of the texts (a CSV/TSV file with a header).", label="text column",
                               tasks=CLASSIFY)
    column: str = setting("", "The column to forecast, by name or index (empty: the last numeric column).",
                          label="target column", hint="empty = last numeric", tasks=FORECAST, form=True)
    date_column: str = setting("", "The column of dates, kept as written for display (empty: the first column when it "
                                    "holds no numbers or its name says date, time, year, month, week or day).",
                               label="date column", hint="empty = guess", tasks=FORECAST)
    features: str = setting("", "Other columns read as inputs beside the target's past, by name or index, "
                                "comma-separated (e.g. temp,rain).", label="input features", tasks=FORECAST)
    window: int = setting(24, "Past values the model reads to forecast.", label="window", lo=1, hi=100000,
                          tasks=FORECAST, form=True)
    horizon: int = setting(1, "Steps forecast from each window.", label="horizon", lo=1, hi=10000, tasks=FORECAST,
                           form=True)
    season: int = setting(0, "The season's length in steps (12: months of a year); the seasonal-naive baseline and the "
                             "sdiff transform use it (0: none).", label="season", hint="0 = none", lo=0, hi=100000,
                          tasks=FORECAST, form=True)
    transform: str = setting("", "Comma-separated, applied in this order before scaling: log, diff (first difference), "
                                 "sdiff (seasonal difference); fitted on the training part and inverted for every "
                                 "forecast and metric (empty: scaling only).", label="transforms", hint="log,diff,sdiff",
                             tasks=FORECAST, form=True)

    def validate(self) -> DataConfig:
        check(self)
        transforms = self.transforms()
        unknown = [t for t in transforms if t not in TRANSFORMS]
        if unknown:
            raise SettingError(f"transforms must be among {', '.join(TRANSFORMS)} (comma-separated); got {unknown[0]!r}",
                               "transform", "transform")
        if len(set(transforms)) < len(transforms):
            raise SettingError(f"transforms name one twice; got {self.transform!r}", "transform", "transform")
        if "sdiff" in transforms and not self.season:
            raise SettingError("the sdiff transform needs the season's length; set the season (e.g. 12 for months)",
                               "season", "season")
        return self

    def transforms(self) -> list[str]:
        """The transform setting as a list of names, in the order given."""
        return [t.strip() for t in self.transform.split(",") if t.strip()]

    def feature_columns(self) -> list[str]:
        """The features setting as a list of column names or indices."""
        return [f.strip() for f in self.features.split(",") if f.strip()]


@dataclass
class ModelConfig:
    cell: str = setting("lstm", "The recurrent cell.", choices=CELL_NAMES, form=True)
    layers: int = setting(1, "Stacked recurrent layers.", lo=1, hi=16, form=True)
    hidden: int = setting(512, "Units per layer.", label="hidden units", lo=1, hi=8192, form=True)
    embed: int = setting(64, "Embedding size (0: one-hot input).", label="embedding size", hint="0 = one-hot",
                         lo=0, hi=8192, tasks=LM + SEQ2SEQ + CLASSIFY, form=True)
    dropout: float = setting(0.0, "Dropout on the embeddings, between layers and before the output.", lo=0.0,
                             hi=0.95, form=True)
    token_dropout: float = setting(0.0, "Drop whole tokens while training: each input token's embedding is zeroed "
                                        "with this probability (the rest scaled by 1/(1 − p)), so that no single "
                                        "character or word can decide alone.", label="token dropout", lo=0.0,
                                   hi=0.95, tasks=CLASSIFY)
    tie_weights: bool = setting(False, "Share the embedding and output weights (needs embedding size = hidden units).",
                                label="tied weights", tasks=LM)
    init: str = setting("default", "Weight initialisation (orthogonal: the recurrent weights).", label="initialisation",
                        choices=("default", "xavier", "orthogonal"))
    forget_bias: float = setting(0.0, "LSTM forget-gate bias (1 is the classic choice).", label="forget-gate bias",
                                 lo=-100.0, hi=100.0)
    attention: str = setting("additive", "none (one context: the final encoder state), additive (Bahdanau), "
                                         "dot / general (Luong).", choices=ATTENTIONS, tasks=SEQ2SEQ)
    bidirectional: bool = setting(False, "The recurrent layers read the text both ways (translation: the encoder).",
                                  label="bidirectional", tasks=SEQ2SEQ + CLASSIFY)
    feed_context: bool = setting(True, "Without attention: feed the context to every decoder step.",
                                 label="context fed to the decoder", tasks=SEQ2SEQ)
    pooling: str = setting("last", "How the states become one vector: last (the final state of each direction), "
                                   "mean, max, or attention (a learned query over the states).", choices=POOLINGS,
                           tasks=CLASSIFY, form=True)
    ngram_expert: bool = setting(False, "The run's bag-of-n-grams logistic regression (its baseline, fitted at the "
                                        "start) votes with the recurrent network: their log-probabilities are "
                                        "averaged (a product of experts). The network trains on its own loss; "
                                        "`classify --split` shows it alone too.", label="n-gram expert",
                                 tasks=CLASSIFY)
    strategy: str = setting("direct", "direct: one output per step of the horizon at once; recursive: one step, fed "
                                      "back as the next input until the horizon.", choices=STRATEGIES, tasks=FORECAST,
                            form=True)
    highway: int = setting(0, "An autoregressive highway (LSTNet, Lai et al. 2018): a linear term on the last P values "
                              "of the window added to the recurrent output and trained with it; a run starts as the AR(P) "
                              "fitted by least squares on the training windows, and the recurrent layers learn what "
                              "it misses (0: off; at most the window).", label="AR highway", hint="0 = off", lo=0,
                           hi=100000, tasks=FORECAST)

    def validate(self, task: str = "lm") -> ModelConfig:
        check(self)
        if task == "seq2seq" and self.cell not in SEQ2SEQ_CELLS:
            raise SettingError(f"a translation model's cell must be one of {', '.join(SEQ2SEQ_CELLS)}; got {self.cell!r}",
                               "cell", "cell")
        if task == "lm" and self.tie_weights and self.embed != self.hidden:
            raise SettingError(f"tied weights need the embedding size equal to the hidden units ({self.hidden}); "
                               f"got {self.embed}", "tie_weights", "tie-weights")
        return self


@dataclass
class TrainConfig:
    optimizer: str = setting("adam", "The optimizer.", choices=("sgd", "adam", "adamw", "rmsprop", "adagrad"),
                             form=True)
    lr: float = setting(2e-3, "Learning rate.", label="learning rate", lo=1e-8, hi=100.0, form=True)
    momentum: float = setting(0.0, "SGD / RMSprop momentum.", lo=0.0, hi=0.999)
    weight_decay: float = setting(0.0, "L2 weight decay (AdamW: decoupled).", label="weight decay", lo=0.0, hi=10.0)
    schedule: str = setting("cosine", "How the learning rate moves: inverse-time is lr / (1 + decay · epoch); "
                                      "plateau cuts it when validation stalls.", label="lr schedule",
                            choices=("constant", "step", "cosine", "inverse-time", "plateau"), form=True)
    step_size: int = setting(1000, "Step schedule: steps between decays.", label="step-schedule interval", lo=1,
                             hi=1e12)
    gamma: float = setting(0.5, "Step / plateau schedule: the factor each decay multiplies by.", label="decay factor",
                           lo=0.0, lo_open=True, hi=1.0)
    decay: float = setting(0.5, "Inverse-time schedule: d in lr / (1 + d · epoch).", label="inverse-time decay",
                           lo=0.0, hi=1e6)
    plateau_patience: int = setting(2, "Plateau schedule: evaluations without improvement before a cut.",
                                    label="plateau patience", lo=0, hi=1e6)
    min_lr_fraction: float = setting(0.1, "Cosine schedule: the final learning rate as a fraction of the first.",
                                     label="final lr fraction", lo=0.0, hi=1.0)
    warmup: int = setting(0, "Steps of linear warm-up.", label="warm-up steps", lo=0, hi=1e12)
    clip: float = setting(1.0, "Gradient clipping threshold (0: off).", label="gradient clip", hint="0 = off",
                          lo=0.0, hi=1e6, form=True)
    clip_mode: str = setting("norm", "Clip the global norm, or each value.", label="clip mode",
                             choices=("norm", "value"))
    batch: int = setting(32, "Sequences (or pairs) per step.", label="batch size", lo=1, hi=65536, form=True)
    seq_len: int = setting(100, "Truncated-BPTT length: tokens per sequence and step.", label="BPTT length", lo=1,
                           hi=100000, tasks=LM, form=True)
    batching: str = setting("random", "sequential: stateful, the hidden state carried between batches; "
                                      "random: random chunks.", choices=("sequential", "random"), tasks=LM)
    epochs: float = setting(0.0, "Budget in epochs (budgets: the first one reached stops; none set = 1 epoch).",
                            label="epoch budget", lo=0, hi=1e12, resume=True)
    steps: int = setting(0, "Budget in optimizer steps.", label="step budget", lo=0, hi=1e12, resume=True)
    time: float = setting(0.0, "Budget in seconds of training.", label="time budget (s)", lo=0, hi=1e12, resume=True,
                          form=True)
    patience: int = setting(0, "Early stopping after N evaluations without improvement (0: off).",
                            label="early-stopping patience", lo=0, hi=1e12, resume=True)
    eval_interval: int = setting(200, "Steps between validations.", label="evaluation interval", lo=1, hi=1e12)
    eval_batches: int = setting(0, "Validation batches per evaluation (0: the whole split).",
                                label="validation batches", lo=0, hi=1e12)
    log_interval: int = setting(20, "Steps between metric records.", label="log interval", lo=1, hi=1e12)
    sample_interval: int = setting(500, "Steps between samples.", label="sample interval", lo=1, hi=1e12)
    sample_length: int = setting(200, "Tokens per sample.", label="sample length", lo=0, hi=1e6)
    checkpoint_interval: int = setting(500, "Steps between checkpoints.", label="checkpoint interval", lo=1, hi=1e12)
    checkpoint_seconds: float = setting(120.0, "Also save the latest checkpoint after this many seconds of training "
                                               "since the last one, so that a kill loses at most that much (0: by "
                                               "steps only).", label="checkpoint seconds", lo=0, hi=1e12)
    device: str = setting("auto", "Where to train.", choices=("auto", "cpu", "cuda", "mps"), resume=True, form=True)
    precision: str = setting("fp32", "Arithmetic of the forward pass and loss in training: bf16 and fp16 autocast "
                                     "(fp16, CUDA only, with a gradient scaler); the weights, evaluation, generation "
                                     "and inspection stay fp32.", choices=("fp32", "bf16", "fp16"), resume=True)
    seed: int = setting(1337, "Seed of everything random in the run.", lo=0, hi=2**63 - 1, form=True)
    threads: int = setting(0, "CPU threads (0: choose; 1 when started by the app).", label="CPU threads", lo=0,
                           hi=1e12, resume=True)
    nproc: int = setting(1, "Processes training one model together on each machine (torchrun and "
                            "DistributedDataParallel: gloo on CPU, NCCL on GPUs); --batch is each one's batch.",
                         label="processes", lo=1, hi=1024)
    nnodes: int = setting(1, "Machines training one model together, each running --nproc processes.",
                          label="machines", lo=1, hi=1024)
    node_rank: int = setting(0, "This machine's number among --nnodes (0: the one whose rank 0 writes the run).",
                             label="machine rank", lo=0, hi=1023, resume=True)
    master_addr: str = setting("127.0.0.1", "Address of machine 0, where the processes meet (several machines).",
                               label="master address", resume=True)
    master_port: int = setting(0, "Port on machine 0 where the processes meet (0: a free one; several machines "
                                  "need one).", label="master port", lo=0, hi=65535, resume=True)
    teacher_forcing: float = setting(1.0, "Probability of feeding the reference token (< 1: scheduled sampling).",
                                     label="teacher forcing", lo=0.0, hi=1.0, tasks=SEQ2SEQ)
    class_weights: bool = setting(False, "Weigh each class's loss by its inverse frequency (imbalanced data).",
                                  label="class weights", tasks=CLASSIFY)
    loss: str = setting("mse", "The forecast's loss on the transformed values: mean squared or mean absolute error.",
                        choices=("mse", "mae"), tasks=FORECAST)
    ar_order: int = setting(0, "The order p of the AR(p) baseline, fitted by least squares on the training part "
                               "(0: the window).", label="AR order", hint="0 = window", lo=0, hi=100000, tasks=FORECAST)

    def validate(self) -> TrainConfig:
        check(self)
        if self.node_rank >= self.nnodes:
            raise SettingError(f"machine rank must be below the number of machines ({self.nnodes}); got "
                               f"{self.node_rank}", "node_rank", "node-rank")
        return self


SECTIONS = ("data", "model", "train")


def check_lr(value: Any) -> float:
    """A learning rate for a running run (`control set-lr`, the app's l key): the rules of the
    declared ``lr``, plus being a number at all (it may come from a hand-written control line)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SettingError(f"learning rate must be a number; got {value!r}", "lr", "lr")
    check_value(setting_of(TrainConfig, "lr"), value)
    return float(value)


@dataclass
class Config:
    task: str = setting("lm", "lm: a language model on text; seq2seq: translation on source<TAB>target pairs; "
                              "classify: a label for each text; forecast: the next values of a time series.",
                        choices=TASKS)
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def validate(self) -> Config:
        check(self)
        self.data.validate()
        self.model.validate(self.task)
        self.train.validate()
        if self.task == "forecast" and self.model.strategy == "recursive" and self.data.feature_columns():
            raise SettingError("recursive forecasting feeds each forecast back as the next input, and the features' "
                               "future values are unknown; use the direct strategy or drop the features", "strategy",
                               "strategy")
        if self.task == "forecast" and self.model.highway > self.data.window:
            raise SettingError(f"the AR highway reads the last P values of the window; P ({self.model.highway}) is "
                               f"above the window ({self.data.window})", "highway", "highway")
        return self

    def settings(self) -> Iterator[tuple[str, Declared]]:
        """(section, declared setting) for every setting of every section, in declaration order."""
        for section in SECTIONS:
            for d in declared(getattr(self, section)):
                yield section, d

    def values(self) -> dict[str, Any]:
        """"section.name" -> value for every setting (the keys forms and flags use)."""
        return {f"{section}.{d.name}": getattr(getattr(self, section), d.name) for section, d in self.settings()}

    def assign(self, values: dict[str, Any]) -> Config:
        """Set "section.name" (or "task") -> value (not validated: call validate())."""
        for key, value in values.items():
            section, _, name = key.rpartition(".")
            setattr(getattr(self, section) if section else self, name, value)
        return self

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, raw: Any, *, where: str = "config") -> Config:
        """A config from its dict form (``to_dict``; the tables of a config.toml), each value
        converted to its setting's type, or one line naming what does not fit (not validated:
        call validate())."""
        if not isinstance(raw, dict):
            raise RnnTuiError(f"{where}: expected a table of settings, got {_short(raw)}")
        raw = dict(raw)
        cfg = cls(task=_coerce(raw.pop("task", "lm"), "lm", "task", where))
        for section in SECTIONS:
            values = raw.pop(section, {})
            if not isinstance(values, dict):
                raise RnnTuiError(f"{where}: [{section}] must be a table of settings, got {_short(values)}")
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
    def load(cls, path: str | Path, *, strict: bool = False) -> Config:
        """The config in the TOML file ``path``: any of the settings (``--config``), none given
        reading as its default; an empty file is refused, not taken for the default config.
        ``strict``: a run's config.toml, which rnn-tui writes whole (``task`` and every section),
        so a file without them is refused as damaged."""
        return cls.from_dict(_read_toml(Path(path), strict), where=str(path))

    @staticmethod
    def keys_in(path: str | Path) -> set[str]:
        """The settings the TOML file ``path`` gives: "task" and "section.name" keys (as ``assign`` takes)."""
        raw = _read_toml(Path(path), strict=False)
        tables = {section: raw[section] for section in SECTIONS if isinstance(raw.get(section), dict)}
        return ({"task"} & raw.keys()) | {f"{s}.{key.replace('-', '_')}" for s, table in tables.items() for key in table}


def _read_toml(path: Path, strict: bool) -> dict[str, Any]:
    """The tables of a config file (see ``Config.load``), or one line saying why not."""
    try:
        if path.exists() and not path.is_file():  # a folder, a device, a pipe: never read
            raise RnnTuiError(f"{path} is not a config file (a folder, a device or a pipe); give a config.toml")
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RnnTuiError(f"config file not found: {path}") from None
    except OSError as exc:
        raise RnnTuiError(f"cannot read {path}: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise RnnTuiError(f"{path}: not valid TOML ({exc})") from None
    if not raw:
        what = "the run's config is lost; start a new run" if strict else "give settings under [data], [model], [train]"
        raise RnnTuiError(f"{path} is empty (no settings); {what}")
    missing = [key for key in ("task", *SECTIONS) if key not in raw] if strict else []
    if missing:
        raise RnnTuiError(f"{path} was not written by rnn-tui (no {missing[0]!r}); the run's config is damaged: "
                          "start a new run")
    return raw


def _coerce(value: Any, default: Any, name: str, where: str) -> Any:
    """Convert a TOML/JSON value to the type of the field's default, or fail with one line: a
    whole number for an int, any number for a float, a string for a str (true is not a number)."""
    kind = type(default)
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind is float and number:
        return float(value)
    if kind is int and number and (isinstance(value, int) or value.is_integer()):
        return int(value)
    if kind not in (int, float) and isinstance(value, kind):
        return value
    raise RnnTuiError(f"{where}: {name} must be {kind.__name__}, got {_short(value)}")


def _short(value: Any) -> str:
    """``repr(value)``, cut to 60 characters: a message stays one short line."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
