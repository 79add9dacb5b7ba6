"""A small Python API over the core, for notebooks and scripts; the CLI is a thin layer on it.

    >>> from rnn_tui.api import load_run
    >>> lm = load_run("runs/my-run")            # or a run id under ./runs
    >>> lm.score("To be, or not to be")["ppl"]
    >>> "".join(t["token"] for t in lm.generate("ROMEO:", Sampling(length=100, seed=0)))
    >>> lm.inspect("hello")["steps"][0]["layers"][0]["h"]
    >>> lm.intervention_effect("((a))", parse(ablate=["0:12"]))["classes"]   # the loss per class with unit 12 at 0
    >>> lm.intervene(parse(ablate=["0:12"]))    # from now on score, generate and inspect run with it
    >>> mt = load_run("runs/my-translator")     # a seq2seq run gives a LoadedTranslator
    >>> mt.translate("I love you.", beam=5)["hypotheses"][0]["text"]
    >>> mt.evaluate("test", beam=5)["bleu"]
    >>> fc = load_forecaster("runs/airline")   # a forecasting run
    >>> fc.forecast(12)["values"]                # the next 12 values after the series
    >>> fc.evaluate("test")["ratio"]            # the model's RMSE / the best baseline's
    >>> fc.inspect("1960-01")["steps"][-1]["layers"][0]["h"]   # the window ending at a date

(``parse`` is rnn_tui.models.interventions.parse.)
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from rnn_tui.config import Config
from rnn_tui.decode.sampling import sample
from rnn_tui.decode.settings import Beam, Sampling
from rnn_tui.errors import RnnTuiError
from rnn_tui.results import SPLITS, Continuation, Evaluation, Forecast, ForecastEvaluation, GeneratedToken, Score, Translation
from rnn_tui.runs.checkpoint import load_checkpoint, load_model_state
from rnn_tui.runs.rundir import RunDir, runs_root


@dataclass
class LoadedRun:
    """A trained language model with its vocabulary and tokenizer, ready to use."""

    run: RunDir
    config: Config
    model: Any  # rnn_tui.models.lm.LanguageModel
    vocab: Any  # rnn_tui.data.vocab.Vocab
    tokenizer: Any  # rnn_tui.data.tokenizers.Tokenizer
    meta: dict[str, Any]
    interventions: tuple[Any, ...] = ()  # models.interventions.Intervention: in force for everything below

    # -- interventions -------------------------------------------------------------------------

    def intervene(self, interventions: Iterable[Any]) -> None:
        """Run the model with these interventions (models/interventions.py) from now on, in score,
        generate, beam and inspect; none: the plain model. One clear line for one it cannot take."""
        interventions = tuple(interventions)
        self.model.rnn.intervene(interventions)
        self.interventions = interventions

    @contextmanager
    def intervening(self, interventions: Iterable[Any]) -> Iterator[None]:
        """``intervene`` for the length of a with block, then the interventions that were in force."""
        before = self.interventions
        self.intervene(interventions)
        try:
            yield
        finally:
            self.intervene(before)

    def intervention_effect(self, text: str, interventions: Iterable[Any], classes: Any = None) -> dict[str, Any]:
        """The loss on ``text`` without and with ``interventions``, per class of the predicted token
        (decode.score.loss_change; ``classes`` from parse_classes, default DEFAULT_CLASSES)."""
        from rnn_tui.decode.score import DEFAULT_CLASSES, loss_change

        interventions = tuple(interventions)
        if not interventions:
            raise RnnTuiError("no intervention to compare with: give --ablate, --clamp or --freeze-gate")
        with self.intervening(()):
            without = self.score(text)
        with self.intervening(interventions):
            with_ = self.score(text)
        return {"run": self.run.id, "interventions": [str(iv) for iv in interventions], "scored": without["scored"],
                "unknown": without["unknown"],
                "classes": loss_change(without["tokens"], without["logprobs"], with_["logprobs"], classes or DEFAULT_CLASSES)}

    # -- text <-> ids ------------------------------------------------------------------------------

    def tokenize(self, text: str) -> list[str]:
        return self.tokenizer.tokenize(text)

    def encode(self, text: str) -> list[int]:
        return self.vocab.encode(self.tokenize(text))

    def detokenize(self, tokens: list[str]) -> str:
        return self.tokenizer.detokenize(tokens)

    def default_prime(self) -> str:
        """The start of the first line of the run's training text: something the model knows."""
        return "\n" if "\n" in self.vocab else self.vocab.itos[4]

    # -- using the model -----------------------------------------------------------------------

    def generate(self, prime: str, s: Sampling) -> Iterator[GeneratedToken]:
        """Yield ``{"id", "token", "prob", "logprob"}`` for each new token, as produced."""
        ids = self.encode(prime)
        if not ids:
            raise RnnTuiError("the prime text has no tokens; give a non-empty --prime")
        v = self.vocab
        for tok in sample(self.model, ids, s, banned=(v.pad_id, v.bos_id), eos_id=v.eos_id, unk_id=v.unk_id):
            yield {"id": tok.id, "token": v.itos[tok.id], "prob": tok.prob, "logprob": tok.logprob}

    def beam(self, prime: str, beam: int = 5, alpha: float = 0.75, length: int = 50, nbest: int = 1) -> list[Continuation]:
        """The ``nbest`` most likely continuations of ``prime`` by beam search (log P / L^α)."""
        from rnn_tui.decode.beam import lm_beam_search

        search = Beam(width=beam, alpha=alpha, nbest=nbest)
        ids = self.encode(prime)
        if not ids:
            raise RnnTuiError("the prime text has no tokens; give a non-empty --prime")
        v = self.vocab
        hyps = lm_beam_search(self.model, ids, beam=search.width, alpha=search.alpha, length=length, nbest=search.nbest,
                              eos_id=v.eos_id, banned=(v.pad_id, v.unk_id, v.bos_id))
        return [{"text": self.detokenize(v.decode(h.ids)), "tokens": v.decode(h.ids), "score": h.score,
                 "logprob": h.logprob} for h in hyps]

    def score(self, text: str) -> Score:
        from rnn_tui.decode.score import score_ids

        tokens = self.tokenize(text)
        if len(tokens) < 2:
            raise RnnTuiError("scoring needs at least two tokens: the first one is the context for the next")
        result = score_ids(self.model, self.vocab.encode(tokens))
        return {**result, "tokens": tokens, "unknown": sum(1 for t in tokens if t not in self.vocab)}

    def trace(self, text: str, topk: int = 5):
        ids = self.encode(text)
        if not ids:
            raise RnnTuiError("the text has no tokens to inspect")
        return self.model.trace(ids, topk=topk)

    def inspect(self, text: str, layer: int | None = None, topk: int = 5) -> dict[str, Any]:
        """Every vector of every layer (or only ``layer``) at every token of ``text``, and the
        next-token top-k: what the Inspect tab shows, as one JSON-ready dict."""
        from rnn_tui.inspect.export import lm_to_dict
        from rnn_tui.inspect.trace import lm_trace

        return lm_to_dict(lm_trace(self, text, topk=topk), layer=layer)


