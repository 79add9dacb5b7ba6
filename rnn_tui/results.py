"""What the Python API returns (rnn_tui/api.py, decode/score.py), as types.

These are the dicts a notebook gets from ``LoadedRun`` / ``LoadedTranslator`` and that the CLI
prints (as tables, or as they are with ``--json``), so a misspelt key is a type-checker error in
the API and in its readers (cli_report.py, the app's panes). In-memory results only: the records
of a run directory are in runs/records.py. No torch, no textual.
"""

from __future__ import annotations

from typing import Any, Literal, TypedDict, get_args

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


class _ForecastScores(TypedDict):
    rmse: float
    mse: float
    mae: float


class ForecastScores(_ForecastScores, total=False):
    """The errors of forecasts ŷ of true values y, in the series' units (``decode.metrics.forecast_scores``);
    ``mape`` when no true value is 0, else ``smape``."""

    mape: float  # percent
    smape: float  # percent


class Forecast(TypedDict):
    """``LoadedForecaster.forecast``: the values after the end of the series."""

    run: str
    series: str  # the target column's name
    last_value: float  # the series' last point
    last_date: str | None
    steps: int
    horizon: int
    chained: bool  # a direct model's forecasts were chained past its horizon
    points: list[int]  # 1-based positions of the forecast points (the series holds points 1..N)
    dates: list[str] | None  # their dates, continued from the date column (None without one)
    values: list[float]


class ForecastEvaluation(TypedDict):
    """``LoadedForecaster.evaluate``: the errors on a held-out part, the model's beside the baselines'."""

    run: str
    split: Split
    series: str
    origins: int  # forecasts made, each of ``horizon`` points
    horizon: int
    model: ForecastScores
    baselines: dict[str, ForecastScores]  # persistence, seasonal_naive (a season set), ar
    best_baseline: str  # by RMSE
    ar_order: int
    ratio: float | None  # the model's RMSE / the best baseline's (None when that is 0)
    rmse_by_step: list[float]  # the model's RMSE h steps ahead, h = 1..horizon
    forecasts: dict[str, list[Any]]  # origins (dates), truth, model and each baseline: [origin][h]
