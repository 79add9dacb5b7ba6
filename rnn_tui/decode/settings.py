"""How to decode, as value objects checked where they are built: ``Sampling`` and ``Beam``.

Each field a user may set is declared once (``options.setting``); the commands' flags, the app's
fields and the checks are read off the declaration, so `rnn-tui generate`, the Generate tab and
the API refuse the same values with the same words. No torch here: `--help` reads these.
"""

from __future__ import annotations

from dataclasses import dataclass

from rnn_tui.options import SettingError, check, setting

MAX_BEAM = 64


@dataclass(frozen=True)
class Sampling:
    """How to draw each next token: greedy, or temperature, then top-k, then top-p."""

    greedy: bool = setting(False, "Always take the most likely token.")
    temperature: float = setting(1.0, "Divide the logits by T before sampling (below 1 sharper, above 1 more varied).",
                                 lo=0.0, lo_open=True, hi=100.0)
    top_k: int = setting(0, "Sample from the K most likely tokens (0: off).", label="top-k", lo=0, hi=1e9)
    top_p: float = setting(1.0, "Nucleus sampling: the fewest tokens holding this much probability (1: off).",
                           label="top-p", lo=0.0, lo_open=True, hi=1.0)
    length: int = setting(200, "Tokens to generate.", lo=1, hi=1_000_000)
    seed: int | None = setting(None, "Seed for a reproducible sample (none: a new one each time).", kind=int,
                               optional=True, lo=0, hi=2**63 - 1)
    stop_at_eos: bool = True
    allow_unk: bool = setting(False, "Let the model emit <unk>.", label="allow <unk>")

    def __post_init__(self) -> None:
        check(self)


@dataclass(frozen=True)
class Beam:
    """Beam search: keep the ``width`` best prefixes, rank finished ones by log P / L^α."""

    width: int = setting(1, "Beam width (1: greedy).", label="beam width", lo=1, hi=MAX_BEAM, flag="beam")
    alpha: float = setting(0.75, "Length penalty: hypotheses are ranked by log P / L^α (0: no penalty).", label="α",
                           lo=0.0, hi=5.0)
    nbest: int = setting(1, "How many hypotheses to return (at most the beam width).", label="n-best", lo=1,
                         hi=MAX_BEAM)

    def __post_init__(self) -> None:
        check(self)
        if self.nbest > self.width:
            raise SettingError(f"n-best must be at most the beam width ({self.width}); got {self.nbest}", "nbest", "nbest")