@dataclass
class LoadedTranslator:
    """A trained encoder–decoder with both vocabularies and tokenizers, ready to translate."""

    run: RunDir
    config: Config
    model: Any  # rnn_tui.models.seq2seq.Seq2Seq
    src_vocab: Any
    tgt_vocab: Any
    src_tokenizer: Any
    tgt_tokenizer: Any
    meta: dict[str, Any]

    def source_tokens(self, text: str) -> list[str]:
        return self.src_tokenizer.tokenize(text.lower() if self.config.data.lowercase else text)

    def detokenize(self, ids: list[int]) -> str:
        return self.tgt_tokenizer.detokenize(self.tgt_vocab.decode(ids))

    def translate(self, text: str, beam: int = 1, alpha: float = 0.75, nbest: int = 1,
                  max_len: int | None = None) -> Translation:
        """Greedy (beam 1) or beam search: the source tokens (and which are unknown), the n-best
        hypotheses with their scores (log P / L^α), and the best one's attention (rows: its
        tokens and <eos>; columns: the source tokens), or None without attention."""
        from rnn_tui.decode.beam import beam_search, greedy

        search = Beam(width=beam, alpha=alpha, nbest=nbest)
        tokens = self.source_tokens(text)
        if not tokens:
            raise RnnTuiError("nothing to translate: the text has no tokens")
        ids = self.src_vocab.encode(tokens)
        if search.width == 1:
            hyps = [greedy(self.model, ids, max_len=max_len, alpha=search.alpha)]
        else:
            hyps = beam_search(self.model, ids, beam=search.width, alpha=search.alpha, nbest=search.nbest, max_len=max_len)
        best = hyps[0]
        return {
            "source": text, "source_tokens": tokens,
            "unknown": [t for t, i in zip(tokens, ids) if i == self.src_vocab.unk_id],
            "hypotheses": [{"text": self.detokenize(h.ids), "tokens": self.tgt_vocab.decode(h.ids), "score": h.score,
                            "logprob": h.logprob, "ended": h.ended} for h in hyps],
            "attention": best.attention.tolist() if best.attention is not None else None,
            "beam": beam, "alpha": alpha,
        }

    def trace(self, text: str, target: str | None = None, topk: int = 5):
        """Encoder and decoder, every gate and state, for one sentence (the target forced, or greedy)."""
        tokens = self.source_tokens(text)
        if not tokens:
            raise RnnTuiError("nothing to translate: the text has no tokens")
        forced = self.tgt_vocab.encode(self.tgt_tokenizer.tokenize(target)) if target else None
        return self.model.trace(self.src_vocab.encode(tokens), forced, topk=topk)

    def inspect(self, text: str, target: str | None = None, layer: int | None = None, topk: int = 5) -> dict[str, Any]:
        """The encoder (both ways when bidirectional) at every source token, the decoder at every
        step, and the attention: what the Inspect tab shows, as one JSON-ready dict. The target is
        ``target``, else what follows ``source => `` in ``text``, else greedy decoding."""
        from rnn_tui.inspect.export import translation_to_dict
        from rnn_tui.inspect.trace import translation_trace

        return translation_to_dict(translation_trace(self, text, target, topk=topk), layer=layer)

    def evaluate(self, split: str = "test", beam: int = 1, alpha: float = 0.75, tokenize: str = "zh",
                 limit: int = 0) -> Evaluation:
        """Translate a held-out split of the run's own data (rebuilt exactly as the trainer split
        it) and score it with corpus BLEU: the hypotheses, the references and the score."""
        from rnn_tui.decode.beam import beam_search, greedy_batch
        from rnn_tui.decode.bleu import corpus_bleu
        from rnn_tui.train.tasks import Seq2SeqTask

        if split not in SPLITS:
            raise RnnTuiError(f"the split must be one of {', '.join(SPLITS)}; got {split!r}")
        search = Beam(width=beam, alpha=alpha)
        corpus = Seq2SeqTask(self.config, self.meta).corpus
        pairs = corpus.test if split == "test" else corpus.val
        if limit:
            pairs = pairs[:limit]
        if not pairs:
            hint = "train with --test-size N (or --test-fraction)" if split == "test" else "train with --val-fraction > 0"
            raise RnnTuiError(f"run {self.run.id} has no {split} split; {hint}")
        sources = [src for src, _ in pairs]
        if beam == 1:
            outputs = greedy_batch(self.model, sources)
        else:
            outputs = [beam_search(self.model, src, beam=search.width, alpha=search.alpha)[0].ids for src in sources]
        hyps = [self.detokenize(ids) for ids in outputs]
        if split == "test":  # the references as written, not through the vocabulary (no <unk>)
            refs = [ref for _, ref in corpus.test_text[: len(pairs)]]
        else:
            refs = [self.detokenize(tgt) for _, tgt in pairs]
        score = corpus_bleu(hyps, refs, tokenize=tokenize)
        exact = sum(h == r for h, r in zip(hyps, refs)) / len(refs)
        return {"run": self.run.id, "split": split, "pairs": len(pairs), "beam": beam, "alpha": alpha,
                "tokenize": tokenize, "bleu": score.score, "exact_match": exact, "summary": score.format(),
                "sources": [self.src_tokenizer.detokenize(self.src_vocab.decode(s)) for s in sources],
                "hypotheses": hyps, "references": refs}


