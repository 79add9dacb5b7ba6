"""Greedy decoding and beam search, for the seq2seq model and for language models.

A hypothesis y_1..y_n is scored by its length-normalised log-probability

    score = log P(y) / L^α,     log P(y) = Σ_t log p(y_t | y_<t, x)

where L counts the generated tokens *including* <eos> (L = n + 1 for a hypothesis that ended
with <eos>, L = n for one cut at max_len; the <eos> is a real decision the model made and is
paid for in log P, so it counts). α = 0 is plain log P (favours short outputs); larger α favours
longer ones. <pad>, <unk> and <bos> are never generated.

Beam search keeps the K best live hypotheses as one batch of K rows (the source is encoded once
and expanded with Encoded.select; one decode_step per token serves every beam). At each step the
K·V extensions are ranked by log P and the best 2K taken: an <eos> extension among the best K
finishes (it is set aside with its score), the best K others stay live. The search stops after
max_len tokens, where the live hypotheses end, cut, or earlier when K hypotheses have finished and
the best live one, scored at its current length t, is no better than the worst of them. With this
rule beam 1 is greedy decoding.

That early stop is exact for α = 0: every further token adds log p ≤ 0, so no continuation of a
live hypothesis can score above it. For α > 0 it is a heuristic (the usual one): a continuation to
length L > t adding Δ ≤ 0 to log P scores (log P + Δ) / L^α, which beats log P / t^α when the
larger divisor gives back more than the new tokens cost, i.e. when |Δ| < |log P|·((L/t)^α − 1).
The stop therefore assumes that does not happen; for α ≤ 1 it is enough that the tokens a live
hypothesis would still generate cost on average at least as much (−log p per token) as its first
t tokens did. A continuation of unusually likely tokens can break this, and the beam then misses it.

The bookkeeping is one function, ``_search``, shared by ``beam_search`` (seq2seq) and
``lm_beam_search`` (a language model continuing a prime); they differ only in how a batch of
tokens is advanced one step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from rnn_tui.data.pairs import pad_batch
from rnn_tui.errors import RnnTuiError
from rnn_tui.models.evaluating import evaluating
from rnn_tui.models.lm import LanguageModel
from rnn_tui.models.seq2seq import BOS, EOS, NEVER_GENERATED, PAD, Encoded, Seq2Seq, reorder_state


@dataclass
class Hypothesis:
    ids: list[int]  # generated tokens, without <bos> and <eos>
    score: float  # logprob / L^α
    logprob: float  # log P of the tokens, <eos> included when it ended with one
    attention: torch.Tensor | None = None  # (L, S): α of each generated token (incl. <eos>); None without attention
    ended: bool = True  # finished with <eos> (False: cut at max_len)


def length_normalised(logprob: float, length: int, alpha: float) -> float:
    """log P / L^α."""
    return logprob / max(length, 1) ** alpha


# -----------------------------------------------------------------------------------------------
# the beam bookkeeping, shared

# step(tokens (n,), state) -> (logits (n, V), state, attention (n, S) or None)
Step = Callable[[torch.Tensor, Any], tuple[torch.Tensor, Any, torch.Tensor | None]]


def _search(step: Step, state: Any, logits: torch.Tensor, attn: torch.Tensor | None,
            reorder: Callable[[Any, torch.Tensor], Any], *, beam: int, alpha: float, nbest: int, max_len: int,
            eos_id: int | None, banned: tuple[int, ...]) -> list[Hypothesis]:
    """Beam search from one hypothesis whose next-token logits (1, V) and state are given.

    ``attn`` (1, S) or None is the attention that produced ``logits``; ``reorder(state, index)``
    picks rows of a batched state. Returns up to ``nbest`` finished hypotheses, best first."""
    if beam < 1:
        raise RnnTuiError(f"--beam must be at least 1; got {beam}")
    if not 1 <= nbest <= beam:
        raise RnnTuiError(f"--nbest must be between 1 and the beam width ({beam}); got {nbest}")
    if max_len < 1:
        raise RnnTuiError(f"--max-len must be at least 1; got {max_len}")
    K, V = beam, logits.size(-1)
    device = logits.device
    ban = torch.tensor(sorted(set(banned)), dtype=torch.long, device=device)
    live: list[list[int]] = [[]]  # the live hypotheses' tokens
    total = torch.zeros(1, device=device)  # their log P
    history = None  # (n, t, S): each live hypothesis's attention rows
    finished: list[Hypothesis] = []
    for t in range(1, max_len + 1):  # t = the number of tokens after this step
        logp = torch.log_softmax(logits.float(), dim=-1)
        if len(ban):
            logp.index_fill_(1, ban, float("-inf"))
        if attn is not None:
            history = attn[:, None].float() if history is None else torch.cat([history, attn[:, None].float()], 1)
        cand = (total[:, None] + logp).view(-1)  # log P of every extension, (n·V,)
        values, index = cand.topk(min(2 * K, cand.numel()))
        rows: list[int] = []
        tokens: list[int] = []
        kept: list[int] = []
        for rank, (value, i) in enumerate(zip(values.tolist(), index.tolist())):
            if value == float("-inf"):
                break
            row, token = divmod(i, V)
            if token == eos_id:
                if rank < K:  # an <eos> among the K best extensions finishes
                    finished.append(Hypothesis(live[row], length_normalised(value, t, alpha), value,
                                               None if history is None else history[row].cpu()))
            elif len(rows) < K:
                rows.append(row)
                tokens.append(token)
                kept.append(rank)
        if not rows:
            break
        live = [live[r] + [tok] for r, tok in zip(rows, tokens)]
        kept_t = torch.tensor(kept, device=device)
        total = values[kept_t]
        index_t = torch.tensor(rows, device=device)
        if history is not None:
            history = history.index_select(0, index_t)
        if t == max_len:  # out of room: the live hypotheses end here, cut
            finished += [Hypothesis(ids, length_normalised(v, t, alpha), v,
                                    None if history is None else history[j].cpu(), ended=False)
                         for j, (ids, v) in enumerate(zip(live, total.tolist()))]
            break
        finished = sorted(finished, key=lambda h: -h.score)[:K]
        if len(finished) >= K and length_normalised(float(total[0]), t, alpha) <= finished[-1].score:
            break  # the best live hypothesis (total is sorted) is assumed unable to beat the worst kept one (see top)
        state = reorder(state, index_t)
        logits, state, attn = step(torch.tensor(tokens, device=device), state)
    finished.sort(key=lambda h: -h.score)
    return finished[:nbest]


# -----------------------------------------------------------------------------------------------
# seq2seq


def _max_len(src_ids: list[int], max_len: int | None) -> int:
    """The most tokens to generate (<eos> included): given, or 2·S + 10."""
    if max_len is None:
        return 2 * len(src_ids) + 10
    if max_len < 1:
        raise RnnTuiError(f"--max-len must be at least 1; got {max_len}")
    return max_len


def _encode_one(model: Seq2Seq, src_ids: list[int]) -> Encoded:
    if not src_ids:
        raise RnnTuiError("nothing to translate: the source has no tokens")
    device = next(model.parameters()).device
    return model.encode(torch.tensor([list(src_ids)], device=device), torch.tensor([len(src_ids)], device=device))


def greedy(model: Seq2Seq, src_ids: list[int], max_len: int | None = None, alpha: float = 0.75) -> Hypothesis:
    """The most likely token at every step, until <eos> or ``max_len`` tokens (default 2·S + 10).
    ``alpha`` only sets the reported score (log P / L^α)."""
    max_len = _max_len(src_ids, max_len)
    with evaluating(model):
        enc = _encode_one(model, src_ids)
        device = enc.outputs.device
        ban = torch.tensor(NEVER_GENERATED, device=device)
        y, state = torch.tensor([BOS], device=device), enc.state
        ids, rows, total = [], [], torch.zeros((), device=device)
        for _ in range(max_len):
            logits, state, attn = model.decode_step(y, state, enc)
            logp = torch.log_softmax(logits[0].float(), dim=-1).index_fill_(0, ban, float("-inf"))
            y = logp.argmax().view(1)
            total = total + logp[y[0]]
            if attn is not None:
                rows.append(attn[0])
            token = int(y)
            if token == EOS:
                break
            ids.append(token)
        ended = token == EOS
        logprob = float(total)
        return Hypothesis(ids, length_normalised(logprob, len(ids) + ended, alpha), logprob,
                          torch.stack(rows).float().cpu() if rows else None, ended=ended)


def beam_search(model: Seq2Seq, src_ids: list[int], beam: int = 5, alpha: float = 0.75, nbest: int = 1,
                max_len: int | None = None) -> list[Hypothesis]:
    """The ``nbest`` best translations of one sentence (best first), the K beams batched."""
    max_len = _max_len(src_ids, max_len)
    with evaluating(model):
        enc1 = _encode_one(model, src_ids)
        expanded = {1: enc1}  # the one source, repeated for n live beams (all rows are alike)

        def advance(tokens: torch.Tensor, state: Any):
            n = len(tokens)
            if n not in expanded:
                expanded[n] = enc1.select(torch.zeros(n, dtype=torch.long, device=tokens.device))
            return model.decode_step(tokens, state, expanded[n])

        logits, state, attn = model.decode_step(torch.tensor([BOS], device=enc1.outputs.device), enc1.state, enc1)
        return _search(advance, state, logits, attn, reorder_state, beam=beam, alpha=alpha, nbest=nbest,
                       max_len=max_len, eos_id=EOS, banned=NEVER_GENERATED)


def greedy_batch(model: Seq2Seq, sources: list[list[int]], max_len: int | None = None,
                 batch_size: int = 64) -> list[list[int]]:
    """Greedy translations of many sentences (e.g. for validation BLEU), in the order given, each
    without <eos>. Sentences are sorted by length and decoded ``batch_size`` at a time; each
    stops at its own <eos> or its own max_len (default 2·S + 10). An empty source gives []."""
    if max_len is not None:
        _max_len([], max_len)  # validate
    results: list[list[int]] = [[] for _ in sources]
    order = sorted((i for i, s in enumerate(sources) if len(s)), key=lambda i: len(sources[i]))
    with evaluating(model):
        device = next(model.parameters()).device
        ban = torch.tensor(NEVER_GENERATED, device=device)
        for start in range(0, len(order), batch_size):
            chunk = order[start:start + batch_size]
            src, src_len, _ = pad_batch([sources[i] for i in chunk], PAD)
            enc = model.encode(src.to(device), src_len.to(device))
            limit = 2 * src_len + 10 if max_len is None else torch.full_like(src_len, max_len)
            y, state = torch.full((len(chunk),), BOS, device=device), enc.state
            done = torch.zeros(len(chunk), dtype=torch.bool, device=device)
            limit_d, steps = limit.to(device), []
            for t in range(int(limit.max())):
                logits, state, _ = model.decode_step(y, state, enc)
                y = logits.index_fill_(1, ban, float("-inf")).argmax(-1)
                steps.append(y)
                done |= (y == EOS) | (limit_d <= t + 1)
                if bool(done.all()):
                    break
            for row, (i, toks) in enumerate(zip(chunk, torch.stack(steps, 1).tolist())):
                toks = toks[:int(limit[row])]
                results[i] = toks[:toks.index(EOS)] if EOS in toks else toks
    return results


# -----------------------------------------------------------------------------------------------
# language models


def lm_beam_search(model: LanguageModel, prime: list[int], beam: int = 5, alpha: float = 0.75, length: int = 50, nbest: int = 1,
                   eos_id: int | None = EOS, banned: tuple[int, ...] = NEVER_GENERATED) -> list[Hypothesis]:
    """The ``nbest`` most likely continuations of ``prime`` (up to ``length`` tokens, or <eos>)
    under a LanguageModel: the prime through forward once, then one batched ``step`` per token."""
    if not prime:
        raise RnnTuiError("beam search needs at least one prime token")
    with evaluating(model):
        device = next(model.parameters()).device
        logits, state = model(torch.tensor([list(prime)], device=device))

        def advance(tokens: torch.Tensor, state: Any):
            return (*model.step(tokens, state), None)

        return _search(advance, state, logits[:, -1], None, reorder_state, beam=beam, alpha=alpha, nbest=nbest,
                       max_len=length, eos_id=eos_id, banned=tuple(banned))
