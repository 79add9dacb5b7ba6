"""Greedy decoding and beam search: beam 1 is greedy, a wide enough beam is exact, beams are
batched without changing any number, and the language-model search shares the same core."""

from __future__ import annotations

import itertools
import random

import pytest
import torch

from rnn_tui.config import ModelConfig
from rnn_tui.decode.beam import beam_search, greedy, greedy_batch, length_normalised, lm_beam_search
from rnn_tui.errors import RnnTuiError
from rnn_tui.models.lm import LanguageModel
from rnn_tui.models.seq2seq import BOS, EOS, Seq2Seq

SV = 10


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _model(seed: int, tgt_vocab: int = 12, eos_bias: float = 0.0, **kw) -> Seq2Seq:
    torch.manual_seed(seed)
    cfg = ModelConfig(**{"cell": ["gru", "lstm", "rnn"][seed % 3], "hidden": 16, "embed": 8,
                         "attention": ["additive", "dot", "general", "none"][seed % 4], **kw})
    m = Seq2Seq(cfg, SV, tgt_vocab)
    with torch.no_grad():
        m.head.bias[EOS] += eos_bias  # an untrained model ends about when we like
    return m


def _source(seed: int, n: tuple[int, int] = (1, 6)) -> list[int]:
    rng = random.Random(seed)
    return [rng.randrange(4, SV) for _ in range(rng.randint(*n))]


def _rescore(m: Seq2Seq, src: list[int], ids: list[int], ended: bool):
    """log P of a hypothesis by the teacher-forced forward (one sentence, no beam), and its α rows."""
    m.eval()
    out = [*ids, EOS] if ended else ids
    tgt_in = torch.tensor([[BOS, *out[:-1]]])
    with torch.no_grad():
        logits, attn = m(torch.tensor([src]), torch.tensor([len(src)]), tgt_in)
    logp = torch.log_softmax(logits[0], -1).gather(1, torch.tensor(out)[:, None])[:, 0]
    return float(logp.sum()), (None if attn is None else attn[0])


def test_beam_1_is_greedy() -> None:
    for seed, alpha in itertools.product(range(16), (0.0, 0.75, 1.5)):
        m = _model(seed, eos_bias=[0.0, 0.2, 0.4][seed % 3], bidirectional=seed % 2 == 1)
        src = _source(seed)
        g = greedy(m, src, alpha=alpha)
        (b,) = beam_search(m, src, beam=1, alpha=alpha)
        assert (b.ids, b.ended) == (g.ids, g.ended)
        assert abs(b.score - g.score) <= 1e-5 and abs(b.logprob - g.logprob) <= 1e-5


def _all_hypotheses(m: Seq2Seq, src: list[int], max_len: int, alpha: float, tokens: list[int]):
    """Every output of at most max_len tokens (<eos> included) over ``tokens``, scored exactly."""
    out = []
    for n in range(max_len + 1):
        for ids in itertools.product(tokens, repeat=n):
            ended = n < max_len  # max_len tokens without <eos>: cut
            logprob, _ = _rescore(m, src, list(ids), ended)
            out.append((length_normalised(logprob, n + ended, alpha), list(ids)))
    return sorted(out, key=lambda x: -x[0])


@pytest.mark.parametrize("seed,alpha", [(0, 0.0), (1, 0.75), (2, 2.0), (3, 0.75)])
def test_a_beam_as_wide_as_the_search_space_is_exact(seed: int, alpha: float) -> None:
    V, max_len = 6, 4  # specials 0-3 and two real tokens: <pad>, <unk>, <bos> are never generated
    m = _model(seed, tgt_vocab=V, eos_bias=1.0)
    src = _source(seed)
    every = _all_hypotheses(m, src, max_len, alpha, [4, 5])
    K = V ** max_len
    hyps = beam_search(m, src, beam=K, alpha=alpha, nbest=K, max_len=max_len)
    assert hyps[0].ids == every[0][1] and abs(hyps[0].score - every[0][0]) <= 1e-5
    assert len(hyps) == len(every) == 31  # nothing lost: 1 + 2 + 4 + 8 ended, 16 cut
    assert [h.ids for h in hyps] == [ids for _, ids in every]


def test_beam_5_never_scores_below_greedy() -> None:
    for seed, alpha in itertools.product(range(30), (0.0, 0.75, 1.5)):
        m = _model(seed, eos_bias=[-0.5, 0.0, 0.2][seed % 3])
        src = _source(seed)
        g = greedy(m, src, alpha=alpha)
        b = beam_search(m, src, beam=5, alpha=alpha)[0]
        assert b.score >= g.score - 1e-6, (seed, alpha, b, g)


