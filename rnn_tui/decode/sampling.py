"""Sampling novel sequences from a language model, one token at a time.

The prime is run through the fused forward once; every new token then costs one
``model.step`` (the cheap incremental path). Tokens are yielded as they are produced, so a
console can stream them, each with the probability the model gave it (at temperature 1).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch

from rnn_tui.decode.settings import Sampling


@dataclass
class Sampled:
    id: int
    prob: float  # p(token | prefix) under the model, temperature 1
    logprob: float


def next_token_distribution(logits: torch.Tensor, s: Sampling) -> torch.Tensor:
    """The distribution to draw from: temperature, then top-k, then top-p (nucleus)."""
    logits = logits / max(s.temperature, 1e-6)
    if s.top_k > 0 and s.top_k < logits.numel():
        kth = torch.topk(logits, s.top_k).values[-1]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    probs = torch.softmax(logits, dim=-1)
    if s.top_p < 1.0:
        sorted_probs, order = torch.sort(probs, descending=True)
        before = torch.cumsum(sorted_probs, dim=-1) - sorted_probs  # mass strictly before each token
        sorted_probs[before >= s.top_p] = 0.0  # keep the smallest prefix with mass ≥ top_p
        probs = torch.zeros_like(probs).scatter(0, order, sorted_probs)
        probs = probs / probs.sum()
    return probs


@torch.no_grad()
def sample(model, prime: list[int], s: Sampling, banned: tuple[int, ...] = (), eos_id: int | None = None,
           unk_id: int | None = None) -> Iterator[Sampled]:
    """Yield up to ``s.length`` new tokens after ``prime`` (which must not be empty)."""
    if not prime:
        raise ValueError("sampling needs at least one prime token")
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    generator = torch.Generator().manual_seed(s.seed) if s.seed is not None else None
    ban = list(banned) + ([unk_id] if unk_id is not None and not s.allow_unk else [])
    try:
        logits, state = model(torch.tensor([prime], device=device))
        logits = logits[0, -1]
        for _ in range(s.length):
            logits = logits.float().cpu()
            if ban:
                logits[ban] = float("-inf")
            logp = torch.log_softmax(logits, dim=-1)
            if s.greedy:
                idx = int(torch.argmax(logits))
            else:
                idx = int(torch.multinomial(next_token_distribution(logits, s), 1, generator=generator))
            yield Sampled(id=idx, prob=float(logp[idx].exp()), logprob=float(logp[idx]))
            if s.stop_at_eos and eos_id is not None and idx == eos_id:
                return
            step_logits, state = model.step(torch.tensor([idx], device=device), state)
            logits = step_logits[0]
    finally:
        model.train(was_training)
