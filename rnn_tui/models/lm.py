"""The language model: tokens -> embedding (or one-hot) -> stacked recurrent layer -> logits.

    x_t      = E[token_t]          (or the one-hot vector of token_t when embed = 0)
    h_t      = Recurrent(x_t, h_{t-1})    (the cell's equations, cells.py)
    logits_t = W_out h_t + b_out   (W_out shares E's storage with tie_weights)
    p(token_{t+1} | tokens_≤t) = softmax(logits_t)

Three ways to run it, all on the same weights:
    forward  the whole sequence through the fused kernel (training, scoring)
    step     one token at a time via the step functions (generation)
    trace    every gate and state at every step (inspection)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn as nn
import torch.nn.functional as F

from rnn_tui.config import ModelConfig
from rnn_tui.errors import RnnTuiError
from rnn_tui.models.cells import State
from rnn_tui.models.init import init_weights
from rnn_tui.models.recurrent import Recurrent, layer_states, trace_vectors


@dataclass
class Trace:
    """One sequence through the model, every intermediate kept (float32, on the cpu); the state
    before step t is inspect.trace.state_before_step."""

    tokens: list[int]  # input ids, length T
    cell: str
    layers: int
    hidden: int
    vectors: dict[str, torch.Tensor]  # f"{layer}.{name}" e.g. "0.h", "1.f" -> (T, H) float32 on cpu
    topk_ids: torch.Tensor  # (T, k): the most likely next tokens after each position
    topk_probs: torch.Tensor  # (T, k)
    next_logprob: torch.Tensor  # (T-1,): log-prob of the actual next token
    state_before: list[State] = field(default_factory=list)  # per layer, the state before t = 0, each (H,)


class LanguageModel(nn.Module):
    def __init__(self, cfg: ModelConfig, vocab_size: int) -> None:
        super().__init__()
        self.cfg, self.vocab_size = cfg, vocab_size
        if cfg.tie_weights and cfg.embed != cfg.hidden:
            raise RnnTuiError(f"--tie-weights needs a learned embedding of size --hidden ({cfg.hidden}); "
                              f"got --embed {cfg.embed}"
                              + (" (one-hot input has no embedding to share)" if cfg.embed == 0 else ""))
        # input: a learned embedding, or the one-hot vector itself (input size = vocab)
        self.embed = nn.Embedding(vocab_size, cfg.embed) if cfg.embed > 0 else None
        input_size = cfg.embed if cfg.embed > 0 else vocab_size
        self.drop = nn.Dropout(cfg.dropout)  # on the embeddings and on the top layer's outputs
        self.rnn = Recurrent(cfg.cell, input_size, cfg.hidden, cfg.layers, cfg.dropout)
        self.head = nn.Linear(cfg.hidden, vocab_size)
        if cfg.tie_weights:
            # one matrix both reads tokens in and scores them out (Press & Wolf 2017); start it at
            # the head's scale, U(−1/√H, 1/√H), not the embedding's N(0, 1) (huge initial logits)
            assert self.embed is not None  # checked above: tied weights need an embedding
            self.head.weight = self.embed.weight
            nn.init.uniform_(self.embed.weight, -1 / math.sqrt(cfg.hidden), 1 / math.sqrt(cfg.hidden))
        init_weights(self, cfg.init, cfg.forget_bias)

    def _input(self, idx: torch.Tensor) -> torch.Tensor:
        """Token ids (any shape) -> input vectors (same shape + (I,))."""
        if self.embed is not None:
            return self.embed(idx)
        return F.one_hot(idx, self.vocab_size).to(self.head.weight.dtype)

    def init_state(self, batch: int, device: torch.device | str | None = None) -> State:
        return self.rnn.init_state(batch, device)

    def forward(self, idx: torch.Tensor, state: State | None = None) -> tuple[torch.Tensor, State]:
        """idx (B, T) -> logits (B, T, V) for the token after each position, final state."""
        x = self.drop(self._input(idx))
        out, state = self.rnn(x, state)
        return self.head(self.drop(out)), state

    @torch.no_grad()
    def step(self, idx: torch.Tensor, state: State | None) -> tuple[torch.Tensor, State]:
        """One token per sequence, idx (B,) -> logits (B, V), new state. Same numbers as forward."""
        if state is None:
            state = self.init_state(idx.size(0), idx.device)
        h, state = self.rnn.step(self._input(idx), state)
        return F.linear(h, self.head.weight, self.head.bias), state

    @torch.no_grad()
    def trace(self, idx: list[int] | torch.Tensor, topk: int = 5) -> Trace:
        """Run one sequence through the step functions, keeping every intermediate."""
        ids = [int(i) for i in (idx.flatten().tolist() if isinstance(idx, torch.Tensor) else idx)]
        if not ids:
            raise RnnTuiError("nothing to trace: the text has no tokens")
        device = self.head.weight.device
        x = self._input(torch.tensor(ids, device=device))  # (T, I)
        state0 = self.init_state(1, device)
        parts, _ = self.rnn.trace(x, state0)
        vectors = trace_vectors(parts)
        logp = torch.log_softmax(self.head(vectors[f"{self.rnn.layers - 1}.h"].to(device, self.head.weight.dtype)).float(), -1)
        top = torch.topk(logp, min(topk, self.vocab_size), dim=-1)
        targets = torch.tensor(ids[1:], device=device, dtype=torch.long)
        return Trace(
            tokens=ids, cell=self.cfg.cell, layers=self.cfg.layers, hidden=self.cfg.hidden, vectors=vectors,
            topk_ids=top.indices.cpu(), topk_probs=top.values.exp().cpu(),
            next_logprob=logp[:-1].gather(1, targets[:, None])[:, 0].cpu(),
            state_before=layer_states(state0),
        )

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())  # parameters() counts a tied matrix once