def test_nbest_is_sorted_distinct_and_rescores_exactly() -> None:
    for seed in range(8):
        m = _model(seed, eos_bias=0.2, bidirectional=seed % 2 == 0)
        src = _source(seed)
        hyps = beam_search(m, src, beam=6, alpha=0.75, nbest=6)
        assert len(hyps) == 6
        assert [h.score for h in hyps] == sorted((h.score for h in hyps), reverse=True)
        assert len({tuple(h.ids) for h in hyps}) == 6
        for h in hyps:
            assert not set(h.ids) & {0, 1, 2, 3}
            assert len(h.ids) <= 2 * len(src) + 10
            # the batched search's numbers are those of scoring the hypothesis alone
            logprob, attn = _rescore(m, src, h.ids, h.ended)
            assert abs(h.logprob - logprob) <= 1e-4
            assert abs(h.score - length_normalised(h.logprob, len(h.ids) + h.ended, 0.75)) <= 1e-6
            if attn is None:
                assert h.attention is None
            else:
                assert h.attention.shape == (len(h.ids) + h.ended, len(src))
                assert float((h.attention - attn).abs().max()) <= 1e-5


def test_alpha_moves_the_best_length_the_expected_way() -> None:
    # with an exact search, log P / L^α is maximised by outputs that get no shorter as α grows
    moved = 0
    for seed in range(6):
        m = _model(seed, tgt_vocab=6, eos_bias=0.5)
        src = _source(seed)
        lengths = [len(beam_search(m, src, beam=6 ** 4, alpha=a, max_len=4)[0].ids) for a in (0.0, 1.0, 3.0)]
        assert lengths == sorted(lengths), lengths
        moved += lengths[0] < lengths[-1]
    assert moved >= 1


def test_max_len_cuts() -> None:
    m = _model(0, eos_bias=-20.0)  # never ends on its own
    src = _source(0)
    g = greedy(m, src, max_len=5)
    b = beam_search(m, src, beam=3, max_len=5, nbest=3)
    assert len(g.ids) == 5 and not g.ended
    assert all(len(h.ids) == 5 and not h.ended for h in b)
    assert len(greedy(m, src).ids) == 2 * len(src) + 10


def test_greedy_batch_equals_greedy_one_by_one() -> None:
    m = _model(5, eos_bias=0.2, bidirectional=True)
    sources = [_source(s, (1, 8)) for s in range(13)] + [[]]
    want = [greedy(m, s).ids if s else [] for s in sources]
    assert greedy_batch(m, sources, batch_size=4) == want
    assert greedy_batch(m, sources, max_len=3) == [greedy(m, s, max_len=3).ids if s else [] for s in sources]


def test_errors_are_one_line() -> None:
    m = _model(0)
    for kw in ({"beam": 0}, {"beam": 2, "nbest": 3}, {"max_len": 0}):
        with pytest.raises(RnnTuiError):
            beam_search(m, [4, 5], **kw)
    with pytest.raises(RnnTuiError):
        greedy(m, [])
    with pytest.raises(RnnTuiError):
        greedy(m, [4], max_len=0)
    with pytest.raises(RnnTuiError):
        greedy_batch(m, [[4]], max_len=0)
    with pytest.raises(RnnTuiError):
        lm_beam_search(_lm(0), [])
    assert m.training  # decoding gives the mode back


# -- language models --------------------------------------------------------------------------


def _lm(seed: int) -> LanguageModel:
    torch.manual_seed(seed)
    m = LanguageModel(ModelConfig(cell=["lstm", "gru"][seed % 2], layers=1 + seed % 2, hidden=16, embed=8), 12)
    with torch.no_grad():
        m.head.bias[EOS] += 1.0
    return m


def _lm_logprob(m: LanguageModel, prime: list[int], ids: list[int]) -> float:
    seq = prime + ids
    with torch.no_grad():
        logits, _ = m.eval()(torch.tensor([seq]))
    logp = torch.log_softmax(logits[0, len(prime) - 1:-1], -1)
    return float(logp.gather(1, torch.tensor(ids)[:, None]).sum())


def test_lm_beam_search() -> None:
    for seed in range(6):
        m = _lm(seed)
        prime = [4, 5, 6][: 1 + seed % 3]
        # beam 1 is greedy: the argmax at every step (never a banned token)
        (one,) = lm_beam_search(m, prime, beam=1, alpha=0.0, length=12)
        ids, state = [], None
        with torch.no_grad():
            logits, state = m(torch.tensor([prime]))
            logits = logits[:, -1]
            for _ in range(12):
                logits[:, [0, 1, 2]] = float("-inf")
                tok = int(logits.argmax())
                if tok == EOS:
                    break
                ids.append(tok)
                logits, state = m.step(torch.tensor([tok]), state)
        assert one.ids == ids
        hyps = lm_beam_search(m, prime, beam=4, alpha=0.75, length=12, nbest=4)
        (g,) = lm_beam_search(m, prime, beam=1, alpha=0.75, length=12)
        assert hyps[0].score >= g.score - 1e-6
        assert len({tuple(h.ids) for h in hyps}) == len(hyps) == 4
        assert [h.score for h in hyps] == sorted((h.score for h in hyps), reverse=True)
        for h in hyps:
            want = _lm_logprob(m, prime, h.ids + ([EOS] if h.ended else []))
            assert abs(h.logprob - want) <= 1e-4 and h.attention is None
    # no end-of-sequence token: every hypothesis runs the full length
    hyps = lm_beam_search(_lm(0), [4], beam=3, length=7, nbest=3, eos_id=None)
    assert all(len(h.ids) == 7 and not h.ended for h in hyps)