@dataclass
class LoadedClassifier:
    """A classification run's model: the class of a text and its probabilities, or the scores on a held-out split."""

    run: RunDir
    config: Config
    model: Any  # models.classifier.Classifier
    vocab: Any  # data.vocab.Vocab
    tokenizer: Any  # data.tokenizers.Tokenizer
    classes: list[str]
    meta: dict[str, Any]

    def tokens(self, text: str) -> list[str]:
        """The tokens the classifier reads: lowercased if the run was, cut to its max_tokens."""
        from rnn_tui.train.tasks import classifier_tokens

        return classifier_tokens(self.config.data, self.tokenizer, text)

    def encode(self, text: str) -> list[int]:
        return self.vocab.encode(self.tokens(text))

    def classify(self, text: str) -> dict[str, Any]:
        """{"text", "label", "probs": {class: p} (classes in their order), "tokens"}."""
        return self.classify_batch([text])[0]

    def classify_batch(self, texts: Sequence[str], batch: int = 64) -> list[dict[str, Any]]:
        """``classify`` of every text, in their order. Texts of similar length go through the model
        ``batch`` at a time (a padded batch is packed, so each text gets what it gets alone)."""
        import torch

        from rnn_tui.data.label_batches import collate

        if any(not text.strip() for text in texts):
            raise RnnTuiError("the text is empty")
        ids = [self.encode(text) for text in texts]
        order = sorted(range(len(texts)), key=lambda i: len(ids[i]))
        device = next(self.model.parameters()).device
        results: list[dict[str, Any]] = [{} for _ in texts]
        with torch.no_grad():
            for start in range(0, len(order), batch):
                rows = order[start : start + batch]
                b = collate([(ids[i], 0) for i in rows])  # a text without tokens is read as one <pad>
                for i, length, probs in zip(rows, b.lengths.tolist(), self.model(b.x.to(device), b.lengths).softmax(-1).tolist()):
                    best = max(range(len(probs)), key=probs.__getitem__)
                    results[i] = {"text": texts[i], "label": self.classes[best], "probs": dict(zip(self.classes, probs)),
                                  "tokens": length}
        return results

    def inspect(self, text: str, layer: int | None = None) -> dict[str, Any]:
        """Every vector of every layer (or only ``layer``) at every token, the class probabilities
        after each prefix, each token's change of the predicted class's log-odds, the tokens that
        moved it most and the attention weights: what the Inspect tab shows, as one JSON-ready dict."""
        from rnn_tui.inspect.export import classification_to_dict
        from rnn_tui.inspect.trace import classification_trace

        return classification_to_dict(classification_trace(self, text), layer=layer)

    def evaluate(self, split: str = "test") -> dict[str, Any]:
        """Accuracy, macro-F1, per-class precision/recall/F1, the confusion matrix (rows: true
        class) and the accuracy in four length buckets (``by_length``) on the run's ``split`` — the
        same stratified split it trained on — and the baselines fitted at the start of the run;
        with an n-gram expert, ``recurrent_alone``: the accuracy, macro-F1 and loss of the
        recurrent network without its vote (else None)."""
        from rnn_tui.decode.metrics import accuracy, accuracy_by_length, confusion, macro_f1, per_class
        from rnn_tui.train.tasks import ClassifyTask

        if split not in SPLITS:
            raise RnnTuiError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")
        task = ClassifyTask(self.config, self.meta)  # the data and split again; the baselines from the checkpoint
        if not task.examples[split]:
            raise RnnTuiError(f"run {self.run.id} has no {split} texts (set --test-size when training)")
        task.model, task.device = self.model, next(self.model.parameters()).device
        pred, true, loss = task.predict(split)
        c = confusion(true, pred, len(self.classes))
        lengths = [len(ids) for ids, _ in task.examples[split]]
        alone = None
        if self.model.expert is not None:  # the recurrent network without the n-gram expert's vote
            pred_alone, _, loss_alone = task.predict(split, alone=True)
            c_alone = confusion(true, pred_alone, len(self.classes))
            alone = {"accuracy": accuracy(c_alone), "macro_f1": macro_f1(c_alone), "loss": loss_alone}
        return {"run": self.run.id, "split": split, "texts": len(true), "loss": loss, "accuracy": accuracy(c),
                "macro_f1": macro_f1(c), "classes": self.classes, "confusion": c, "per_class": per_class(c),
                "by_length": accuracy_by_length(lengths, true, pred), "baselines": self.meta.get("baselines", {}),
                "recurrent_alone": alone}


