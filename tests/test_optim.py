"""Learning-rate schedules and optimizers."""

import math

import pytest
import torch

from rnn_tui.config import Config, TrainConfig
from rnn_tui.errors import RnnTuiError
from rnn_tui.train.optim import Schedule, make_optimizer


def test_schedules_follow_their_formulas():
    step = Schedule(kind="step", base_lr=1.0, step_size=10, gamma=0.5)
    assert [step.lr(s, 0, 0) for s in (0, 9, 10, 25)] == [1.0, 1.0, 0.5, 0.25]
    cos = Schedule(kind="cosine", base_lr=1.0, min_lr_fraction=0.1)
    assert cos.lr(0, 0, 0.0) == pytest.approx(1.0)
    assert cos.lr(0, 0, 0.5) == pytest.approx(0.55)
    assert cos.lr(0, 0, 1.0) == pytest.approx(0.1)
    inv = Schedule(kind="inverse-time", base_lr=0.5, decay=0.25)
    assert inv.lr(0, 4, 0) == pytest.approx(0.5 / (1 + 0.25 * 4))
    warm = Schedule(kind="constant", base_lr=1.0, warmup=4)
    assert [warm.lr(s, 0, 0) for s in range(5)] == [0.25, 0.5, 0.75, 1.0, 1.0]


def test_plateau_cuts_after_patience_and_state_round_trips():
    s = Schedule(kind="plateau", base_lr=1.0, gamma=0.1, plateau_patience=1)
    assert not s.observe(2.0)
    assert not s.observe(2.5)  # first bad evaluation: within patience
    assert s.observe(2.4)  # second: cut
    assert s.lr(0, 0, 0) == pytest.approx(0.1)
    again = Schedule.from_state(s.state())
    assert again == s
    assert Schedule.from_state(Schedule(kind="constant", base_lr=1).state()).best == math.inf


def test_set_lr_takes_effect_now_and_keeps_the_shape():
    s = Schedule(kind="cosine", base_lr=1.0, min_lr_fraction=0.0)
    s.set_lr(0.1, 0, 0, 0.5)
    assert s.lr(0, 0, 0.5) == pytest.approx(0.1)
    assert s.lr(0, 0, 1.0) == pytest.approx(0.0)
    assert s.lr(0, 0, 0.0) == pytest.approx(0.2)


@pytest.mark.parametrize("name,cls", [("sgd", torch.optim.SGD), ("adam", torch.optim.Adam), ("adamw", torch.optim.AdamW),
                                      ("rmsprop", torch.optim.RMSprop), ("adagrad", torch.optim.Adagrad)])
def test_every_optimizer_is_built(name, cls):
    opt = make_optimizer(TrainConfig(optimizer=name, lr=0.1, weight_decay=0.01), [torch.nn.Parameter(torch.ones(2))])
    assert isinstance(opt, cls) and opt.param_groups[0]["weight_decay"] == 0.01


@pytest.mark.parametrize("name", ["sgd", "adam", "adamw"])
def test_a_fused_optimizer_takes_the_same_steps(name):
    """The trainer fuses SGD, Adam and AdamW on CUDA; its settings must reach the fused kernel as
    they reach the plain one (checked on the CPU, where torch has the same fused kernels)."""
    cfg = TrainConfig(optimizer=name, lr=0.05, momentum=0.9, weight_decay=0.01)
    torch.manual_seed(0)
    start, grads = torch.randn(3, 5), [torch.randn(3, 5) for _ in range(4)]
    finals = []
    for fused in (False, True):
        w = torch.nn.Parameter(start.clone())
        opt = make_optimizer(cfg, [w], fused=fused)
        assert bool(opt.defaults.get("fused")) == fused
        for g in grads:
            w.grad = g.clone()
            opt.step()
        finals.append(w.detach())
    assert not torch.equal(finals[0], start)
    torch.testing.assert_close(finals[1], finals[0], rtol=1e-6, atol=1e-6)


def test_config_validation_is_one_line():
    cfg = Config()
    cfg.model.cell = "transformer"
    with pytest.raises(RnnTuiError, match="cell must be one of rnn, rnn-relu, gru, lstm, peephole-lstm; got 'transformer'"):
        cfg.validate()
    with pytest.raises(RnnTuiError, match="unknown key \\[model\\] hiden"):
        Config.from_dict({"model": {"hiden": 3}})
    with pytest.raises(RnnTuiError, match="must be int"):
        Config.from_dict({"model": {"hidden": "big"}})
    cfg = Config()
    cfg.model.tie_weights, cfg.model.embed = True, 32
    with pytest.raises(RnnTuiError, match="tied weights need the embedding size equal to the hidden units"):
        cfg.validate()
    assert Config.from_dict(Config().to_dict()) == Config()
