"""Scoring text under a language model: per-token surprisal, perplexity, bits per token; and the
change in loss per class of token that an intervention (models/interventions.py) makes."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TypedDict

import torch

from rnn_tui.errors import RnnTuiError
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


# -- the change in loss per token class (an intervention's effect) -------------------------------

Classes = list[tuple[str, Callable[[str], bool]]]  # (name, does this character belong), first match wins

# the default groups of characters; the last one takes every character the others do not
DEFAULT_CLASSES: Classes = [
    ("close", lambda ch: ch in ")]}"),
    ("open", lambda ch: ch in "([{"),
    ("letter", str.isalpha),
    ("digit", str.isdigit),
    ("space", str.isspace),
    ("punct", lambda ch: True),
]
MIXED = "mixed"  # a token whose characters fall in different classes (a word with a comma, <eos>)


def parse_classes(specs: Sequence[str]) -> Classes:
    """``NAME=CHARS`` groups (``\\n``, ``\\t`` and ``\\s`` stand for newline, tab and space), in the
    order given, then ``rest`` for every other character; none given: DEFAULT_CLASSES."""
    if not specs:
        return DEFAULT_CLASSES
    classes: Classes = []
    for spec in specs:
        name, eq, chars = spec.partition("=")
        chars = chars.replace("\\n", "\n").replace("\\t", "\t").replace("\\s", " ")
        if not eq or not name.strip() or not chars:
            raise RnnTuiError(f"--class {spec}: expected NAME=CHARS, e.g. close=)]}}")
        if name.strip() in {n for n, _ in classes} | {"rest", "all"}:
            raise RnnTuiError(f"--class {spec}: the name {name.strip()!r} is taken; give each class its own name")
        classes.append((name.strip(), chars.__contains__))
    return [*classes, ("rest", lambda ch: True)]


def token_class(token: str, classes: Classes) -> str:
    """The class of every character of ``token``, or MIXED when they differ."""
    names = {next(name for name, member in classes if member(ch)) for ch in token}
    return names.pop() if len(names) == 1 else MIXED


# name; tokens: scored tokens of this class (the token predicted); without / with: the mean loss in
# nats/token without and with the intervention; change: with − without; rest_change: the change on
# every other token (None for "all"); ratio: change ÷ rest_change (None when that is ≤ 0 or None)
ClassChange = TypedDict("ClassChange", {"name": str, "tokens": int, "without": float, "with": float, "change": float,
                                        "rest_change": float | None, "ratio": float | None})


def loss_change(tokens: Sequence[str], without: Sequence[float | None], with_: Sequence[float | None],
                classes: Classes = DEFAULT_CLASSES) -> list[ClassChange]:
    """Per class of the predicted token (in ``classes`` order, then MIXED; only the classes that
    occur), then ``all``: its mean loss without and with an intervention, the change, and the
    change as a multiple of the change on the other tokens. ``without`` / ``with_`` are
    score_ids' log-probabilities (None for the first token)."""
    by_class: dict[str, list[tuple[float, float]]] = {}
    for token, a, b in zip(tokens, without, with_):
        if a is not None and b is not None:
            by_class.setdefault(token_class(token, classes), []).append((-a, -b))
    order = [name for name, _ in classes] + [MIXED]
    groups = [*sorted(by_class.items(), key=lambda kv: order.index(kv[0])),
              ("all", [pair for pairs in by_class.values() for pair in pairs])]
    rows: list[ClassChange] = []
    for name, pairs in groups:
        rest = [pair for other, ps in by_class.items() if other != name for pair in ps] if name != "all" else []
        change, rest_change = _mean_change(pairs), _mean_change(rest) if rest else None
        rows.append({"name": name, "tokens": len(pairs), "without": sum(a for a, _ in pairs) / len(pairs),
                     "with": sum(b for _, b in pairs) / len(pairs), "change": change, "rest_change": rest_change,
                     "ratio": change / rest_change if rest_change is not None and rest_change > 0 else None})
    return rows


def _mean_change(pairs: list[tuple[float, float]]) -> float:
    return sum(b - a for a, b in pairs) / len(pairs)