@dataclass
class LoadedForecaster:
    """A forecasting run's model and transforms: the next values after its series, or its errors
    on a held-out part beside the baselines'."""

    run: RunDir
    config: Config
    model: Any  # models.forecaster.Forecaster
    meta: dict[str, Any]

    @cached_property
    def task(self) -> Any:  # train.tasks.ForecastTask: the run's data read again, the transform from the checkpoint
        from rnn_tui.train.tasks import ForecastTask

        task = ForecastTask(self.config, self.meta)
        task.model, task.device = self.model, next(self.model.parameters()).device
        return task

    def forecast(self, steps: int | None = None) -> Forecast:
        """The ``steps`` values (default: the horizon) after the last point of the series, from
        its last window; with its dates continued when the data has a date column. A direct
        model forecasts its horizon at a time: further steps are chained, each forecast taken
        as the truth for the next (not with features: their future is unknown)."""
        import torch

        from rnn_tui.data.series import next_dates

        data, H = self.task.data, self.config.data.horizon
        steps = H if steps is None else steps
        if steps < 1:
            raise RnnTuiError(f"the number of steps must be at least 1; got {steps}")
        direct = self.config.model.strategy == "direct"
        if direct and steps > H and data.series.features is not None:
            raise RnnTuiError(f"{self.run.id} reads features, whose values after the series are unknown; it forecasts at "
                              f"most its horizon ({H}) steps")
        history = data.values
        n = len(history)
        with torch.no_grad():
            if data.series.features is not None:
                z = self.model.forecast(data.windows([n - 1]).to(self.task.device), steps).float().cpu()
                history = torch.cat([history, data.transform.inverse(z, [n - 1], history)[0]])
            while len(history) < n + steps:
                take = min(H if direct else steps, n + steps - len(history))
                window = data.transform.forward(history)[-data.window:].float()[None, :, None]
                z = self.model.forecast(window.to(self.task.device), take).float().cpu()
                history = torch.cat([history, data.transform.inverse(z, [len(history) - 1], history)[0]])
        dates = data.series.dates
        return {"run": self.run.id, "series": data.series.name, "last_value": float(data.values[-1]),
                "last_date": dates[-1] if dates else None, "steps": steps, "horizon": H,
                "chained": direct and steps > H, "points": list(range(n + 1, n + steps + 1)),
                "dates": next_dates(dates, steps) if dates else None, "values": history[n:].tolist()}

    def points(self) -> dict[str, Any]:
        """The series as the run reads it: ``values`` (every point, in the series' units),
        ``dates`` (None without a date column), and the 1-based first point of its validation and
        test parts, ``val_start`` and ``test_start`` (None for an empty part). The forecasts of
        ``evaluate(split)`` from its k-th origin land on points ``start + k .. start + k + H − 1``
        of that part (data/windows.py)."""
        data, s = self.task.data, self.task.data.split
        return {"series": data.series.name, "values": data.values.tolist(), "dates": data.series.dates,
                "val_start": s.train_end + 1 if s.val else None, "test_start": s.val_end + 1 if s.test else None}

    def evaluate(self, split: str = "test") -> ForecastEvaluation:
        """The model's errors on the forecasts from every origin of ``split`` (the H points after
        each; data/windows.py), beside each baseline's on the same origins, the best baseline and
        the model's RMSE as a ratio of it (below 1: the model is better); the RMSE at each step
        ahead; and every forecast."""
        from rnn_tui.decode.metrics import forecast_scores

        if split not in SPLITS:
            raise RnnTuiError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")
        task, data = self.task, self.task.data
        origins = data.origins(split)
        if not origins:
            hint = "train with --test-size N" if split == "test" else "train with --val-fraction above 0"
            raise RnnTuiError(f"run {self.run.id} has no {split} points; {hint}")
        truth = data.truth(origins)
        forecasts = {"model": data.transform.inverse(task.predict(origins), origins, data.values),
                     **task.fitted.forecasts(origins)}
        scores = {name: forecast_scores(truth.flatten().tolist(), f.flatten().tolist()) for name, f in forecasts.items()}
        model = scores.pop("model")
        best = min(scores, key=lambda name: scores[name]["rmse"])
        best_rmse = scores[best]["rmse"]
        return {"run": self.run.id, "split": split, "series": data.series.name, "origins": len(origins),
                "horizon": data.horizon, "model": model, "baselines": scores, "best_baseline": best,
                "ar_order": task.fitted.p, "ratio": model["rmse"] / best_rmse if best_rmse else None,
                "rmse_by_step": [forecast_scores(truth[:, h].tolist(), forecasts["model"][:, h].tolist())["rmse"]
                                 for h in range(data.horizon)],
                "forecasts": {"origins": [data.date(o) for o in origins], "truth": truth.tolist(),
                              **{name: f.tolist() for name, f in forecasts.items()}}}

    def inspect(self, origin: str | int | None = None, layer: int | None = None) -> dict[str, Any]:
        """The window ending at ``origin`` (a 0-based point, or a date, a point number or ``end`` as
        text; default: the last point with a whole horizon of truth after it): every vector of
        every layer (or only ``layer``) at every step, the values read, and the forecast from its
        last point beside the truth and the baselines': what the Inspect tab shows, as one
        JSON-ready dict."""
        from rnn_tui.inspect.export import forecast_to_dict
        from rnn_tui.inspect.trace import forecast_trace

        return forecast_to_dict(forecast_trace(self, origin), layer=layer)

    def trace(self, origin: int | None = None) -> tuple[dict[str, Any], list[Any]]:
        """The window ending at ``origin`` (default: the last point) through every layer:
        Forecaster.trace's vectors and start states (for Inspect)."""
        data = self.task.data
        o = len(data.values) - 1 if origin is None else origin
        first = data.window - 1 + data.transform.lost
        if not first <= o < len(data.values):
            raise RnnTuiError(f"no full window ends at point {o + 1}: windows end at points {first + 1} to "
                              f"{len(data.values)} ({data.date(first)} to {data.date(len(data.values) - 1)})")
        return self.model.trace(data.windows([o])[0])


