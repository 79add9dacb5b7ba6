"""What the app knows about each followed run, built only from follower snapshots."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rnn_tui.runs.follower import RunSnapshot


@dataclass
class RunHistory:
    run_id: str
    path: str
    status: dict[str, Any] = field(default_factory=dict)
    train: list[dict[str, Any]] = field(default_factory=list)  # "train" metric records
    val: list[dict[str, Any]] = field(default_factory=list)  # "val" records
    events: list[dict[str, Any]] = field(default_factory=list)  # start / control / end
    samples: list[dict[str, Any]] = field(default_factory=list)
    checkpoint_step: int | None = None

    def apply(self, snap: RunSnapshot) -> None:
        if snap.reset:
            self.train, self.val, self.events, self.samples = [], [], [], []
        self.status = dict(snap.status)
        self.checkpoint_step = snap.checkpoint_step
        for record in snap.new_metrics:
            kind = record.get("event")
            (self.train if kind == "train" else self.val if kind == "val" else self.events).append(dict(record))
        self.samples.extend(dict(s) for s in snap.new_samples)

    @property
    def state(self) -> str:
        return str(self.status.get("state", "?"))

    def summary(self) -> str:
        """One status line: state, step, epoch, losses, speed, ETA."""
        s = self.status
        parts = [f"{self.run_id}: {self.state}", f"step {s.get('step', 0)}", f"epoch {s.get('epoch', 0):.2f}"]
        if self.train:
            last = self.train[-1]
            parts += [f"loss {last['loss']:.3f}", f"ppl {last['ppl']:.2f}", f"{last['tokens_per_s']:,.0f} tok/s",
                      f"lr {last['lr']:.2e}"]
            if last.get("eta_s") is not None and self.state in ("running", "paused"):
                parts.append(f"ETA {_clock(last['eta_s'])}")
        if self.val:
            parts.append(f"val {self.val[-1]['val_loss']:.3f}")
            if self.val[-1].get("val_bleu") is not None:
                parts.append(f"BLEU {self.val[-1]['val_bleu']:.1f}")
        if s.get("error"):
            parts.append(f"— {s['error']}")
        return " · ".join(parts)


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 60}:{seconds % 60:02d}"
