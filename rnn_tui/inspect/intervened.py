"""Inspect under an intervention: a language model's trace with units held at chosen values
(models/interventions.py), beside what the plain model predicted at each step.

The loaded run Inspect gets is the app's, shared with other panes' workers (Generate may be
sampling from it at that moment), so it is never changed: the intervened trace runs on a copy
of the model, and the plain numbers on the run as it is.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from rnn_tui.inspect.trace import TOPK, TraceData, lm_trace

if TYPE_CHECKING:
    from rnn_tui.api import LoadedRun


@dataclass
class InterventionTrace:
    data: TraceData  # the trace under the interventions
    interventions: list[str]  # as flags: "--ablate 0:12"
    before: list[list[float]]  # per t, the plain model's probability of each token of data.topk[t]
    before_logprob: list[float]  # per t, the plain model's log p of the actual next token


def intervened_trace(loaded: LoadedRun, text: str, interventions: Iterable[Any], topk: int = TOPK) -> InterventionTrace:
    """``text`` traced with ``interventions`` in force, and the plain model's probabilities of the
    tokens that trace shows; ``loaded`` is left as it was (the module's docstring)."""
    import copy

    import torch

    interventions = tuple(interventions)
    held = replace(loaded, model=copy.deepcopy(loaded.model))
    held.intervene(interventions)  # one clear line for a unit the model does not have
    data = lm_trace(held, text, topk)
    plain = loaded.trace(text, topk=len(loaded.vocab))  # every token, most likely first
    probs = torch.zeros_like(plain.topk_probs).scatter_(1, plain.topk_ids, plain.topk_probs)  # back in id order
    stoi = loaded.vocab.stoi
    before = [[float(probs[t, stoi[token]]) for token, _ in row] for t, row in enumerate(data.topk)]
    return InterventionTrace(data=data, interventions=[str(iv) for iv in interventions], before=before,
                             before_logprob=plain.next_logprob.tolist())