def load_run(spec: str | Path, runs_dir: str | Path | None = None, tag: str = "latest",
             device: str = "cpu") -> LoadedRun | LoadedTranslator:
    """Load a run's ``latest`` (or ``best``) checkpoint, checking it fits the run's model: a
    LoadedRun for a language model, a LoadedTranslator for a seq2seq run."""
    from rnn_tui.data.tokenizers import get_tokenizer
    from rnn_tui.data.vocab import Vocab
    from rnn_tui.models.lm import LanguageModel

    run = RunDir.open(spec, runs_root(runs_dir))
    ckpt = load_checkpoint(run.checkpoints, tag, device=device)  # its config and vocabularies checked
    cfg = ckpt.config
    if cfg.task == "seq2seq":
        return _load_translator(run, cfg, ckpt, tag, device)
    if cfg.task in ("classify", "forecast"):
        raise other_task(run.id, cfg.task)
    vocab = Vocab.from_json(ckpt.meta["vocab"])
    model = LanguageModel(cfg.model, len(vocab)).to(device)
    load_model_state(model, ckpt.model, f"{run.id} {tag} checkpoint")
    model.eval()
    return LoadedRun(run=run, config=cfg, model=model, vocab=vocab, tokenizer=get_tokenizer(cfg.data.tokenizer), meta=ckpt.meta)


