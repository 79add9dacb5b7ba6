"""From a ``[data]`` config to token ids: resolve the spec, read the text, tokenize, split."""

from __future__ import annotations

from rnn_tui.config import DataConfig
from rnn_tui.errors import RnnTuiError


def load_text_corpus(cfg: DataConfig, vocab=None):
    """The ``TextCorpus`` a language-model run trains on (reusing ``vocab`` when resuming)."""
    from rnn_tui.data.spec import holds_text, load_text, resolve
    from rnn_tui.data.text import TextCorpus

    source = resolve(cfg.spec)
    if not holds_text(source):  # text, or a folder of class folders (its texts)
        raise RnnTuiError(f"{cfg.spec} is a {source.kind} dataset; a language model (--task lm) needs text")
    text = load_text(source, encoding=cfg.encoding)
    if cfg.lowercase:
        text = text.lower()
    return TextCorpus.from_text(
        text,
        tokenizer=cfg.tokenizer,
        val_fraction=cfg.val_fraction,
        test_fraction=cfg.test_fraction,
        min_freq=cfg.min_freq,
        max_vocab=cfg.max_vocab,
        vocab=vocab,
    )
