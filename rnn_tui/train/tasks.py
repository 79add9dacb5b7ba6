"""What a Trainer trains: the parts that differ between a language model, a translator and a classifier.

The Trainer (trainer.py) owns the loop, the optimizer, the budgets, the commands and the run
directory; a task owns the data, the model and what "one step", "evaluate" and "a sample" mean:

    LMTask       text -> next-token prediction (sequential batches may carry the hidden state)
    Seq2SeqTask  source<TAB>target pairs -> encoder–decoder, validation loss and greedy BLEU
    ClassifyTask labeled texts -> one class per text, validation accuracy and macro-F1, baselines
    ForecastTask a time series -> the next values from a window of past ones, errors and baselines

Each is built in two steps — ``__init__`` reads the data (with the checkpoint's vocabularies
when resuming), ``build_model`` makes the model after the Trainer has seeded torch — so a run's
numbers depend on its seed alone.

Data-parallel (train/distributed.py): a task built with a ``World`` of several ranks reads its
rank's block of each global batch of world × batch rows, ``loss`` runs ``train_model`` (the model
in DistributedDataParallel, set by the Trainer), and ``evaluate`` sums its share of the
validation data over the ranks, so every rank gets the numbers one process would.

``fixed`` (a new run's): the "section.name" settings the user
set; a task may fit the others to a small dataset, in ``cfg`` itself, and its start record says
what changed and why (``adjusted``). Only a language model has something to fit: its batch size
and BPTT length. None: nothing changes (a resumed run, whose config already fits).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING, Any, cast

import torch
import torch.nn.functional as F

from rnn_tui.config import Config, DataConfig
from rnn_tui.data.transfer import to_device
from rnn_tui.errors import RnnTuiError
from rnn_tui.runs.records import (
    SAMPLE_TEXT_CHARS,
    Adjusted,
    Baseline,
    Sample,
    SampleClassified,
    SampleTranslation,
    StartInfo,
    Validation,
)
from rnn_tui.train.distributed import SOLO, World

if TYPE_CHECKING:
    from rnn_tui.data.tokenizers import Tokenizer
    from rnn_tui.models.classifier import Classifier
    from rnn_tui.models.forecaster import Forecaster
    from rnn_tui.models.lm import LanguageModel
    from rnn_tui.models.seq2seq import Seq2Seq
    from rnn_tui.train.baselines import Linear

SPLIT_SEED = 0  # the train/val/test split of sentence pairs depends on the data only, not the run's seed
BLEU_PAIRS = 1000  # validation BLEU decodes at most this many validation pairs (greedy, batched)


class LMTask:
    """Language modelling on a text: cross-entropy of every next token."""

    BEST_BY = ("val_loss", False)  # the validation number that picks the best checkpoint, and whether higher is better

    def __init__(self, cfg: Config, meta: dict[str, Any] | None, world: World = SOLO,
                 fixed: Collection[str] | None = None) -> None:
        from rnn_tui.data.corpus import load_text_corpus
        from rnn_tui.data.text import LMBatches
        from rnn_tui.data.vocab import Vocab

        self.cfg, t, self.world = cfg, cfg.train, world
        self.corpus = load_text_corpus(cfg.data, vocab=Vocab.from_json(meta["vocab"]) if meta else None)
        self.vocab = self.corpus.vocab
        self.adjusted = None if fixed is None else self._fit(fixed)
        batch, ranks = t.batch * world.size, {"rank": world.rank, "ranks": world.size}  # the global batch, this rank's share
        self.batches = LMBatches(self.corpus.train, batch, t.seq_len, scheme=t.batching, seed=t.seed, **ranks)
        self.val_batches = None
        if self.corpus.val.numel() > 1:
            val_batch = max(1, min(batch, (self.corpus.val.numel() - 1) // t.seq_len))
            val_len = min(t.seq_len, self.corpus.val.numel() - 1)
            self.val_batches = LMBatches(self.corpus.val, val_batch, val_len, scheme="sequential", seed=0, **ranks)
        source = self.corpus.val if self.corpus.val.numel() >= 8 else self.corpus.train
        self.prime = [int(i) for i in source[: min(8, source.numel())]]
        self.train_model: torch.nn.Module  # what ``loss`` runs: the model, or it in DistributedDataParallel
        self.state: tuple[torch.Tensor, ...] | None = None  # the hidden state carried between batches (sequential scheme)
        self._next_state: tuple[torch.Tensor, ...] | None = None

    def _fit(self, fixed: Collection[str]) -> Adjusted | None:
        """Fit the batch size and BPTT length the user did not set to a small text (``fit_windows``);
        what changed ("section.name": [asked, used]) and why, or None."""
        from rnn_tui.data.text import fit_windows

        t = self.cfg.train
        n_train, n_val = self.corpus.train.numel(), self.corpus.val.numel()
        batch, seq_len = fit_windows(n_train, n_val, t.batch, t.seq_len, keep_batch="train.batch" in fixed,
                                     keep_seq_len="train.seq_len" in fixed)
        changed = {key: [asked, used] for key, asked, used in (("train.batch", t.batch, batch),
                                                               ("train.seq_len", t.seq_len, seq_len)) if asked != used}
        if not changed:
            return None
        why = f"{n_train:,} training tokens are too few for batch {t.batch} × BPTT length {t.seq_len}"
        t.batch, t.seq_len = batch, seq_len
        return {"why": why, "settings": changed}

    def build_model(self, device: torch.device) -> LanguageModel:
        from rnn_tui.models.lm import LanguageModel

        self.device = device
        self.model = self.train_model = LanguageModel(self.cfg.model, len(self.vocab)).to(device)
        return self.model

    def __len__(self) -> int:
        return len(self.batches)

    def start_info(self) -> StartInfo:
        info: StartInfo = {"vocab": len(self.vocab), "train_tokens": self.corpus.train.numel()}
        if self.adjusted:
            info["adjusted"] = self.adjusted
        return info

    def loss(self, epoch: int, index: int) -> tuple[torch.Tensor, int, float]:
        """The mean loss of batch ``index`` of ``epoch`` (with its graph), its token count and
        what the mean divides by (the tokens: a data-parallel step weighs each rank's mean by it)."""
        x, y = self.batches.get(epoch, index)
        x, y = to_device(x, self.device), to_device(y, self.device)
        logits, state = self.train_model(x, self.state if self.batches.stateful else None)
        self._next_state = state
        return F.cross_entropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1)), y.numel(), y.numel()

    def after_step(self, new_epoch: bool) -> None:
        """Carry the state into the next batch (truncated BPTT); a new epoch starts from zeros."""
        stateful = self.batches.stateful and not new_epoch
        self.state = tuple(s.detach() for s in self._next_state) if stateful and self._next_state is not None else None

    @torch.no_grad()
    def evaluate(self, max_batches: int = 0) -> Validation:
        """Mean cross-entropy (nats/token) on the validation split, hidden state carried through
        (each rank its columns, summed over the ranks)."""
        assert self.val_batches is not None  # the Trainer evaluates only with a validation split
        n = len(self.val_batches) if not max_batches else min(len(self.val_batches), max_batches)
        total, count, state = 0.0, 0, None
        for i in range(n if self.val_batches.rows else 0):
            x, y = self.val_batches.get(0, i)
            logits, state = self.model(to_device(x, self.device), state)
            total += F.cross_entropy(logits.reshape(-1, logits.size(-1)), to_device(y, self.device).reshape(-1),
                                     reduction="sum").item()
            count += y.numel()
        total_sum, count_sum = self.world.sum(total, count)
        return {"val_loss": total_sum / max(count_sum, 1)}

    def sample(self, seed: int) -> Sample:
        from rnn_tui.data.tokenizers import get_tokenizer
        from rnn_tui.decode.sampling import Sampling, sample

        s = Sampling(temperature=0.8, length=self.cfg.train.sample_length, seed=seed)
        v = self.vocab
        ids = [tok.id for tok in sample(self.model, self.prime, s, banned=(v.pad_id, v.bos_id), eos_id=v.eos_id, unk_id=v.unk_id)]
        detok = get_tokenizer(self.cfg.data.tokenizer).detokenize
        return {"prime": detok(v.decode(self.prime)), "text": detok(v.decode(ids)), "temperature": s.temperature}

    def meta(self) -> dict[str, Any]:
        return {"vocab": self.vocab.to_json(), "tokenizer": self.cfg.data.tokenizer}

    def extra(self) -> dict[str, torch.Tensor]:
        """The carried state of all the batch's rows (every rank's columns, (layers, batch, hidden))."""
        if self.state is None:
            return {}
        return {f"state/{k}": self.world.cat(s, dim=1) for k, s in enumerate(self.state)}

    def restore_extra(self, extra: dict[str, torch.Tensor]) -> None:
        rows = self.batches.rows
        states = [extra[f"state/{k}"][:, rows.start : rows.stop].to(self.device) for k in range(2) if f"state/{k}" in extra]
        self.state = tuple(states) if states else None


