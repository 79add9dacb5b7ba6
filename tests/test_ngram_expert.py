"""The n-gram expert: the run's logistic-regression baseline inside the classifier. It predicts
what the baseline predicts, votes by the log-linear pool, leaves the recurrent network's training
untouched, survives a checkpoint and a resume, and the run, the API and the command show the
network alone beside it."""

import pytest
import torch

from rnn_tui.api import load_classifier
from rnn_tui.data.label_batches import collate
from rnn_tui.runs.checkpoint import load_checkpoint
from rnn_tui.runs.rundir import RunDir
from rnn_tui.train.tasks import ClassifyTask
from rnn_tui.train.trainer import train_run
from tests.test_cli import run_cli
from tests.test_train_classify import classify_config, reviews

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return str(reviews(tmp_path_factory.mktemp("expert")))


def _task(data, **model):
    cfg = classify_config(data)
    cfg.model.ngram_expert = True
    for key, value in model.items():
        setattr(cfg.model, key, value)
    task = ClassifyTask(cfg.validate(), None)
    task.build_model(torch.device("cpu")).eval()
    return task


@pytest.mark.parametrize("min_freq", [1, 3])
def test_the_expert_gives_the_baselines_own_logits(data, min_freq):
    task = _task(data)
    task.cfg.data.min_freq = min_freq
    if min_freq > 1:  # the vocabulary folds rare words into <unk>: n-grams with them are not read
        task = ClassifyTask(task.cfg, None)
        task.build_model(torch.device("cpu")).eval()
    lr, expert = task.logreg, task.model.expert
    assert lr is not None and expert is not None
    for part in ("train", "val", "test"):
        texts = [task.tokenize(text) for text, _ in getattr(task.split, part)]
        ids = task.examples[part]
        b = collate(ids)
        z = expert(b.x, b.lengths)
        if min_freq == 1:
            want = lr.ngrams.bag(texts, True).x @ lr.weight + lr.bias
            assert torch.allclose(z, want, atol=1e-5), part
        else:  # the same as the baseline on the texts as the vocabulary reads them
            kept = [[tok if tok in task.vocab.stoi else "\0unseen" for tok in t] for t in texts]
            want = lr.ngrams.bag(kept, True).x @ lr.weight + lr.bias
            assert torch.allclose(z, want, atol=1e-5), part
            assert any(tok not in task.vocab.stoi for t in texts for tok in t), "no word was folded: nothing shown"
    test_texts = [task.tokenize(text) for text, _ in task.split.test]
    assert z.argmax(1).tolist() == lr.predict(test_texts) or min_freq > 1


def test_the_vote_is_the_log_linear_pool_and_each_text_gets_it_alone_or_in_a_batch(data):
    model = _task(data).model
    texts = [[5, 9, 12, 7, 30], [4, 8], [6, 6, 6, 11, 20, 21, 22, 9]]
    b = collate([(t, 0) for t in texts])
    with torch.no_grad():
        pooled, alone = model(b.x, b.lengths), model(b.x, b.lengths, alone=True)
        z = model.expert(b.x, b.lengths)
        assert torch.allclose(pooled, 0.5 * (alone.log_softmax(-1) + z.log_softmax(-1)), atol=1e-6)
        assert not torch.allclose(pooled.softmax(-1), alone.softmax(-1), atol=1e-3)  # the expert does change it
        for row, t in enumerate(texts):
            one = model(torch.tensor([t]), torch.tensor([len(t)]))[0]
            assert torch.allclose(one, pooled[row], atol=1e-5)
            last = model.prefix_probs(t)[-1]  # the decision after the whole text, read prefix by prefix
            assert torch.allclose(last, one.softmax(-1), atol=1e-5)
    assert not [n for n, _ in model.named_parameters() if n.startswith("expert")]  # buffers: no optimizer moves them


def test_the_network_trains_on_its_own_loss_and_the_run_shows_it_alone(monkeypatch, capsys, tmp_path, data):
    root = tmp_path / "runs"
    cfg = classify_config(data, steps=80)
    cfg.model.dropout = 0.2  # the same random draws in both runs: the expert takes none
    plain = RunDir.create(root, cfg, name="plain")
    cfg.model.ngram_expert = True
    voted = RunDir.create(root, cfg, name="voted")
    train_run(plain)
    train_run(voted)

    def records(run, kind):
        return [r for r in run.read_metrics() if r["event"] == kind]

    assert [r["loss"] for r in records(voted, "train")] == [r["loss"] for r in records(plain, "train")]
    assert [r["val_acc_alone"] for r in records(voted, "val")] == [r["val_acc"] for r in records(plain, "val")]
    assert all("val_acc_alone" not in r for r in records(plain, "val"))
    weights = load_checkpoint(voted.checkpoints).model
    assert weights["expert.weight"].abs().sum() > 0  # the fitted baseline, saved with the network
    for key, value in load_checkpoint(plain.checkpoints).model.items():
        assert torch.equal(weights[key], value), key

    scores = load_classifier(voted.path).evaluate("test")
    plain_scores = load_classifier(plain.path).evaluate("test")
    assert scores["recurrent_alone"]["accuracy"] == plain_scores["accuracy"] and plain_scores["recurrent_alone"] is None
    code, out, _ = run_cli(monkeypatch, capsys, "classify", "voted", "--split", "test", "--runs-dir", root)
    assert code == 0 and f"recurrent network alone            {plain_scores['accuracy']:.1%}" in out
    code, out, _ = run_cli(monkeypatch, capsys, "classify", "plain", "--split", "test", "--runs-dir", root)
    assert code == 0 and "recurrent network alone" not in out


def test_a_resumed_run_keeps_its_expert_and_continues_exactly(tmp_path, data):
    root = tmp_path / "runs"
    cfg = classify_config(data, steps=60, log_interval=10)
    cfg.model.ngram_expert = True
    whole = RunDir.create(root, cfg, name="whole")
    train_run(whole)
    cfg.train.steps = 30
    split = RunDir.create(root, cfg, name="split")
    train_run(split)
    train_run(split, resume=True, changes={"train.steps": 60})

    def losses(run):
        return [(r["step"], r["loss"]) for r in run.read_metrics() if r["event"] == "train"]

    assert losses(split) == pytest.approx(losses(whole))
    a, b = load_checkpoint(whole.checkpoints).model, load_checkpoint(split.checkpoints).model
    assert all(torch.equal(a[k], b[k]) for k in a if k.startswith("expert."))
    assert load_classifier(split.path).classify("a dull story")["label"] == "neg"
