"""The encoder–decoder (seq2seq) model for translation, with or without attention.

Encoder: reads the source x_1..x_S (a Recurrent, so the cell's equations are cells.py's)
    e_j  = E_src[x_j]
    h_j  = Encoder(e_j, h_{j-1})                           h_0 = 0, every layer
    bidirectional: a second encoder reads x_S..x_1 (each sentence reversed within its own length);
         h_j = [→h_j ; ←h_j]  (2H);   for every layer  s_0 = tanh(W_b [→h_S ; ←h_1] + b_b)
         (one W_b shared by the layers; the LSTM's c gets its own W_b', b_b'). The two directions
         are separate stacks: layer k of each reads layer k−1 of the same direction only (in
         nn.LSTM(bidirectional=True) it reads both), so each is a plain Recurrent to step through.
    unidirectional: s_0 = the encoder's final state, layer by layer

Decoder: y_0 = <bos>; step t reads y_{t-1} and scores y_t (trained on <bos> y_1..y_T against
y_1..y_T <eos>). s_t is the decoder's state; s_t in the lines below means its top layer's h.
    none      (the classic encoder–decoder) c = s_0 (top layer), one fixed context vector
              s_t = Decoder([E_tgt[y_{t-1}] ; c], s_{t-1})     ("; c" only with feed_context)
              logits_t = W_out s_t + b_out
    additive  (Bahdanau; d2l's Seq2SeqAttentionDecoder)
              e_tj = vᵀ tanh(W_q s_{t-1} + W_k h_j)     (W_k h_j computed once per sentence)
              α_t = softmax_j(e_tj)                    c_t = Σ_j α_tj h_j
              s_t = Decoder([E_tgt[y_{t-1}] ; c_t], s_{t-1})
              s̃_t = tanh(W_c [c_t ; s_t]);  logits_t = W_out s̃_t + b_out
              (the context reaches the output through an H-wide readout, as Bahdanau's maxout
              layer does: W_out reads H values, not H + 2H, which makes it ~2× cheaper)
    dot       (Luong) s_t = Decoder(E_tgt[y_{t-1}], s_{t-1})      (no input feeding)
              e_tj = s_tᵀ h_j     (bidirectional: s_tᵀ W_k h_j, W_k maps 2H -> H)
    general   (Luong) as dot with e_tj = s_tᵀ W_k h_j
              dot/general: α_t, c_t as above;  s̃_t = tanh(W_c [c_t ; s_t]);  logits_t = W_out s̃_t + b_out
    p(y_t | y_<t, x) = softmax(logits_t). Padding: e_tj = −inf on pad positions, so α_tj = 0 exactly.

Variable-length batches are packed (pack_padded_sequence) through the fused encoder, so a sentence
gives the same numbers alone or in a padded batch. Ways to run, all on the same weights:
    forward      a whole batch, teacher-forced: the fused decoder over all steps for none/dot/general;
                 additive keeps in its time loop only what depends on s_{t-1} (the scores, softmax
                 and recurrent layers; that attention step's backward written out), the keys, the
                 input projection's shares and the output layer batched over all steps
    forward_steps  the same one decoder step at a time (decode_step's step): scheduled sampling,
                 and the reference the batched paths are tested against
    decode_step  one token per sentence (greedy, beam search)
    trace        every gate and state of encoder and decoder for one sentence (inspection)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn as nn
import torch.nn.functional as F

from rnn_tui.config import ATTENTIONS, SEQ2SEQ_CELLS, ModelConfig
from rnn_tui.data.vocab import Vocab
from rnn_tui.errors import RnnTuiError
from rnn_tui.models.cells import State
from rnn_tui.models.init import init_weights
from rnn_tui.models.loop_products import LoopWeight, Steps
from rnn_tui.models.recurrent import Recurrent, layer_states, run_packed, run_packed_reversed, trace_vectors

PAD, UNK, BOS, EOS = Vocab.pad_id, Vocab.unk_id, Vocab.bos_id, Vocab.eos_id
NEVER_GENERATED = (PAD, UNK, BOS)  # a decoder never emits these (greedy, beam search, trace)
LUONG = ("dot", "general")

DecoderState = State  # (h,) or (h, c), each (L, B, H): the batch is dim 1, as in Recurrent


def reorder_state(state: DecoderState, index: torch.Tensor) -> DecoderState:
    """Pick (and repeat) sentences of a batched state: beam search follows its back-pointers."""
    return tuple(s.index_select(1, index) for s in state)


def loss(logits: torch.Tensor, tgt_out: torch.Tensor, pad_id: int = PAD) -> torch.Tensor:
    """Cross-entropy of logits (B, T, V) against tgt_out (B, T), mean over the real (non-pad) tokens."""
    return F.cross_entropy(logits.reshape(-1, logits.size(-1)), tgt_out.reshape(-1), ignore_index=pad_id)


class _AdditiveStep(torch.autograd.Function):
    """One step of additive attention for teacher-forced training, its backward written out (fewer,
    fused passes over the (B, S, H) scores than autograd's). From the query state s (B, H):
    e_j = vᵀ tanh(W_q s + k_j) over the keys (B, S, H), pads −inf; α = softmax(e) (B, S); and
    gx + Σ_j α_j values_j (B, G). W_q's, the keys' and the values' gradients are summed over the
    loop's steps by ``steps`` (Steps).

    tanh(p) = 2σ(2p) − 1 (torch.tanh is ~2× slower than σ on the cpu), and only u = σ(2p) is
    kept: vᵀ tanh(p_j) = 2 vᵀu_j − Σv, whose constant the softmax ignores, and tanh' = 4u(1 − u)."""

    @staticmethod
    def forward(ctx, s: torch.Tensor, w_q: torch.Tensor, keys: torch.Tensor, v: torch.Tensor,
                pads: torch.Tensor, gx: torch.Tensor, values: torch.Tensor, steps: Steps,
                w_q_loop: LoopWeight) -> tuple[torch.Tensor, torch.Tensor]:
        device = s.device.type
        dtype = torch.get_autocast_dtype(device) if torch.is_autocast_enabled(device) else s.dtype
        with torch.autocast(device, enabled=False):  # under autocast (--precision): all in its dtype, softmax in float32
            s, keys, v, gx, values = (t.to(dtype) for t in (s, keys, v, gx, values))  # (W_q: w_q_loop, cast per x)
            q2 = w_q_loop.times(s).mul_(2)
            u = torch.add(q2[:, None, :], keys, alpha=2).sigmoid_()  # σ(2 (W_q s + k_j)), (B, S, H)
            e = (u @ v).mul_(2).masked_fill_(pads, float("-inf"))  # pads get weight exactly 0
            alpha = torch.softmax(e, dim=-1, dtype=torch.float32).to(dtype)
            ctx.save_for_backward(s, u, v, alpha, values)
            ctx.steps, ctx.w_q_loop = steps, w_q_loop
            steps.count += 1
            return alpha, torch.baddbmm(gx[:, None, :], alpha[:, None, :], values).squeeze(1)

    @staticmethod
    def backward(ctx, grad_alpha: torch.Tensor, grad_out: torch.Tensor):
        s, u, v, alpha, values = ctx.saved_tensors  # one dtype (each gradient is cast back to its input's)
        grad_alpha, grad_out = grad_alpha.to(alpha.dtype), grad_out.to(alpha.dtype)
        # ∂α = grad_alpha + grad_out valuesᵀ  (as (B,1,G)(B,G,S): values @ grad_out is ~10× slower on the cpu)
        d_alpha = torch.baddbmm(grad_alpha[:, None, :], grad_out[:, None, :], values.transpose(1, 2)).squeeze(1)
        d_e = alpha * (d_alpha - (alpha * d_alpha).sum(-1, keepdim=True))  # through the softmax
        # ∂(W_q s + k_j) = v ⊙ 4 ∂e_j u_j(1 − u_j): for the query summed over j now, for the keys
        # summed over the steps in place (v applied once at the end)
        w, d_e4 = torch.addcmul(u, u, u, value=-1), 4 * d_e[:, :, None]
        d_q = torch.bmm(d_e4.transpose(1, 2), w).squeeze(1).mul_(v)
        steps = ctx.steps
        steps.running = w.mul_(d_e4) if steps.running is None else steps.running.addcmul_(w, d_e4)
        d_v = 2 * (d_e.reshape(1, -1) @ u.reshape(-1, u.size(-1)))[0]  # Σ ∂e (2u − 1), and Σ_j ∂e_j = 0 (softmax)
        every = steps.add(s, d_q, alpha, grad_out)
        if every is None:
            return ctx.w_q_loop.times_t(d_q), None, None, d_v, None, grad_out, None, None, None
        s_all, d_q_all, alpha_all, grad_out_all = every  # (B, T, ·)
        d_keys, steps.running = steps.running.mul_(v), None
        d_w_q = d_q_all.flatten(0, 1).T @ s_all.flatten(0, 1)
        d_values = alpha_all.transpose(1, 2) @ grad_out_all
        return ctx.w_q_loop.times_t(d_q), d_w_q, d_keys, d_v, None, grad_out, d_values, None, None


@dataclass
class Encoded:
    """What the decoder needs from the source, computed once per sentence (batch in dim 0)."""

    outputs: torch.Tensor  # (B, S, He) the top layer's h_j (He = 2H when bidirectional); 0 on pads
    keys: torch.Tensor | None  # (B, S, ·) what queries are scored against: W_k h_j (or h_j for dot); None without attention
    mask: torch.Tensor  # (B, S) bool, True on real source tokens
    state: DecoderState  # the decoder's initial state s_0, each (L, B, H)
    context: torch.Tensor | None  # (B, H) the fixed context c (attention "none"), else None

    def select(self, index: torch.Tensor) -> Encoded:
        """The sentences at ``index`` (repeats allowed): e.g. one source expanded to a beam of K."""

        def rows(t: torch.Tensor | None) -> torch.Tensor | None:
            return None if t is None else t.index_select(0, index)

        return Encoded(self.outputs.index_select(0, index), rows(self.keys), self.mask.index_select(0, index),
                       reorder_state(self.state, index), rows(self.context))


@dataclass
class Seq2SeqTrace:
    """One sentence pair through the model, every intermediate kept (float32, on the cpu); the
    state before step t is inspect.trace.state_before_step."""

    src_ids: list[int]  # S source ids
    tgt_ids: list[int]  # T ids the decoder produced at each step (forced or greedy), <eos> included if reached
    inputs: list[int]  # T ids the decoder read: <bos> + tgt_ids[:-1]
    cell: str
    layers: int
    hidden: int
    attention_kind: str
    bidirectional: bool
    encoder: dict[str, torch.Tensor]  # f"{layer}.{name}" -> (S, H); backward direction "b{layer}.{name}",
    #                                   row j = after reading x_S..x_j (so rows line up with source tokens)
    decoder: dict[str, torch.Tensor]  # f"{layer}.{name}" -> (T, H), every gate of every step
    attention: torch.Tensor | None  # (T, S): α_t over the source, rows sum to 1
    topk_ids: torch.Tensor  # (T, k) the most likely tokens at each step
    topk_probs: torch.Tensor  # (T, k)
    logprobs: torch.Tensor  # (T,) log p(tgt_ids[t])
    decoder_state_before: list[State] = field(default_factory=list)  # per layer, s_0 (each (H,))
    encoder_state_before: list[State] = field(default_factory=list)  # per layer, where both directions start (each (H,))


class Seq2Seq(nn.Module):
    def __init__(self, cfg: ModelConfig, src_vocab_size: int, tgt_vocab_size: int) -> None:
        super().__init__()
        if cfg.embed <= 0:
            raise RnnTuiError("seq2seq needs a learned embedding: set --embed > 0 (one-hot input is for language models)")
        if cfg.cell not in SEQ2SEQ_CELLS:
            raise RnnTuiError(f"seq2seq supports --cell {', '.join(SEQ2SEQ_CELLS)}; got {cfg.cell!r}")
        if cfg.attention not in ATTENTIONS:
            raise RnnTuiError(f"--attention must be one of {', '.join(ATTENTIONS)}; got {cfg.attention!r}")
        if cfg.tie_weights:
            raise RnnTuiError("--tie-weights is for language models; turn it off for seq2seq")
        self.cfg, self.src_vocab_size, self.tgt_vocab_size = cfg, src_vocab_size, tgt_vocab_size
        self.attention = cfg.attention
        E, H, L = cfg.embed, cfg.hidden, cfg.layers
        self.src_embed = nn.Embedding(src_vocab_size, E)
        self.tgt_embed = nn.Embedding(tgt_vocab_size, E)
        self.drop = nn.Dropout(cfg.dropout)  # on the embeddings and on what the output layer reads

        # encoder (and its backward twin), and the bridge to the decoder's first state
        self.encoder = Recurrent(cfg.cell, E, H, L, cfg.dropout)
        self.encoder_b = Recurrent(cfg.cell, E, H, L, cfg.dropout) if cfg.bidirectional else None
        He = 2 * H if cfg.bidirectional else H
        self.enc_size = He
        n_state = len(self.encoder.init_state(1))  # 1 for (h,), 2 for (h, c)
        self.bridge = nn.ModuleList([nn.Linear(2 * H, H) for _ in range(n_state)]) if cfg.bidirectional else None

        # attention: W_k h_j is precomputed per sentence (additive: W_k; general: W; dot: only to match sizes)
        needs_w_k = cfg.attention in ("additive", "general") or (cfg.attention == "dot" and He != H)
        self.w_k = nn.Linear(He, H, bias=False) if needs_w_k else None
        self.w_q = nn.Linear(H, H, bias=False) if cfg.attention == "additive" else None
        self.v = nn.Linear(H, 1, bias=False) if cfg.attention == "additive" else None
        self.w_c = nn.Linear(He + H, H, bias=False) if cfg.attention != "none" else None

        # decoder: its input is the target embedding, plus c_t (additive) or c (none + feed_context)
        extra = He if cfg.attention == "additive" else (H if cfg.attention == "none" and cfg.feed_context else 0)
        self.decoder = Recurrent(cfg.cell, E + extra, H, L, cfg.dropout)
        self.head = nn.Linear(H, tgt_vocab_size)
        init_weights(self, cfg.init, cfg.forget_bias)

    # -- the encoder -------------------------------------------------------------------------------

    def encode(self, src: torch.Tensor, src_len: torch.Tensor) -> Encoded:
        """src (B, S) padded ids, src_len (B,) -> Encoded (outputs, keys, mask, s_0, context)."""
        _B, S = src.shape
        if bool((src_len < 1).any()):
            raise RnnTuiError("a source sentence has no tokens; nothing to translate")
        lengths, src_len = src_len, src_len.to(src.device, non_blocking=True)  # packing reads them on the CPU
        x = self.drop(self.src_embed(src))
        out, state = run_packed(self.encoder, x, lengths)
        if self.encoder_b is not None:
            out_b, state_b = run_packed_reversed(self.encoder_b, x, lengths)
            out = torch.cat([out, out_b], dim=-1)  # h_j = [→h_j ; ←h_j]
            # s_0 = tanh(W_b [→h_S ; ←h_1] + b_b), layer by layer (and for c with its own W_b')
            assert self.bridge is not None  # built with the backward encoder
            state = tuple(torch.tanh(bridge(torch.cat([f, b], dim=-1)))
                          for bridge, f, b in zip(self.bridge, state, state_b))
        mask = torch.arange(S, device=src.device)[None, :] < src_len[:, None]
        if self.w_k is not None:
            keys = self.w_k(out)
        else:
            keys = out if self.attention == "dot" else None
        context = state[0][-1] if self.attention == "none" else None
        return Encoded(outputs=out, keys=keys, mask=mask, state=state, context=context)

    # -- the pieces of a decoder step ----------------------------------------------------------------

    def _attend(self, query: torch.Tensor, enc: Encoded) -> tuple[torch.Tensor, torch.Tensor]:
        """query (B, T, H) -> context c_t (B, T, He) and weights α_t (B, T, S)."""
        assert enc.keys is not None  # every attention precomputes its keys (encode)
        if self.attention == "additive":
            assert self.v is not None and self.w_q is not None
            scores = self.v(torch.tanh(self.w_q(query)[:, :, None, :] + enc.keys[:, None, :, :])).squeeze(-1)
        else:  # dot / general: s_tᵀ keys_j
            scores = query @ enc.keys.transpose(1, 2)
        scores = scores.masked_fill(~enc.mask[:, None, :], float("-inf"))  # pads get weight exactly 0
        alpha = torch.softmax(scores, dim=-1)
        return alpha @ enc.outputs, alpha

    def _input(self, emb: torch.Tensor, ctx: torch.Tensor | None, enc: Encoded) -> torch.Tensor:
        """The decoder's input: emb (B, [T,] E), joined by c_t (additive) or c (none + feed_context)."""
        if self.attention == "additive":
            assert ctx is not None
            return torch.cat([emb, ctx], dim=-1)
        if self.attention == "none" and self.cfg.feed_context:
            assert enc.context is not None
            c = enc.context if emb.dim() == 2 else enc.context[:, None, :].expand(-1, emb.size(1), -1)
            return torch.cat([emb, c], dim=-1)
        return emb

    def _output(self, s: torch.Tensor, ctx: torch.Tensor | None) -> torch.Tensor:
        """Logits from the decoder's top-layer h (and the context)."""
        if self.attention == "none":
            return self.head(self.drop(s))
        assert self.w_c is not None and ctx is not None
        return self._readout(self.w_c(torch.cat([ctx, s], dim=-1)))

    def _readout(self, pre: torch.Tensor) -> torch.Tensor:
        """Logits from W_c [c_t ; s_t]: s̃_t = tanh(W_c [c_t ; s_t]);  logits_t = W_out s̃_t + b_out."""
        return self.head(self.drop(torch.tanh(pre)))

    def _step(self, emb: torch.Tensor, state: DecoderState, enc: Encoded,
              rnn: Callable[[torch.Tensor, State], tuple[torch.Tensor, State]]):
        """One decoder step on embedded inputs emb (B, E); ``rnn`` runs the recurrent layers
        ((B, I), state) -> (top layer's h (B, H), new state). Returns logits, state, α_t or None."""
        ctx = alpha = None
        if self.attention == "additive":  # Bahdanau: the query is the previous state s_{t-1}
            ctx, alpha = self._attend(state[0][-1][:, None, :], enc)
            ctx, alpha = ctx[:, 0], alpha[:, 0]
        s, state = rnn(self._input(emb, ctx, enc), state)
        if self.attention in LUONG:  # Luong: the query is the new state s_t
            ctx, alpha = self._attend(s[:, None, :], enc)
            ctx, alpha = ctx[:, 0], alpha[:, 0]
        return self._output(s, ctx), state, alpha

    def _decoder_rnn(self, x: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        """One token through the decoder's layers inside forward_steps: the step functions, except
        while training with dropout between layers, where the fused kernel on a length-1 sequence
        applies that dropout exactly as the fused path over all steps does."""
        if self.training and self.decoder.layers > 1 and self.cfg.dropout > 0:
            out, state = self.decoder(x[:, None, :], state)
            return out[:, 0], state
        return self.decoder.step(x, state)

    # -- the whole batch ---------------------------------------------------------------------------------

    def forward(self, src: torch.Tensor, src_len: torch.Tensor, tgt_in: torch.Tensor, teacher_forcing: float = 1.0,
                generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """src (B, S), src_len (B,), tgt_in (B, T) = <bos> + target -> logits (B, T, V), α (B, T, S) or None.

        teacher_forcing < 1 is scheduled sampling: at each step after the first, each sentence
        reads the reference token with that probability, otherwise the model's own argmax of the
        previous step (drawn with ``generator``, or torch's global generator); forward_steps runs it."""
        if teacher_forcing < 1.0:
            return self.forward_steps(src, src_len, tgt_in, teacher_forcing, generator)
        enc = self.encode(src, src_len)
        emb = self.drop(self.tgt_embed(tgt_in))
        if self.attention == "additive":
            return self._forced_additive(emb, enc)
        # every input is known: the fused decoder runs all T steps in one call
        s, _ = self.decoder(self._input(emb, None, enc), enc.state)
        ctx, alpha = self._attend(s, enc) if self.attention in LUONG else (None, None)
        return self._output(s, ctx), alpha

    def _forced_additive(self, emb: torch.Tensor, enc: Encoded) -> tuple[torch.Tensor, torch.Tensor]:
        """Teacher-forced additive attention: the same numbers as forward_steps, with everything that
        does not depend on s_{t-1} taken out of the time loop. Layer 1's input projection
        W_ih [E y_{t-1} ; c_t] + b_ih is split by columns: the embedding's share for all steps in
        one product, the context's as Σ_j α_tj (W_ih,c h_j) with W_ih,c h_j projected once per
        batch (as the keys W_k h_j). The loop keeps only the attention scores, the softmax and the
        recurrent layers, whose products with a fixed weight (W_q s, W_hh h) use weights packed
        once per batch (loop_products.py); the output layer s̃_t -> logits runs once over all steps."""
        assert self.w_q is not None and self.v is not None and enc.keys is not None  # additive builds them
        w = self.decoder.layer_weights(0)
        E = emb.size(-1)
        gx_emb = F.linear(emb.transpose(0, 1), w["w_ih"][:, :E], w["b_ih"])  # (T, B, G): the embedding's share, every step
        values = F.linear(enc.outputs, w["w_ih"][:, E:])  # (B, S, G): W_ih,c h_j
        keys, pads, w_q, v = enc.keys, ~enc.mask, self.w_q.weight, self.v.weight[0]
        # in training (every step reaches the loss), each layer's W_hh h + b_hh through a LoopLinear:
        # packed weights, W_hh's gradient after the loop (under autocast F.linear, for its dtype rules)
        loop = self.training and torch.is_grad_enabled() and not torch.is_autocast_enabled(emb.device.type)
        step = self.decoder.stepper(self.training, loop=loop)
        states = [tuple(t[k] for t in enc.state) for k in range(self.decoder.layers)]
        shared = Steps()  # W_q's and the values' gradients, summed over the steps in one product each
        w_q_loop = LoopWeight(w_q)  # W_q s and δq W_q (packed once: loop_products)
        alphas: list[torch.Tensor] = []
        tops: list[torch.Tensor] = []
        for gx_t in gx_emb.unbind(0):  # unbind, not gx_emb[t] (backward stays O(T)); time-major: each step contiguous
            alpha, gx = _AdditiveStep.apply(states[-1][0], w_q, keys, v, pads, gx_t, values, shared, w_q_loop)
            states = step(gx, states)
            alphas.append(alpha)
            tops.append(states[-1][0])
        alpha = torch.stack(alphas, 1)  # (B, T, S)
        # W_c [c_t ; s_t] = W_c,s s_t + Σ_j α_tj (W_c,c h_j): the contexts c_t are never formed
        assert self.w_c is not None  # every attention has it
        w_c, He = self.w_c.weight, enc.outputs.size(-1)
        pre = torch.baddbmm(F.linear(torch.stack(tops, 1), w_c[:, He:]), alpha, F.linear(enc.outputs, w_c[:, :He]))
        return self._readout(pre), alpha

    def forward_steps(self, src: torch.Tensor, src_len: torch.Tensor, tgt_in: torch.Tensor, teacher_forcing: float = 1.0,
                      generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """As forward, one decoder step at a time through the step that decode_step runs: scheduled
        sampling, and the reference that forward's batched paths are tested against."""
        enc = self.encode(src, src_len)
        emb = self.drop(self.tgt_embed(tgt_in))
        B, T = tgt_in.shape
        use_ref = None
        if teacher_forcing < 1.0:
            use_ref = (torch.rand((B, T), generator=generator) < teacher_forcing).to(tgt_in.device, non_blocking=True)
        state = enc.state
        logits: list[torch.Tensor] = []
        alphas: list[torch.Tensor] = []
        for t, emb_t in enumerate(emb.unbind(1)):  # unbind, not emb[:, t] (backward stays O(T))
            if use_ref is not None and t > 0:
                own = self.drop(self.tgt_embed(logits[-1].detach().argmax(-1)))  # the model's own guess
                emb_t = torch.where(use_ref[:, t, None], emb_t, own)
            lg, state, alpha = self._step(emb_t, state, enc, self._decoder_rnn)
            logits.append(lg)
            if alpha is not None:
                alphas.append(alpha)
        return torch.stack(logits, 1), (torch.stack(alphas, 1) if alphas else None)

    # -- one token at a time (decoding) ----------------------------------------------------------------

    @torch.no_grad()
    def decode_step(self, y_prev: torch.Tensor, state: DecoderState, enc: Encoded):
        """y_prev (B,) -> logits (B, V), the new state, α_t (B, S) or None. Start from enc.state
        with y_prev = <bos>. Same numbers as forward (teacher-forced) in eval mode."""
        return self._step(self.drop(self.tgt_embed(y_prev)), state, enc, self.decoder.step)

    # -- one sentence, every intermediate (inspection) ---------------------------------------------------

    @torch.no_grad()
    def trace(self, src_ids: list[int], tgt_ids: list[int] | None = None, topk: int = 5) -> Seq2SeqTrace:
        """Run one source sentence, and the target given (forced; <eos> appended) or decoded greedily
        (up to <eos>, at most 2·S + 10 steps), through the step functions, keeping everything."""
        src_ids = [int(i) for i in src_ids]
        if not src_ids:
            raise RnnTuiError("nothing to translate: the source has no tokens")
        was_training = self.training
        self.eval()
        try:
            device = self.head.weight.device
            src = torch.tensor([src_ids], device=device)
            enc = self.encode(src, torch.tensor([len(src_ids)], device=device))
            x = self.src_embed(src[0])  # (S, E)
            state0 = self.encoder.init_state(1, device)  # zeros, for both directions (as encode starts)
            encoder = trace_vectors(self.encoder.trace(x, state0)[0])
            if self.encoder_b is not None:  # read reversed, stored by source position
                encoder.update({k: v.flip(0) for k, v in trace_vectors(self.encoder_b.trace(x.flip(0), state0)[0], "b").items()})

            forced = None
            if tgt_ids is not None:
                forced = [int(i) for i in tgt_ids]
                forced = forced if forced and forced[-1] == EOS else [*forced, EOS]
            steps = len(forced) if forced is not None else 2 * len(src_ids) + 10
            step_parts: list[list[list[dict[str, torch.Tensor]]]] = []

            def rnn(inp: torch.Tensor, s: State) -> tuple[torch.Tensor, State]:
                parts, s = self.decoder.trace(inp, s)  # a length-1 sequence: parts[layer][0][name]
                step_parts.append(parts)
                return s[0][-1], s

            y, state = BOS, enc.state
            inputs, outputs, logps, alphas, tops = [], [], [], [], []
            for t in range(steps):
                logits, state, alpha = self._step(self.tgt_embed(torch.tensor([y], device=device)), state, enc, rnn)
                logp = torch.log_softmax(logits[0].float(), dim=-1)
                if forced is not None:
                    nxt = forced[t]
                else:
                    nxt = int(logp.index_fill(0, torch.tensor(NEVER_GENERATED, device=device), float("-inf")).argmax())
                inputs.append(y)
                outputs.append(nxt)
                logps.append(logp[nxt])
                tops.append(torch.topk(logp, min(topk, self.tgt_vocab_size)))
                if alpha is not None:
                    alphas.append(alpha[0])
                y = nxt
                if forced is None and nxt == EOS:
                    break
            decoder = trace_vectors([[p[k][0] for p in step_parts] for k in range(self.cfg.layers)])
            return Seq2SeqTrace(
                src_ids=src_ids, tgt_ids=outputs, inputs=inputs, cell=self.cfg.cell, layers=self.cfg.layers,
                hidden=self.cfg.hidden, attention_kind=self.attention, bidirectional=self.encoder_b is not None,
                encoder=encoder, decoder=decoder,
                attention=torch.stack(alphas).float().cpu() if alphas else None,
                topk_ids=torch.stack([tp.indices for tp in tops]).cpu(),
                topk_probs=torch.stack([tp.values for tp in tops]).exp().cpu(),
                logprobs=torch.stack(logps).cpu(),
                decoder_state_before=layer_states(enc.state), encoder_state_before=layer_states(state0),
            )
        finally:
            self.train(was_training)

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())