def _load_translator(run: RunDir, cfg: Config, ckpt, tag: str, device: str) -> LoadedTranslator:
    from rnn_tui.data.tokenizers import get_tokenizer
    from rnn_tui.data.vocab import Vocab
    from rnn_tui.models.seq2seq import Seq2Seq

    src_vocab, tgt_vocab = Vocab.from_json(ckpt.meta["src_vocab"]), Vocab.from_json(ckpt.meta["tgt_vocab"])
    model = Seq2Seq(cfg.model, len(src_vocab), len(tgt_vocab)).to(device)
    load_model_state(model, ckpt.model, f"{run.id} {tag} checkpoint")
    model.eval()
    return LoadedTranslator(run=run, config=cfg, model=model, src_vocab=src_vocab, tgt_vocab=tgt_vocab,
                            src_tokenizer=get_tokenizer(cfg.data.src_tokenizer),
                            tgt_tokenizer=get_tokenizer(cfg.data.tgt_tokenizer), meta=ckpt.meta)


# what a run of each task is, and the commands that use it
USES = {"lm": ("a language model", "`rnn-tui generate {id}` or `rnn-tui score {id} TEXT`"),
        "seq2seq": ("a translation run (seq2seq)", "`rnn-tui translate {id} TEXT`"),
        "classify": ("a classifier", "`rnn-tui classify {id} TEXT`"),
        "forecast": ("a forecaster", "`rnn-tui forecast {id}`")}