class Seq2SeqTask:
    """Translation: masked cross-entropy of every target token given the source and the target
    before it (teacher forcing, or scheduled sampling below ratio 1); validation adds corpus
    BLEU-4 of greedy translations, computed on the target tokens."""

    BEST_BY = ("val_loss", False)  # the validation number that picks the best checkpoint, and whether higher is better

    def __init__(self, cfg: Config, meta: dict[str, Any] | None, world: World = SOLO,
                 fixed: Collection[str] | None = None) -> None:
        from rnn_tui.data.pairs import PairBatches, PairCorpus
        from rnn_tui.data.spec import load_pairs, resolve
        from rnn_tui.data.vocab import Vocab

        self.cfg, d, t, self.world = cfg, cfg.data, cfg.train, world
        source = resolve(d.spec)
        if source.kind != "pairs":
            raise RnnTuiError(f"{d.spec} is a {source.kind} dataset; translation (--task seq2seq) needs "
                              "sentence pairs, source<TAB>target per line")
        self.file = load_pairs(source, d.encoding, reverse=d.reverse)
        vocabs = (Vocab.from_json(meta["src_vocab"]), Vocab.from_json(meta["tgt_vocab"])) if meta else None
        self.corpus = PairCorpus.from_pairs(
            self.file.pairs, src_tokenizer=d.src_tokenizer, tgt_tokenizer=d.tgt_tokenizer,
            max_src_words=d.max_src_words, val_fraction=d.val_fraction, test_fraction=d.test_fraction,
            test_size=d.test_size, min_freq=d.min_freq, seed=SPLIT_SEED, lowercase_src=d.lowercase, vocabs=vocabs)
        self.src_vocab, self.tgt_vocab = self.corpus.src_vocab, self.corpus.tgt_vocab
        batch = t.batch * world.size  # the global batch
        self.batches = PairBatches(self.corpus.train, batch, seed=t.seed, rank=world.rank, ranks=world.size)
        self.val_batches = PairBatches(self.corpus.val, batch, shuffle=False) if self.corpus.val else None
        self.train_model: torch.nn.Module  # what ``loss`` runs: the model, or it in DistributedDataParallel

    def build_model(self, device: torch.device) -> Seq2Seq:
        from rnn_tui.models.seq2seq import Seq2Seq

        self.device = device
        self.model = self.train_model = Seq2Seq(self.cfg.model, len(self.src_vocab), len(self.tgt_vocab)).to(device)
        return self.model

    def __len__(self) -> int:
        return len(self.batches)

    def start_info(self) -> StartInfo:
        c = self.corpus
        return {"vocab": len(self.tgt_vocab), "src_vocab": len(self.src_vocab), "train_pairs": len(c.train),
                "val_pairs": len(c.val), "test_pairs": len(c.test),
                "train_tokens": sum(len(tgt) + 1 for _, tgt in c.train),
                "skipped_lines": self.file.skipped, "first_skipped": self.file.first_skipped}

    def loss(self, epoch: int, index: int) -> tuple[torch.Tensor, int, float]:
        """As LMTask.loss: the mean over the batch's target tokens."""
        from rnn_tui.models.seq2seq import loss

        b = self.batches.get(epoch, index).to(self.device)
        logits, _ = self.train_model(b.src, b.src_len, b.tgt_in, teacher_forcing=self.cfg.train.teacher_forcing)
        return loss(logits, b.tgt_out), b.tokens, b.tokens

    def after_step(self, new_epoch: bool) -> None:
        pass

    @torch.no_grad()
    def evaluate(self, max_batches: int = 0) -> Validation:
        from rnn_tui.decode.beam import greedy_batch
        from rnn_tui.decode.bleu import corpus_bleu_tokens

        assert self.val_batches is not None  # the Trainer evaluates only with a validation split
        n = len(self.val_batches) if not max_batches else min(len(self.val_batches), max_batches)
        total, count = 0.0, 0
        for i in self.world.block(n):  # this rank's batches; the sums over the ranks below
            b = self.val_batches.get(0, i).to(self.device)
            logits, _ = self.model(b.src, b.src_len, b.tgt_in)
            total += F.cross_entropy(logits.reshape(-1, logits.size(-1)), b.tgt_out.reshape(-1),
                                     ignore_index=0, reduction="sum").item()
            count += b.tokens
        total, tokens = self.world.sum(total, count)
        pairs = self.corpus.val[:BLEU_PAIRS]
        mine = self.world.block(len(pairs))
        hyps = [h for part in self.world.gather(greedy_batch(self.model, [src for src, _ in pairs[mine.start : mine.stop]]))
                for h in part]
        bleu = corpus_bleu_tokens([self.tgt_vocab.decode(h) for h in hyps], [self.tgt_vocab.decode(t) for _, t in pairs])
        return {"val_loss": total / max(tokens, 1), "val_bleu": bleu.score}

    def sample(self, seed: int) -> Sample:
        """Three validation pairs (a different three each time): source, reference, greedy output."""
        from rnn_tui.data.tokenizers import get_tokenizer
        from rnn_tui.decode.beam import greedy

        pairs = self.corpus.val or self.corpus.train
        src_detok = get_tokenizer(self.cfg.data.src_tokenizer).detokenize
        tgt_detok = get_tokenizer(self.cfg.data.tgt_tokenizer).detokenize
        lines: list[str] = []
        shown: list[SampleTranslation] = []
        for k in range(3):
            src, tgt = pairs[(seed * 3 + k) % len(pairs)]
            hyp = greedy(self.model, src).ids
            item: SampleTranslation = {"source": src_detok(self.src_vocab.decode(src)),
                                       "reference": tgt_detok(self.tgt_vocab.decode(tgt)),
                                       "hypothesis": tgt_detok(self.tgt_vocab.decode(hyp))}
            shown.append(item)
            lines.append(f"{item['source']}\n  → {item['hypothesis']}\n  ✓ {item['reference']}")
        return {"prime": "", "text": "\n".join(lines), "translations": shown}

    def meta(self) -> dict[str, Any]:
        d = self.cfg.data
        return {"src_vocab": self.src_vocab.to_json(), "tgt_vocab": self.tgt_vocab.to_json(),
                "src_tokenizer": d.src_tokenizer, "tgt_tokenizer": d.tgt_tokenizer, "tokenizer": d.tgt_tokenizer}

    def extra(self) -> dict[str, torch.Tensor]:
        return {}

    def restore_extra(self, extra: dict[str, torch.Tensor]) -> None:
        pass


