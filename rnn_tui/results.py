"""What the Python API returns (rnn_tui/api.py, decode/score.py), as types.

These are the dicts a notebook gets from ``LoadedRun`` / ``LoadedTranslator`` and that the CLI
prints (as tables, or as they are with ``--json``), so a misspelt key is a type-checker error in
the API and in its readers (cli_report.py, the app's panes). In-memory results only: the records
of a run directory are in runs/records.py. No torch, no textual.
"""

from __future__ import annotations

from typing import Literal, TypedDict, get_args

Split = Literal["test", "val"]  # the held-out parts of a run's data that `translate --split` scores
SPLITS: tuple[Split, ...] = get_args(Split)


class GeneratedToken(TypedDict):
    """One sampled token (``LoadedRun.generate``)."""

    id: int
    token: str
    prob: float
    logprob: float


class Continuation(TypedDict):
    """One beam-search continuation of a prime (``LoadedRun.beam``), ranked by log P / L^α."""

    text: str
    tokens: list[str]
    score: float
    logprob: float


class Surprise(TypedDict):
    position: int  # index into the scored tokens
    logprob: float
    bits: float


class TokenScores(TypedDict):
    """``decode.score.score_ids``: every token's log-probability given the tokens before it."""

    ids: list[int]
    logprobs: list[float | None]  # natural log; None for the first token (the context)
    surprisal_bits: list[float | None]
    scored: int
    nll: float  # total, nats
    ppl: float
    bpt: float  # bits/token
    most_surprising: list[Surprise]


class Score(TokenScores):
    """``LoadedRun.score``: the token scores, the tokens, and how many are unknown."""

    tokens: list[str]
    unknown: int


class Hypothesis(TypedDict):
    """One translation of the n-best (``LoadedTranslator.translate``)."""

    text: str
    tokens: list[str]
    score: float  # log P / L^α
    logprob: float
    ended: bool  # False: cut at the length limit


class Translation(TypedDict):
    source: str
    source_tokens: list[str]
    unknown: list[str]  # source tokens read as <unk>
    hypotheses: list[Hypothesis]  # best first
    attention: list[list[float]] | None  # the best's: rows its tokens and <eos>, columns the source tokens
    beam: int
    alpha: float


class Evaluation(TypedDict):
    """``LoadedTranslator.evaluate``: corpus BLEU of a held-out split."""

    run: str
    split: Split
    pairs: int
    beam: int
    alpha: float
    tokenize: str
    bleu: float
    exact_match: float  # fraction
    summary: str
    sources: list[str]
    hypotheses: list[str]
    references: list[str]
