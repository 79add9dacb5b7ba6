"""From a ``[data]`` config to token ids: resolve the spec, read the text, tokenize, split."""

from __future__ import annotations

from rnn_tui.config import DataConfig
from rnn_tui.errors import RnnTuiError


def corpus_text(cfg: DataConfig, spec: str | None = None) -> str:
    """The text a language-model run reads: its own data (or ``spec``'s), lowercased if it was."""
    from rnn_tui.data.spec import holds_text, load_text, resolve

    spec = cfg.spec if spec is None else spec
    source = resolve(spec)
    if not holds_text(source):  # text, or a folder of class folders (its texts)
        raise RnnTuiError(f"{spec} is a {source.kind} dataset; a language model (--task lm) needs text")
    text = load_text(source, encoding=cfg.encoding)
    return text.lower() if cfg.lowercase else text


def load_text_corpus(cfg: DataConfig, vocab=None):
    """The ``TextCorpus`` a language-model run trains on (reusing ``vocab`` when resuming)."""
    from rnn_tui.data.text import TextCorpus

    return TextCorpus.from_text(
        corpus_text(cfg),
        tokenizer=cfg.tokenizer,
        val_fraction=cfg.val_fraction,
        test_fraction=cfg.test_fraction,
        min_freq=cfg.min_freq,
        max_vocab=cfg.max_vocab,
        vocab=vocab,
    )