class ClassifyTask:
    """Classification (many-to-one): cross-entropy of each text's class, optionally weighted by
    inverse class frequency; validation adds accuracy and macro-F1. The split is stratified and
    depends on the data only; at the start the baselines (majority, naive Bayes, logistic
    regression on bags of token uni+bigrams) are fitted on the same split and tokens, so the
    run says whether the recurrent model beats them. With the n-gram expert the logistic
    regression fitted there goes into the model and votes with it (models/ngram_expert.py); the
    recurrent network trains on its own loss. The best checkpoint is the one most accurate
    on validation (the loss breaks a tie): a classifier's validation loss can rise, its
    probabilities growing surer, while its accuracy still climbs."""

    BEST_BY = ("val_acc", True)  # the validation number that picks the best checkpoint, and whether higher is better

    def __init__(self, cfg: Config, meta: dict[str, Any] | None, world: World = SOLO,
                 fixed: Collection[str] | None = None) -> None:
        from rnn_tui.data.label_batches import ClassBatches
        from rnn_tui.data.labeled import split_labeled
        from rnn_tui.data.spec import load_labeled, resolve
        from rnn_tui.data.tokenizers import get_tokenizer
        from rnn_tui.data.vocab import Vocab

        self.cfg, d, t, self.world = cfg, cfg.data, cfg.train, world
        self.file = load_labeled(resolve(d.spec, d.label_column, d.text_column), d.encoding, d.label_column, d.text_column)
        test_size = d.test_size or int(len(self.file.texts) * d.test_fraction)
        self.split = split_labeled(self.file.texts, self.file.labels, d.val_fraction, test_size, seed=SPLIT_SEED)
        self.classes: list[str] = meta["classes"] if meta else sorted(set(self.file.labels))
        if len(self.classes) < 2:
            raise RnnTuiError(f"{d.spec} has one class ({self.classes[0]!r}); a classifier needs at least two")
        self.tokenizer = get_tokenizer(d.tokenizer)
        tokens = {name: [(self.tokenize(text), label) for text, label in part]
                  for name, part in (("train", self.split.train), ("val", self.split.val), ("test", self.split.test))}
        train_tokens = (tok for toks, _ in tokens["train"] for tok in toks)
        self.vocab = Vocab.from_json(meta["vocab"]) if meta else Vocab.build(train_tokens, min_freq=d.min_freq,
                                                                             max_size=d.max_vocab)
        index = {name: i for i, name in enumerate(self.classes)}
        self.examples = {name: [(self.vocab.encode(toks), index[label]) for toks, label in part if label in index]
                         for name, part in tokens.items()}
        self.batches = ClassBatches(self.examples["train"], t.batch * world.size, seed=t.seed, rank=world.rank,
                                    ranks=world.size)
        self.train_model: torch.nn.Module  # what ``loss`` runs: the model, or it in DistributedDataParallel
        self.val_batches = ClassBatches(self.examples["val"], t.batch, shuffle=False) if self.examples["val"] else None
        self.logreg: Linear | None = None  # the fitted baseline, for the n-gram expert of a new run
        self.baselines = meta["baselines"] if meta else self._fit_baselines(tokens, index)

    def tokenize(self, text: str) -> list[str]:
        return classifier_tokens(self.cfg.data, self.tokenizer, text)

    def _fit_baselines(self, tokens: dict[str, list[tuple[list[str], str]]], index: dict[str, int]) -> dict[str, Baseline]:
        from rnn_tui.train.baselines import fit_baselines

        splits = {name: ([toks for toks, _ in part], [index[label] for _, label in part]) for name, part in tokens.items()}
        results, fitted = fit_baselines(splits["train"], splits["val"] or None, splits["test"] or None, len(self.classes))
        self.logreg = cast("Linear", fitted["logreg"])
        return {name: {"val_acc": r["val_acc"], "test_acc": r["test_acc"], "seconds": r["seconds"]}
                for name, r in results.items()}

    def build_model(self, device: torch.device) -> Classifier:
        from rnn_tui.data.vocab import SPECIALS
        from rnn_tui.models.classifier import Classifier

        self.device = device
        self.model = self.train_model = Classifier(self.cfg.model, len(self.vocab), len(self.classes),
                                                   self.cfg.model.pooling).to(device)
        if self.model.expert is not None and self.logreg is not None:  # a resume loads it from the checkpoint
            lr = self.logreg
            self.model.expert.fit(lr.ngrams, lr.weight, lr.bias, self.vocab.itos, len(SPECIALS))
        counts = torch.bincount(torch.tensor([y for _, y in self.examples["train"]]), minlength=len(self.classes)).float()
        self.host_weight = counts.sum() / (len(counts) * counts.clamp(min=1)) if self.cfg.train.class_weights else None
        self.weight = None if self.host_weight is None else self.host_weight.to(device)
        return self.model

    def __len__(self) -> int:
        return len(self.batches)

    def start_info(self) -> StartInfo:
        e = self.examples
        return {"vocab": len(self.vocab), "classes": self.classes, "train_texts": len(e["train"]), "val_texts": len(e["val"]),
                "test_texts": len(e["test"]), "train_tokens": sum(len(ids) for ids, _ in e["train"]),
                "duplicates_removed": self.split.duplicates_removed, "skipped_lines": self.file.skipped,
                "first_skipped": self.file.first_skipped, "baselines": self.baselines}

    def loss(self, epoch: int, index: int) -> tuple[torch.Tensor, int, float]:
        """As LMTask.loss: the mean over the batch's texts (weighted: over their classes' weights)."""
        b = self.batches.get(epoch, index)
        weight = len(b.y) if self.host_weight is None else float(self.host_weight[b.y].sum())  # on the host: no wait
        b = b.to(self.device)
        logits = self.train_model(b.x, b.lengths, alone=True)  # the recurrent network's own loss, whatever votes with it
        return F.cross_entropy(logits, b.y, weight=self.weight), int(b.lengths.sum()), weight

    def after_step(self, new_epoch: bool) -> None:
        pass

    @torch.no_grad()
    def predict(self, part: str, max_batches: int = 0, alone: bool = False) -> tuple[list[int], list[int], float]:
        """Predicted and true classes of a split's texts, and the mean loss (nats/text); of
        several ranks, each predicts its share of the batches and every one gets them all.
        ``alone``: the recurrent network's own predictions, without the n-gram expert's vote."""
        from rnn_tui.data.label_batches import ClassBatches

        batches = ClassBatches(self.examples[part], self.cfg.train.batch * self.world.size, shuffle=False)
        n = len(batches) if not max_batches else min(len(batches), max_batches)
        pred: list[int] = []
        true: list[int] = []
        total = 0.0
        for i in self.world.block(n):
            b = batches.get(0, i).to(self.device)
            logits = self.model(b.x, b.lengths, alone=alone)
            total += F.cross_entropy(logits, b.y, reduction="sum").item()
            pred += logits.argmax(-1).tolist()
            true += b.y.tolist()
        if self.world.size > 1:
            shares = self.world.gather((pred, true, total))
            pred, true = [p for s in shares for p in s[0]], [y for s in shares for y in s[1]]
            total = sum(s[2] for s in shares)
        return pred, true, total / max(len(true), 1)

    def evaluate(self, max_batches: int = 0) -> Validation:
        from rnn_tui.decode.metrics import accuracy, confusion, macro_f1

        pred, true, loss = self.predict("val", max_batches)
        c = confusion(true, pred, len(self.classes))
        result: Validation = {"val_loss": loss, "val_acc": accuracy(c), "val_f1": macro_f1(c)}
        if self.model.expert is not None:  # and the recurrent network without the n-gram expert's vote
            pred_alone, _, _ = self.predict("val", max_batches, alone=True)
            result["val_acc_alone"] = accuracy(confusion(true, pred_alone, len(self.classes)))
        return result

    @torch.no_grad()
    def sample(self, seed: int) -> Sample:
        """Three validation texts (a different three each time): the predicted class, its
        probability, the true class and the text."""
        part = self.split.val or self.split.train
        lines = []
        shown: list[SampleClassified] = []
        for k in range(3):
            text, label = part[(seed * 3 + k) % len(part)]
            ids = self.vocab.encode(self.tokenize(text)) or [self.vocab.pad_id]
            probs = self.model(torch.tensor([ids], device=self.device), torch.tensor([len(ids)])).softmax(-1)[0]
            p, c = float(probs.max()), int(probs.argmax())
            shown.append({"text": text[:SAMPLE_TEXT_CHARS], "label": label, "predicted": self.classes[c], "p": round(p, 4)})
            cut = text if len(text) <= 80 else text[:79] + "…"
            lines.append(f"{'✓' if self.classes[c] == label else '✗'} {self.classes[c]} {p:.2f}  (true: {label})  {cut}")
        return {"prime": "", "text": "\n".join(lines), "classified": shown}

    def meta(self) -> dict[str, Any]:
        return {"vocab": self.vocab.to_json(), "tokenizer": self.cfg.data.tokenizer, "classes": self.classes,
                "baselines": self.baselines}

    def extra(self) -> dict[str, torch.Tensor]:
        return {}

    def restore_extra(self, extra: dict[str, torch.Tensor]) -> None:
        pass


