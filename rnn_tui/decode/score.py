"""Scoring text under a language model: per-token surprisal, perplexity, bits per token."""

from __future__ import annotations

import math

import torch

from rnn_tui.results import TokenScores

LN2 = math.log(2)


@torch.no_grad()
def score_ids(model: torch.nn.Module, ids: list[int], top: int = 10) -> TokenScores:
    """Log-probabilities of ``ids[1:]``, each given the tokens before it (the first is context).

    Returns ``logprobs`` (natural log, ``None`` for the first token), ``surprisal_bits``,
    ``nll`` (total, nats), ``ppl`` = exp(nll / scored), ``bpt`` = nll / scored / ln 2, and the
    ``most_surprising`` positions.
    """
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    x = torch.tensor([ids], device=device)
    logits, _ = model(x[:, :-1])
    logp = torch.log_softmax(logits[0].float(), dim=-1)
    picked = logp.gather(1, x[0, 1:, None].to(logp.device))[:, 0].cpu()
    model.train(was_training)
    nll = -float(picked.sum())
    n = len(ids) - 1
    scored = [float(v) for v in picked]  # of ids[1:]
    order = sorted(range(1, len(ids)), key=lambda i: scored[i - 1])[:top]
    return {
        "ids": ids,
        "logprobs": [None, *scored],
        "surprisal_bits": [None, *(-lp / LN2 for lp in scored)],
        "scored": n,
        "nll": nll,
        "ppl": math.exp(min(nll / n, 50)),
        "bpt": nll / n / LN2,
        "most_surprising": [{"position": i, "logprob": scored[i - 1], "bits": -scored[i - 1] / LN2} for i in order],
    }
