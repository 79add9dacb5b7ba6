"""Tokenizers: text -> list of token strings, and back.

Three of them, picked by name:

- ``char``: every Unicode code point is a token (spaces and newlines included).
- ``word``: words, numbers and single punctuation characters by regex; ``"\\n"`` is kept as a
  token so lines survive; a run of CJK characters is one token.
- ``jieba``: like ``word``, but every run of Chinese characters is segmented by jieba.

``word`` and ``jieba`` drop spaces, so they share one rule to put text back together:
``join_tokens`` (no space between Chinese tokens, none before closing punctuation, ...).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

from rnn_tui.errors import RnnTuiError

# Ideographs, kana and hangul: the characters written without spaces between words.
_CJK_LETTERS = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
# ... plus CJK and fullwidth punctuation: nothing written next to these takes a space.
_CJK_ANY = re.compile(f"[{_CJK_LETTERS}\u2e80-\u303f\ufe30-\ufe4f\uff00-\uffef]")

_WORD_RE = re.compile(
    "\n"  # a line break is a token of its own
    f"|[{_CJK_LETTERS}]+"  # a run of CJK characters
    r"|\d+(?:[.,]\d+)+"  # a number with a decimal point or thousands separators: 3.14, 1,000
    rf"|[^\W{_CJK_LETTERS}]+(?:'[^\W{_CJK_LETTERS}]+)*"  # a word: letters, digits, _, don't
    r"|\S"  # any other visible character: punctuation, one at a time
)

NO_SPACE_BEFORE = set(",.!?;:)]}%…") | set("，。！？；：、）》」』】〉”’")
NO_SPACE_AFTER = set("([{") | set("（《「『【〈“‘")
NO_SPACE_AROUND = set("-/")


class Tokenizer:
    """Base class: ``tokenize`` and ``detokenize`` are inverse up to dropped whitespace."""

    name: str = ""

    def tokenize(self, text: str) -> list[str]:
        raise NotImplementedError

    def detokenize(self, tokens: Sequence[str]) -> str:
        return join_tokens(tokens)


class CharTokenizer(Tokenizer):
    """One token per Unicode code point; nothing is dropped."""

    name = "char"

    def tokenize(self, text: str) -> list[str]:
        return list(text)

    def detokenize(self, tokens: Sequence[str]) -> str:
        return "".join(tokens)


class WordTokenizer(Tokenizer):
    """Words, numbers and punctuation by regex; newlines kept, other whitespace dropped."""

    name = "word"

    def tokenize(self, text: str) -> list[str]:
        return _WORD_RE.findall(text)


class JiebaTokenizer(Tokenizer):
    """Word tokens, with every run of CJK characters cut into words by jieba."""

    name = "jieba"

    def tokenize(self, text: str) -> list[str]:
        import jieba  # ~1 s to load its dictionary: only when Chinese is actually segmented

        jieba.setLogLevel(logging.WARNING)
        tokens: list[str] = []
        for token in _WORD_RE.findall(text):
            if _CJK_ANY.match(token) and len(token) > 1:
                tokens.extend(t for t in jieba.lcut(token) if t.strip())
            else:
                tokens.append(token)
        return tokens


TOKENIZERS: dict[str, type[Tokenizer]] = {"char": CharTokenizer, "word": WordTokenizer, "jieba": JiebaTokenizer}


def get_tokenizer(name: str) -> Tokenizer:
    """The tokenizer called ``name`` (char, word or jieba)."""
    if name not in TOKENIZERS:
        raise RnnTuiError(f"unknown tokenizer {name!r}; choose one of: {', '.join(TOKENIZERS)}")
    return TOKENIZERS[name]()


def _is_cjk(ch: str) -> bool:
    return _CJK_ANY.match(ch) is not None


def join_tokens(tokens: Sequence[str]) -> str:
    """Join word/jieba tokens into text: spaces only between Latin words, as people write."""
    out: list[str] = []
    prev = ""
    open_quote = False  # inside a "..." pair: the next " closes it
    for token in tokens:
        if not token:
            continue
        space = bool(prev) and not (
            prev == "\n"
            or token == "\n"
            or _is_cjk(prev[-1])
            or _is_cjk(token[0])
            or token in NO_SPACE_BEFORE
            or prev in NO_SPACE_AFTER
            or token in NO_SPACE_AROUND
            or prev in NO_SPACE_AROUND
            or (token.startswith("'") and len(token) > 1)  # 's, 're from other tokenizers
            or (token == '"' and open_quote)  # a closing quote hugs the word before it
            or (prev == '"' and open_quote)  # an opening quote hugs the word after it
        )
        if space:
            out.append(" ")
        out.append(token)
        if token == '"':
            open_quote = not open_quote
        elif token == "\n":
            open_quote = False
        prev = token
    return "".join(out)
