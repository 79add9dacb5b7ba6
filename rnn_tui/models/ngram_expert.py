"""The bag-of-n-grams expert a classifier can vote with: the run's logistic-regression baseline,
kept inside the model so that every way of running it (a batch, one text, each prefix of a text)
reads the same numbers.

    x_f(text)  = 1 if n-gram f occurs in the text (binary uni+bigrams: the baseline's features)
    z(text)    = W x + b                       (W, b: the baseline's L-BFGS fit, frozen)

A classifier with this expert votes by the log-linear pool of the two (a product of experts, each
to the power ½):

    log p(c | text) = ½ log softmax(recurrent logits)_c + ½ log softmax(z)_c + const

The recurrent network trains on its own loss, as without the expert: trained through the pool, it
learns little, because the bag of n-grams already fits the training texts. Apart, each makes its
own mistakes (on sentiment-zh, of the reviews one of them gets wrong, about half are the other's),
and the pool is right more often than either.

The features are read from the model's own token ids: ``token_index`` maps a vocabulary id to the
n-gram token number the baseline gave its string (ids of tokens absent from the training texts,
and the specials, to "never seen"), so an n-gram's code is the baseline's own (data/ngrams.py)
and the expert predicts exactly what the baseline does. With --min-freq or --max-vocab the
vocabulary folds rare tokens into <unk>, and n-grams with them are not read. The buffers have a
fixed size (MAX_FEATURES codes, padded with a code no n-gram has), so a model is built, and a
checkpoint loaded, before any fit.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn as nn

from rnn_tui.data.ngrams import MAX_FEATURES, NGRAM_ORDERS, Ngrams

NO_CODE = torch.iinfo(torch.int64).max  # pads the sorted codes: above every real code (< 2⁶³ by Ngrams' check)


class NgramExpert(nn.Module):
    token_index: torch.Tensor
    base: torch.Tensor
    codes: torch.Tensor
    weight: torch.Tensor
    bias: torch.Tensor

    def __init__(self, vocab_size: int, n_classes: int) -> None:
        super().__init__()
        self.register_buffer("token_index", torch.zeros(vocab_size, dtype=torch.int64))  # vocab id -> n-gram token
        self.register_buffer("base", torch.tensor(1, dtype=torch.int64))  # n-gram tokens + 1 (the last: never seen)
        self.register_buffer("codes", torch.full((MAX_FEATURES,), NO_CODE, dtype=torch.int64))  # sorted
        self.register_buffer("weight", torch.zeros(MAX_FEATURES, n_classes))
        self.register_buffer("bias", torch.zeros(n_classes))

    @torch.no_grad()
    def fit(self, ngrams: Ngrams, weight: torch.Tensor, bias: torch.Tensor, itos: Sequence[str], specials: int) -> None:
        """Take the baseline's weights (F, C) and bias (C,), fitted on the binary bag of ``ngrams``;
        ``itos`` is the model's vocabulary, whose first ``specials`` entries are never a text's token."""
        if ngrams.orders != NGRAM_ORDERS or len(ngrams) > MAX_FEATURES:
            raise ValueError(f"the n-gram expert reads orders {NGRAM_ORDERS}, at most {MAX_FEATURES} of them")
        unseen = ngrams.base - 1
        index = [unseen if i < specials else ngrams.token_ids.get(s, unseen) for i, s in enumerate(itos)]
        self.token_index.copy_(torch.tensor(index, dtype=torch.int64))
        self.base.fill_(ngrams.base)
        F = len(ngrams)
        self.codes.fill_(NO_CODE)
        self.codes[:F] = torch.from_numpy(ngrams.codes)
        self.weight.zero_()
        self.weight[:F] = weight
        self.bias.copy_(bias)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """x (B, T) padded ids, lengths (B,) -> z (B, C): W x + b over each text's first
        ``length`` tokens (an n-gram counts once however often it occurs)."""
        B, T = x.shape
        tokens = self.token_index[x]  # (B, T)
        lengths = lengths.to(x.device)
        codes, valid = [], []
        for n in NGRAM_ORDERS:
            if n > T:
                continue
            code = tokens[:, : T - n + 1]
            for j in range(1, n):
                code = code * self.base + tokens[:, j : T - n + 1 + j]
            codes.append(code * 8 + n)  # Ngrams' code: the tokens in base |tokens| + 1, times 8, plus the order
            valid.append(torch.arange(n, T + 1, device=x.device)[None, :] <= lengths[:, None])  # ends within the text
        code, real = torch.cat(codes, 1), torch.cat(valid, 1)  # (B, K)
        col = torch.searchsorted(self.codes, code).clamp(max=self.codes.numel() - 1)
        known = real & (self.codes[col] == code)
        rows = torch.arange(B, device=x.device)[:, None].expand_as(col)[known]
        cells = torch.unique(rows * self.codes.numel() + col[known])  # binary: each (text, n-gram) once
        z = self.bias.expand(B, -1).clone()
        return z.index_add_(0, cells // self.codes.numel(), self.weight[cells % self.codes.numel()])
