"""Optimizers and learning-rate schedules.

The schedule is a pure function of where training is (step, epoch, fraction of the budget
done) plus one number of state for reduce-on-plateau, so resuming a run gives the same learning
rates, and a learning rate set by hand while training (``set-lr``) becomes the new base.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch

from rnn_tui.config import TrainConfig


def make_optimizer(cfg: TrainConfig, params, fused: bool = False) -> torch.optim.Optimizer:
    """The optimizer ``cfg`` names over ``params``. ``fused`` (the trainer's choice on CUDA): SGD,
    Adam and AdamW update every parameter in one kernel instead of several per parameter — a GPU
    step of these small models waits on the host's kernel launches — and, with fp16's gradient
    scaler, skip an overflowed step on the device, with no host wait to ask whether it overflowed."""
    wd = cfg.weight_decay
    fuse = fused or None  # None, not False: False would turn torch's multi-tensor default off too
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=wd, fused=fuse)
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, weight_decay=wd, fused=fuse)
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=wd, fused=fuse)
    if cfg.optimizer == "rmsprop":
        return torch.optim.RMSprop(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=wd)
    if cfg.optimizer == "adagrad":
        return torch.optim.Adagrad(params, lr=cfg.lr, weight_decay=wd)
    raise ValueError(cfg.optimizer)  # config.validate() has already refused it


@dataclass
class Schedule:
    """lr = base_lr × factor(step, epoch, progress); ``scale`` carries reduce-on-plateau's cuts."""

    kind: str
    base_lr: float
    warmup: int = 0
    step_size: int = 1000
    gamma: float = 0.5
    decay: float = 0.5
    min_lr_fraction: float = 0.1
    plateau_patience: int = 2
    scale: float = 1.0  # product of plateau reductions
    bad_evals: int = 0
    best: float = math.inf

    @classmethod
    def from_config(cls, cfg: TrainConfig) -> Schedule:
        return cls(
            kind=cfg.schedule, base_lr=cfg.lr, warmup=cfg.warmup, step_size=cfg.step_size, gamma=cfg.gamma,
            decay=cfg.decay, min_lr_fraction=cfg.min_lr_fraction, plateau_patience=cfg.plateau_patience,
        )

    def lr(self, step: int, epoch: int, progress: float) -> float:
        """Learning rate for optimizer step ``step`` (0-based), in completed epoch ``epoch``."""
        if self.kind == "constant" or self.kind == "plateau":
            factor = 1.0
        elif self.kind == "step":
            factor = self.gamma ** (step // self.step_size)
        elif self.kind == "cosine":
            lo = self.min_lr_fraction
            factor = lo + (1 - lo) * 0.5 * (1 + math.cos(math.pi * min(max(progress, 0.0), 1.0)))
        elif self.kind == "inverse-time":
            factor = 1.0 / (1.0 + self.decay * epoch)
        else:  # pragma: no cover - validated in config
            raise ValueError(self.kind)
        if self.warmup and step < self.warmup:
            factor *= (step + 1) / self.warmup
        return self.base_lr * factor * self.scale

    def observe(self, val_loss: float) -> bool:
        """Feed a validation loss; reduce-on-plateau cuts the rate after ``patience`` bad evals."""
        if val_loss < self.best - 1e-4:
            self.best, self.bad_evals = val_loss, 0
            return False
        self.bad_evals += 1
        if self.kind == "plateau" and self.bad_evals > self.plateau_patience:
            self.scale *= self.gamma
            self.bad_evals = 0
            return True
        return False

    def set_lr(self, lr: float, step: int, epoch: int, progress: float) -> None:
        """Make the schedule give ``lr`` now (a user's set-lr), keeping its shape from here on."""
        self.scale = 1.0
        current = self.lr(step, epoch, progress)
        self.base_lr = self.base_lr * lr / current if current > 0 else lr

    def state(self) -> dict:
        state = asdict(self)
        state["best"] = None if math.isinf(self.best) else self.best  # keep the JSON strict
        return state

    @classmethod
    def from_state(cls, state: dict) -> Schedule:
        state = dict(state)
        if state.get("best") is None:
            state["best"] = math.inf
        return cls(**state)


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr
