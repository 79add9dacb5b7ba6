"""A small Python API over the core, for notebooks and scripts; the CLI is a thin layer on it.

    >>> from rnn_tui.api import load_run
    >>> lm = load_run("runs/my-run")            # or a run id under ./runs
    >>> lm.score("To be, or not to be")["ppl"]
    >>> "".join(t["token"] for t in lm.generate("ROMEO:", Sampling(length=100, seed=0)))
    >>> lm.inspect("hello")["steps"][0]["layers"][0]["h"]
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any


from rnn_tui.config import Config
from rnn_tui.decode.sampling import Sampling, sample
from rnn_tui.errors import RnnTuiError
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

    def generate(self, prime: str, s: Sampling) -> Iterator[dict[str, Any]]:
        """Yield ``{"id", "token", "prob", "logprob"}`` for each new token, as produced."""
        ids = self.encode(prime)
        if not ids:
            raise RnnTuiError("the prime text has no tokens; give a non-empty --prime")
        v = self.vocab
        for tok in sample(self.model, ids, s, banned=(v.pad_id, v.bos_id), eos_id=v.eos_id, unk_id=v.unk_id):
            yield {"id": tok.id, "token": v.itos[tok.id], "prob": tok.prob, "logprob": tok.logprob}

    def score(self, text: str) -> dict[str, Any]:
        from rnn_tui.decode.score import score_ids

        tokens = self.tokenize(text)
        if len(tokens) < 2:
            raise RnnTuiError("scoring needs at least two tokens: the first one is the context for the next")
        result = score_ids(self.model, self.vocab.encode(tokens))
        result["tokens"] = tokens
        result["unknown"] = sum(1 for t in tokens if t not in self.vocab)
        return result

    def trace(self, text: str, topk: int = 5):
        ids = self.encode(text)
        if not ids:
            raise RnnTuiError("the text has no tokens to inspect")
        return self.model.trace(ids, topk=topk)

    def inspect(self, text: str, layer: int | None = None, topk: int = 5) -> dict[str, Any]:
        from rnn_tui.inspect.trace import trace_to_dict

        if layer is not None and not (0 <= layer < self.config.model.layers):
            raise RnnTuiError(f"--layer must be between 0 and {self.config.model.layers - 1}; got {layer}")
        return trace_to_dict(self.trace(text, topk=topk), self.vocab, layer=layer)


def load_run(spec: str | Path, runs_dir: str | Path | None = None, tag: str = "latest", device: str = "cpu") -> LoadedRun:
    """Load a run's ``latest`` (or ``best``) checkpoint, checking it fits the run's model."""
    from rnn_tui.data.tokenizers import get_tokenizer
    from rnn_tui.data.vocab import Vocab
    from rnn_tui.models.lm import LanguageModel

    run = RunDir.open(spec, runs_root(runs_dir))
    ckpt = load_checkpoint(run.checkpoints, tag, device=device)
    try:
        cfg = Config.from_dict(ckpt.meta["config"], where=f"{run.id} checkpoint").validate()
        vocab = Vocab.from_json(ckpt.meta["vocab"])
    except (KeyError, TypeError, ValueError) as exc:
        raise RnnTuiError(f"{run.id} checkpoint metadata is incomplete ({exc}); retrain the run") from None
    model = LanguageModel(cfg.model, len(vocab)).to(device)
    load_model_state(model, ckpt.model, f"{run.id} {tag} checkpoint")
    model.eval()
    return LoadedRun(run=run, config=cfg, model=model, vocab=vocab, tokenizer=get_tokenizer(cfg.data.tokenizer), meta=ckpt.meta)


__all__ = ["LoadedRun", "Sampling", "load_run"]