def classifier_tokens(data: DataConfig, tokenizer: Tokenizer, text: str) -> list[str]:
    """A text's tokens as a classifier reads them: lowercased if set, cut to ``max_tokens``."""
    toks = tokenizer.tokenize(text.lower() if data.lowercase else text)
    return toks[: data.max_tokens] if data.max_tokens else toks


TASKS: dict[str, type[LMTask] | type[Seq2SeqTask] | type[ClassifyTask] | type[ForecastTask]] = {
    "lm": LMTask, "seq2seq": Seq2SeqTask, "classify": ClassifyTask}


def check_data(cfg: Config, fixed: Collection[str] | None = ()) -> None:
    """Read ``cfg``'s data as its task would, then let it go: one clear line (RnnTuiError) when
    it cannot be trained on — the app asks before it creates a run. ``fixed``: the settings a new
    run keeps (the others fit a small dataset, as its trainer will fit them; ``cfg`` is left as it is)."""
    import copy

    from rnn_tui.data.spec import check_task, resolve

    d = cfg.data
    check_task(cfg.task, resolve(d.spec, d.label_column, d.text_column))
    TASKS[cfg.task](copy.deepcopy(cfg), None, fixed=fixed)


class ForecastTask:
    """Forecasting: the MSE (or MAE) of the transformed values of the H points after each
    training window (one point for a recursive model); validation measures the same loss on the
    whole horizon from every validation origin (a recursive model's forecasts fed back) and adds
    their RMSE and MAE in the series' units. The split is chronological and
    the transforms are fitted on its training part (data/windows.py); at the start the
    baselines (persistence, seasonal naive, AR(p)) are scored on the same origins and horizon,
    so the run says whether the recurrent model beats them. With an AR highway the model starts as
    the AR fit of the training windows (models/forecaster.py)."""

    BEST_BY = ("val_loss", False)  # the validation number that picks the best checkpoint, and whether higher is better

    def __init__(self, cfg: Config, meta: dict[str, Any] | None, world: World = SOLO,
                 fixed: Collection[str] | None = None) -> None:
        from rnn_tui.data.transforms import Transform
        from rnn_tui.data.windows import ForecastBatches, ForecastData
        from rnn_tui.train.forecast_baselines import Baselines

        self.cfg, d, t, self.world = cfg, cfg.data, cfg.train, world
        self.data = ForecastData.from_config(cfg, Transform.from_dict(meta["transform"]) if meta else None)
        self.train_horizon = 1 if cfg.model.strategy == "recursive" else d.horizon
        self.batches = ForecastBatches(self.data, self.data.origins("train"), t.batch * world.size, self.train_horizon,
                                       seed=t.seed, rank=world.rank, ranks=world.size)
        self.train_model: torch.nn.Module  # what ``loss`` runs: the model, or it in DistributedDataParallel
        val = self.data.origins("val")
        self.val_batches = ForecastBatches(self.data, val, t.batch, d.horizon, shuffle=False) if val else None
        self.fitted = Baselines(self.data, d.season, t.ar_order)
        self.baselines: dict[str, Baseline] = meta["baselines"] if meta else self.fitted.scores()

    def build_model(self, device: torch.device) -> Forecaster:
        from rnn_tui.models.forecaster import Forecaster

        self.device = device
        d = self.cfg.data
        self.model = Forecaster(self.cfg.model, self.data.inputs_per_step, d.horizon, self.cfg.model.strategy).to(device)
        self.train_model = self.model
        if self.cfg.model.highway:  # start as the AR(P) fit of the training windows (a resume then loads its weights)
            origins = self.batches.origins
            self.model.start_from_ar(self.data.windows(origins), self.data.targets(origins, self.train_horizon))
        return self.model

    def __len__(self) -> int:
        return len(self.batches)

    def start_info(self) -> StartInfo:
        s, origins = self.data.split, self.data.origins
        return {"vocab": 0, "train_tokens": s.train_end, "train_points": s.train_end, "val_points": s.val,
                "test_points": s.test, "train_windows": len(origins("train")), "val_windows": len(origins("val")),
                "test_windows": len(origins("test")), "baselines": self.baselines}

    def error(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """The training loss: MSE or MAE (mean over the values)."""
        return (F.mse_loss if self.cfg.train.loss == "mse" else F.l1_loss)(pred, target)

    def loss(self, epoch: int, index: int) -> tuple[torch.Tensor, int, float]:
        """As LMTask.loss: the mean over the batch's forecast values."""
        b = self.batches.get(epoch, index).to(self.device)
        return self.error(self.train_model(b.x), b.y), b.y.numel(), b.y.numel()

    def after_step(self, new_epoch: bool) -> None:
        pass

    @torch.no_grad()
    def predict(self, origins: list[int], steps: int | None = None) -> torch.Tensor:
        """ẑ (B, steps) float32 on the cpu: the model's forecasts (transformed) from each origin, in
        batches; ``steps`` defaults to the horizon."""
        out = []
        for lo in range(0, len(origins), self.cfg.train.batch):
            x = self.data.windows(origins[lo : lo + self.cfg.train.batch]).to(self.device)
            out.append(self.model.forecast(x, steps).float().cpu())
        return torch.cat(out) if out else torch.zeros(0, steps or self.cfg.data.horizon)

    def evaluate(self, max_batches: int = 0) -> Validation:
        from rnn_tui.decode.metrics import forecast_scores

        origins = self.data.origins("val")
        if max_batches:
            origins = origins[: max_batches * self.cfg.train.batch * self.world.size]
        mine = self.world.block(len(origins))  # each rank forecasts its share; every one gets them all
        z = torch.cat(self.world.gather(self.predict(origins[mine.start : mine.stop])))
        loss = float(self.error(z, self.data.targets(origins)))
        y = self.data.transform.inverse(z, origins, self.data.values)
        scores = forecast_scores(self.data.truth(origins).flatten().tolist(), y.flatten().tolist())
        return {"val_loss": loss, "val_rmse": scores["rmse"], "val_mae": scores["mae"]}

    def sample(self, seed: int) -> Sample:
        """The forecast from one validation origin (a different one each time) beside the truth."""
        origins = self.data.origins("val") or self.data.origins("train")
        o = origins[seed % len(origins)]
        y = self.data.transform.inverse(self.predict([o]), [o], self.data.values)[0].tolist()
        truth = self.data.truth([o])[0].tolist()
        head = f"after {self.data.date(o)}: "
        return {"prime": "", "text": f"{head}forecast {_numbers(y)}\n{' ' * len(head)}true     {_numbers(truth)}"}

    def meta(self) -> dict[str, Any]:
        return {"transform": self.data.transform.to_dict(), "baselines": self.baselines}

    def extra(self) -> dict[str, torch.Tensor]:
        return {}

    def restore_extra(self, extra: dict[str, torch.Tensor]) -> None:
        pass


def _numbers(values: list[float]) -> str:
    return " ".join(f"{v:.4g}" for v in values)


TASKS["forecast"] = ForecastTask
