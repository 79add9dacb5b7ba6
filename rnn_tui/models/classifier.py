"""The sequence classifier (many-to-one): tokens -> embedding -> recurrent layers -> pooling -> logits.

    x_t    = E[token_t]          (or the one-hot vector of token_t when embed = 0)
    h_t    = Recurrent(x_t, h_{t-1})       t = 1..n, each text stopping at its own length n
    bidirectional: a second stack reads x_n..x_1 and h_t = [→h_t ; ←h_t] (2H), ←h_t being its
        state after reading x_n..x_t. As in seq2seq.py the two directions are separate stacks:
        layer k of each reads layer k−1 of the same direction only.
    pooling, over the real positions 1..n only (never the padding):
        last       v = →h_n, or [→h_n ; ←h_1]: each direction's state after its last token
        mean       v = (1/n) Σ_t h_t
        max        v_k = max_t h_t,k
        attention  u_t = tanh(W_a h_t + b_a);  α = softmax_t(qᵀ u_t);  v = Σ_t α_t h_t
                   (q a learned query vector: Yang et al. 2016's word attention)
    logits = W_out v + b_out;    p(class | text) = softmax(logits)
    with the n-gram expert (cfg.ngram_expert, models/ngram_expert.py): the run's bag-of-n-grams
        logistic regression z = W x + b votes too, by the log-linear pool
        log p(class | text) = ½ log softmax(logits) + ½ log softmax(z) + const
        (training: the recurrent network's own loss, on its logits alone)

Dropout (cfg.dropout) on the embeddings, between layers and on v; token dropout (cfg.token_dropout)
zeroes whole input vectors while training. A padded batch is packed
(pack_padded_sequence) through the recurrent layers, so a text gives the same logits alone or
in a batch. Ways to run, all on the same weights:
    forward       a padded batch -> logits (training, evaluation; alone=True: the recurrent network's
                  own, without the expert's vote)
    pool_weights  one text -> α (attention pooling)
    prefix_probs  one text -> the class probabilities after each prefix (inspection)
    trace         one text -> every gate and state of every layer at every step, both directions (inspection)
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from rnn_tui.config import POOLINGS, ModelConfig
from rnn_tui.errors import RnnTuiError
from rnn_tui.models.cells import State
from rnn_tui.models.evaluating import evaluating
from rnn_tui.models.init import init_weights
from rnn_tui.models.ngram_expert import NgramExpert
from rnn_tui.models.recurrent import Recurrent, layer_states, run_packed, run_packed_reversed, trace_vectors

PREFIX_CHUNK = 2**22  # prefix_probs: at most this many floats of pooled states per batch of prefixes


class Classifier(nn.Module):
    def __init__(self, cfg: ModelConfig, vocab_size: int, n_classes: int, pooling: str) -> None:
        super().__init__()
        if pooling not in POOLINGS:
            raise RnnTuiError(f"--pooling must be one of {', '.join(POOLINGS)}; got {pooling!r}")
        if n_classes < 2:
            raise RnnTuiError(f"a classifier needs at least 2 classes; got {n_classes}")
        if cfg.tie_weights:
            raise RnnTuiError("--tie-weights is for language models; turn it off for classification")
        self.cfg, self.vocab_size, self.n_classes, self.pooling = cfg, vocab_size, n_classes, pooling
        H = cfg.hidden
        # input: a learned embedding, or the one-hot vector itself (input size = vocab)
        self.embed = nn.Embedding(vocab_size, cfg.embed) if cfg.embed > 0 else None
        input_size = cfg.embed if cfg.embed > 0 else vocab_size
        self.drop = nn.Dropout(cfg.dropout)  # on the embeddings and on the pooled vector
        self.rnn = Recurrent(cfg.cell, input_size, H, cfg.layers, cfg.dropout)
        self.rnn_b = Recurrent(cfg.cell, input_size, H, cfg.layers, cfg.dropout) if cfg.bidirectional else None
        self.out_size = D = 2 * H if cfg.bidirectional else H  # the size of h_t and of v
        self.att_key = nn.Linear(D, D) if pooling == "attention" else None  # u_t = tanh(W_a h_t + b_a)
        self.att_query = nn.Linear(D, 1, bias=False) if pooling == "attention" else None  # qᵀ u_t
        self.head = nn.Linear(D, n_classes)
        self.expert = NgramExpert(vocab_size, n_classes) if cfg.ngram_expert else None  # fitted by the task
        init_weights(self, cfg.init, cfg.forget_bias)

    def _input(self, idx: torch.Tensor) -> torch.Tensor:
        """Token ids (any shape) -> input vectors (same shape + (I,))."""
        if self.embed is not None:
            return self.embed(idx)
        return F.one_hot(idx, self.vocab_size).to(self.head.weight.dtype)

    def _drop_tokens(self, e: torch.Tensor) -> torch.Tensor:
        """Training with token dropout p: each token's input vector zeroed with probability p, the
        others scaled by 1/(1 − p) (AWD-LSTM's embedding dropout, per position)."""
        p = self.cfg.token_dropout
        if not (self.training and p):
            return e
        keep = torch.rand(e.shape[:-1], device=e.device) >= p
        return e * (keep.unsqueeze(-1).to(e.dtype) / (1 - p))

    # -- the pieces: states, pooling, logits ---------------------------------------------------------

    def states(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """x (B, T) padded ids, lengths (B,) -> the top layer's h_t (B, T, D), 0 on pads."""
        if bool((lengths < 1).any()):
            raise RnnTuiError("a text has no tokens; nothing to classify")
        e = self.drop(self._drop_tokens(self._input(x)))
        out, _ = run_packed(self.rnn, e, lengths)
        if self.rnn_b is not None:
            out_b, _ = run_packed_reversed(self.rnn_b, e, lengths)
            out = torch.cat([out, out_b], dim=-1)  # h_t = [→h_t ; ←h_t]
        return out

    def pool(self, h: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """h (B, T, D), lengths (B,) -> v (B, D), and α (B, T) for attention pooling (else None).
        Positions at or past a row's length never count, whatever h holds there."""
        B, T, _ = h.shape
        lengths = lengths.to(h.device, non_blocking=True)  # a batch keeps them on the CPU (packing): no wait
        real = torch.arange(T, device=h.device)[None, :] < lengths[:, None]  # (B, T)
        if self.pooling == "last":
            last = h[torch.arange(B, device=h.device), lengths - 1]  # (B, D): h_n
            if self.rnn_b is None:
                return last, None
            H = self.cfg.hidden
            return torch.cat([last[:, :H], h[:, 0, H:]], dim=-1), None  # [→h_n ; ←h_1]
        if self.pooling == "mean":
            return (h * real[:, :, None]).sum(1) / lengths[:, None], None
        if self.pooling == "max":
            return h.masked_fill(~real[:, :, None], float("-inf")).amax(1), None
        assert self.att_key is not None and self.att_query is not None  # built for attention pooling
        scores = self.att_query(torch.tanh(self.att_key(h))).squeeze(-1)  # qᵀ tanh(W_a h_t + b_a)
        alpha = torch.softmax(scores.masked_fill(~real, float("-inf")), dim=-1)  # exactly 0 on pads
        return (alpha[:, :, None] * h).sum(1), alpha

    def logits(self, h: torch.Tensor, lengths: torch.Tensor, x: torch.Tensor, alone: bool = False) -> torch.Tensor:
        """States h (B, T, D) of the texts x (B, T) -> logits (B, C), pooled with the n-gram
        expert's unless ``alone`` (or there is none)."""
        logits = self.head(self.drop(self.pool(h, lengths)[0]))
        if alone or self.expert is None:
            return logits
        return 0.5 * (logits.log_softmax(-1) + self.expert(x, lengths).log_softmax(-1))

    def forward(self, x: torch.Tensor, lengths: torch.Tensor, alone: bool = False) -> torch.Tensor:
        """x (B, T) padded ids, lengths (B,) -> logits (B, C); ``alone``: the recurrent network's own."""
        return self.logits(self.states(x, lengths), lengths, x, alone)

    # -- one text (inspection) -------------------------------------------------------------------------

    def _one(self, idx: list[int] | torch.Tensor) -> torch.Tensor:
        ids = [int(i) for i in (idx.flatten().tolist() if isinstance(idx, torch.Tensor) else idx)]
        if not ids:
            raise RnnTuiError("nothing to classify: the text has no tokens")
        return torch.tensor(ids, device=self.head.weight.device)

    def pool_weights(self, idx: list[int] | torch.Tensor) -> torch.Tensor:
        """One text's ids (T,) -> α (T,) float32 on the cpu: how much each position's h_t counts
        in v (attention pooling only; they sum to 1)."""
        if self.pooling != "attention":
            raise RnnTuiError(f"only attention pooling has weights; this model pools by {self.pooling!r}")
        x = self._one(idx)
        lengths = torch.tensor([x.numel()])
        with evaluating(self):
            _, alpha = self.pool(self.states(x[None], lengths), lengths)
        assert alpha is not None
        return alpha[0].float().cpu()

    def prefix_probs(self, idx: list[int] | torch.Tensor) -> torch.Tensor:
        """One text's ids (T,) -> (T, C) float32 on the cpu: row t is p(class | x_1..x_t+1), how
        the decision moves as each token is read (eval mode: the same numbers as forward on
        that prefix alone).

        Cost: unidirectional, one recurrent pass over the text (→h_t after a prefix is the same
        as inside the whole text), then each prefix pooled: O(T) for last, O(T²·D) cheap
        elementwise work for mean / max / attention. Bidirectional, ←h_t depends on where the
        prefix ends, so every prefix is read again by both stacks: T recurrent passes of lengths
        1..T, batched, about T/2 times the cost of classifying the text once. Prefixes go in
        batches of at most PREFIX_CHUNK floats of states."""
        x = self._one(idx)
        T = x.numel()
        lengths = torch.arange(1, T + 1)
        chunk = max(1, PREFIX_CHUNK // (T * self.out_size))
        probs = []
        with evaluating(self):
            h_text = self.states(x[None], lengths[-1:]) if self.rnn_b is None else None
            for lo in range(0, T, chunk):
                ls = lengths[lo:lo + chunk]
                n, longest = ls.numel(), int(ls[-1])
                if h_text is not None:  # the prefixes share the text's states
                    logits = self.logits(h_text[:, :longest].expand(n, -1, -1), ls, x[None, :longest].expand(n, -1))
                else:
                    logits = self(x[None, :longest].expand(n, -1), ls)
                probs.append(torch.softmax(logits.float(), dim=-1))
        return torch.cat(probs).cpu()

    def trace(self, idx: list[int] | torch.Tensor) -> tuple[dict[str, torch.Tensor], list[State]]:
        """One text's ids (T,) through the step functions (Recurrent.trace, the same weights):
        f"{layer}.{name}" -> (T, H) for →, and f"b{layer}.{name}" for ← stored by position (row j:
        after reading x_T..x_j, as Seq2SeqTrace.encoder), float32 on the cpu; and per layer the
        state both directions start from."""
        x = self._one(idx)
        with evaluating(self):
            e = self._input(x)
            state0 = self.rnn.init_state(1, x.device)
            vectors = trace_vectors(self.rnn.trace(e, state0)[0])
            if self.rnn_b is not None:
                backward = trace_vectors(self.rnn_b.trace(e.flip(0), state0)[0], "b")
                vectors.update({key: v.flip(0) for key, v in backward.items()})
        return vectors, layer_states(state0)

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())