def other_task(run_id: str, task: str) -> RnnTuiError:
    """The one line for a run given to a command of another task: what it is, and what to use instead."""
    what, use = USES[task]
    return RnnTuiError(f"{run_id} is {what}; use {use.format(id=run_id)}")


def as_lm(loaded: LoadedRun | LoadedTranslator | LoadedClassifier | LoadedForecaster) -> LoadedRun:
    """A loaded run that must be a language model: a run of another task is one clear line."""
    if not isinstance(loaded, LoadedRun):
        raise other_task(loaded.run.id, loaded.config.task)
    return loaded


def as_translator(loaded: LoadedRun | LoadedTranslator) -> LoadedTranslator:
    """A loaded run that must be a translator: a language-model run is one clear line."""
    if not isinstance(loaded, LoadedTranslator):
        raise other_task(loaded.run.id, loaded.config.task)
    return loaded


def load_lm(spec: str | Path, runs_dir: str | Path | None = None, tag: str = "latest", device: str = "cpu") -> LoadedRun:
    """load_run for commands that need a language model."""
    return as_lm(load_run(spec, runs_dir, tag, device))


def load_translator(spec: str | Path, runs_dir: str | Path | None = None, tag: str = "latest",
                    device: str = "cpu") -> LoadedTranslator:
    """load_run for translation."""
    return as_translator(load_run(spec, runs_dir, tag, device))


def load_any(spec: str | Path, runs_dir: str | Path | None = None, tag: str = "latest",
             device: str = "cpu") -> LoadedRun | LoadedTranslator | LoadedClassifier | LoadedForecaster:
    """Whatever the run trained (its task read from its config.toml): load_run's language model
    or translator, a classifier or a forecaster."""
    run = RunDir.open(spec, runs_root(runs_dir))
    task = run.config().task
    if task == "classify":
        return load_classifier(run.path, tag=tag, device=device)
    if task == "forecast":
        return load_forecaster(run.path, tag=tag, device=device)
    return load_run(run.path, tag=tag, device=device)


def load_classifier(spec: str | Path, runs_dir: str | Path | None = None, tag: str = "latest",
                    device: str = "cpu") -> LoadedClassifier:
    """Load a classification run's ``latest`` (or ``best``) checkpoint."""
    from rnn_tui.data.tokenizers import get_tokenizer
    from rnn_tui.data.vocab import Vocab
    from rnn_tui.models.classifier import Classifier

    run = RunDir.open(spec, runs_root(runs_dir))
    ckpt = load_checkpoint(run.checkpoints, tag, device=device)
    cfg = ckpt.config
    if cfg.task != "classify":
        raise other_task(run.id, cfg.task)
    vocab, classes = Vocab.from_json(ckpt.meta["vocab"]), list(ckpt.meta["classes"])
    model = Classifier(cfg.model, len(vocab), len(classes), cfg.model.pooling).to(device)
    load_model_state(model, ckpt.model, f"{run.id} {tag} checkpoint")
    model.eval()
    return LoadedClassifier(run=run, config=cfg, model=model, vocab=vocab, tokenizer=get_tokenizer(cfg.data.tokenizer),
                            classes=classes, meta=ckpt.meta)


def load_forecaster(spec: str | Path, runs_dir: str | Path | None = None, tag: str = "latest",
                    device: str = "cpu") -> LoadedForecaster:
    """Load a forecasting run's ``latest`` (or ``best``) checkpoint."""
    from rnn_tui.models.forecaster import Forecaster

    run = RunDir.open(spec, runs_root(runs_dir))
    ckpt = load_checkpoint(run.checkpoints, tag, device=device)  # its transform checked
    cfg = ckpt.config
    if cfg.task != "forecast":
        raise other_task(run.id, cfg.task)
    model = Forecaster(cfg.model, 1 + len(cfg.data.feature_columns()), cfg.data.horizon, cfg.model.strategy).to(device)
    load_model_state(model, ckpt.model, f"{run.id} {tag} checkpoint")
    model.eval()
    return LoadedForecaster(run=run, config=cfg, model=model, meta=ckpt.meta)


__all__ = ["LoadedClassifier", "LoadedForecaster", "LoadedRun", "LoadedTranslator", "Sampling", "as_lm", "as_translator",
           "load_any", "load_classifier", "load_forecaster", "load_lm", "load_run", "load_translator"]
