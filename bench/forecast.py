"""Forecasting: speed (training steps/s, forecast latency) and accuracy against the baselines.

    python bench/forecast.py [speed] [--threads 1] [--reps 5] [--quick]
    python bench/forecast.py airline|sunspots|sine [--seeds 3] [--steps N] [--set SECTION.NAME=VALUE]...
                             [--data-dir ../shared/data] [--threads 1] [--quick]

``speed``: on ``builtin:sine`` (4,000 points, the last 400 held out), one forecaster per row —
GRU and LSTM of 32 and 128 units, horizon 1 and 12, direct — with random weights from seed 0
(speed does not depend on what they learnt). Training steps/s: the median over ``--reps``
rounds of 20 steps each (forward, MSE, backward, Adam; batch 32, window 48). Forecast latency:
the median milliseconds of ``LoadedForecaster.forecast`` for the horizon (one window, as
`rnn-tui forecast` computes it; the data already read). Last line:
``RESULT train_steps_per_s=<x> forecast_ms=<y>``, both for the GRU-32 with horizon 1.

Accuracy, each a table of the test errors per seed beside the baselines the run computed on the
same test points (persistence, seasonal naive when a season is set, AR(p)), every model scored
from its best checkpoint (lowest validation loss). Every model has an AR highway of the AR
baseline's order (``model.highway``, models/forecaster.py), so it starts as that AR fit and the
GRU learns what the AR model misses, as far as validation rewards it; ``--set model.highway=0``
gives the plain GRU.

- ``airline``: ../shared/data/airline-passengers.csv, the classic split: the first 96 months
  (67%) to fit, one step ahead on the last 48 (every one of them; the popular LSTM tutorial
  scores 46 of them and reports persistence 48.7, seasonal naive 42.3 — on all 48 they are 48.0
  and 41.9). Target: the median RMSE over the seeds ≤ 25 and below every baseline.
- ``sunspots``: ../shared/data/sunspots-yearly.csv up to 1987 (288 years, Zhang 2003's series;
  the file runs to 2008), the last 67 years (1921–1987) as test, one step ahead. Reference:
  persistence MSE 921, AR(9) 305 (the AR baseline here is AR(9), fitted on the 188 training
  years: 308.7). Target: MSE ≤ 330.
- ``sine``: ``builtin:sine`` (three sinusoids plus Gaussian noise of deviation 0.1, so the best
  possible one-step MSE is the noise variance 0.01), the last 400 points as test, a window of 120
  (the longest period: a window of 48 noisy values leaves the AR(48) baseline at 1.34 × 0.01).
  Target: MSE ≤ 1.2 × 0.01.

Each row states the CPU seconds it took (user + system of this process) and the step of the best
checkpoint (an early one: the model stayed near where it started). Last line:
``RESULT <experiment>_<metric>=<median> ... target_met=<yes|no>``. Run it alone on the machine.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rnn_tui.config import Config  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"  # --data-dir's default
FILES = {"airline": "airline-passengers.csv", "sunspots": "sunspots-yearly.csv"}
NOISE_VARIANCE = 0.1**2  # data/builtin.py sine: rng.gauss(0.0, 0.1)

# The settings of each accuracy experiment (config keys "section.name"), and what it reports.
EXPERIMENTS = {
    "airline": {"data.test_size": 48, "data.val_fraction": 0.15, "data.window": 12, "data.season": 12,
                "data.transform": "log,diff,sdiff", "model.cell": "gru", "model.hidden": 16, "model.highway": 12,
                "train.batch": 16, "train.lr": 0.005, "train.schedule": "constant", "train.steps": 600,
                "train.eval_interval": 20},
    "sunspots": {"data.test_size": 67, "data.val_fraction": 0.15, "data.window": 12, "data.season": 11,
                 "train.ar_order": 9, "model.cell": "gru", "model.hidden": 8, "model.highway": 9, "train.batch": 16,
                 "train.lr": 0.01,
                 "train.steps": 2000, "train.eval_interval": 25},
    "sine": {"data.test_size": 400, "data.val_fraction": 0.1, "data.window": 120, "model.cell": "gru",
             "model.hidden": 32, "model.highway": 120, "train.batch": 32, "train.lr": 0.003, "train.steps": 600,
             "train.eval_interval": 100},
}
METRIC = {"airline": "rmse", "sunspots": "mse", "sine": "mse"}


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def config(data: str, settings: dict, **more) -> Config:
    cfg = Config(task="forecast")
    cfg.data.spec = data
    cfg.assign({**settings, **more})
    cfg.train.checkpoint_interval = cfg.train.eval_interval
    return cfg.validate()


# -- speed -----------------------------------------------------------------------------------------

SPEED_MODELS = [(cell, hidden, horizon) for cell in ("gru", "lstm") for hidden in (32, 128) for horizon in (1, 12)]


def speed(args: argparse.Namespace, root: Path) -> None:
    import torch

    from rnn_tui.api import LoadedForecaster
    from rnn_tui.runs.rundir import RunDir
    from rnn_tui.train.tasks import ForecastTask

    steps, reps, calls = (3, 1, 3) if args.quick else (20, args.reps, 50)
    models = SPEED_MODELS[:2] if args.quick else SPEED_MODELS
    print(f"builtin:sine, test 400 points · window 48 · batch 32 · direct · random weights (seed 0) · "
          f"{args.threads} thread(s), torch {torch.__version__}")
    header = f"{'cell':<5} {'hidden':>6} {'horizon':>7} {'train steps/s':>14} {'values/s':>10} {'forecast ms':>12}"
    print(header + f"   (medians of {reps} round(s))")
    print("-" * len(header))
    results = {}
    for cell, hidden, horizon in models:
        cfg = config("builtin:sine", {"data.test_size": 400, "data.window": 48, "data.horizon": horizon, "model.cell": cell,
                                      "model.hidden": hidden, "train.batch": 32, "train.threads": args.threads})
        task = ForecastTask(cfg, None)
        torch.manual_seed(0)
        model = task.build_model(torch.device("cpu"))
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        rates = []
        for rep in range(reps + 1):  # round 0 warms up
            start = time.perf_counter()
            for i in range(steps):
                loss, *_ = task.loss(rep, i % len(task))
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
            if rep:
                rates.append(steps / (time.perf_counter() - start))
        run = RunDir.create(root, cfg, name=f"{cell}-{hidden}-{horizon}")
        loaded = LoadedForecaster(run=run, config=cfg, model=model.eval(), meta=task.meta())
        loaded.forecast()  # reads the data once (cached), warms up
        times = []
        for _ in range(calls):
            start = time.perf_counter()
            loaded.forecast()
            times.append(time.perf_counter() - start)
        rate, ms = statistics.median(rates), 1000 * statistics.median(times)
        results[cell, hidden, horizon] = (rate, ms)
        print(f"{cell:<5} {hidden:>6} {horizon:>7} {rate:>14,.1f} {rate * 32 * horizon:>10,.0f} {ms:>12.2f}", flush=True)
    rate, ms = results["gru", 32, 1]
    print(f"RESULT train_steps_per_s={rate:.1f} forecast_ms={ms:.2f}")


# -- accuracy --------------------------------------------------------------------------------------


def data_of(experiment: str, root: Path, data_dir: Path) -> str:
    if experiment == "sine":
        return "builtin:sine"
    path = data_dir / FILES[experiment]
    if not path.is_file():
        sys.exit(f"bench/forecast.py: {path} not found (the shared data beside the project root; or give --data-dir)")
    if experiment == "sunspots":  # 1700–1987: Zhang's series (the header and 288 years)
        cut = root / "sunspots-1700-1987.csv"
        cut.write_text("".join(path.read_text(encoding="utf-8").splitlines(keepends=True)[:289]), encoding="utf-8")
        return str(cut)
    return str(path)


def accuracy(args: argparse.Namespace, root: Path) -> None:
    from rnn_tui.api import load_forecaster
    from rnn_tui.runs.rundir import RunDir
    from rnn_tui.train.trainer import train_run

    name, metric = args.mode, METRIC[args.mode]
    settings = dict(EXPERIMENTS[name])
    if args.steps:
        settings["train.steps"] = args.steps
    settings.update(overrides(args.set))
    if args.quick:
        settings["train.steps"], settings["train.eval_interval"] = 10, 5
    data = data_of(name, root, args.data_dir)
    rows = []
    for seed in range(1, args.seeds + 1):
        cfg = config(data, settings, **{"train.seed": seed, "train.threads": args.threads})
        run = RunDir.create(root, cfg, name=f"{name}-{seed}")
        start = cpu_seconds()
        train_run(run)
        seconds = cpu_seconds() - start
        best = load_forecaster(run.path, tag="best")
        scores = best.evaluate("test")
        rows.append((seed, seconds, best.meta["step"], scores))
        print(f"  seed {seed}: {seconds:.0f} CPU s, test {metric} {scores['model'][metric]:.4g}", file=sys.stderr)
    first = rows[0][3]
    baselines = first["baselines"]
    names = {"persistence": "persist.", "seasonal_naive": "s.naive", "ar": f"AR({first['ar_order']})"}
    described = ", ".join(f"{key.split('.')[1]} {value}" for key, value in settings.items() if key != "train.steps")
    print(f"{name} · {first['origins']} test points, one step ahead · {settings['train.steps']} steps · {described}")
    print(f"{'seed':<6}{'CPU s':>7}{'best-step':>10}{metric.upper():>10}{'RMSE/best':>10}"
          + "".join(f"{names[b]:>11}" for b in baselines))
    for seed, seconds, step, s in rows:
        print(f"{seed:<6}{seconds:>7.0f}{step:>10}{s['model'][metric]:>10.4g}{s['ratio']:>10.3f}"
              + "".join(f"{s['baselines'][b][metric]:>11.4g}" for b in baselines))
    median = statistics.median(s["model"][metric] for *_, s in rows)
    best = min(b[metric] for b in baselines.values())
    if name == "airline":
        met = median <= 25 and median < best
    elif name == "sunspots":
        met = median <= 330
    else:
        met = median <= 1.2 * NOISE_VARIANCE
    extra = f" noise_variance={NOISE_VARIANCE:g} ratio_to_noise={median / NOISE_VARIANCE:.3f}" if name == "sine" else ""
    print(f"RESULT {name}_{metric}={median:.4g} " + " ".join(f"{b}={v[metric]:.4g}" for b, v in baselines.items())
          + f"{extra} target_met={'yes' if met else 'no'}")


def overrides(pairs: list[str]) -> dict:
    """``--set section.name=value`` pairs -> settings, each value of its setting's type."""
    values, defaults = {}, Config(task="forecast").values()
    for pair in pairs:
        key, _, text = pair.partition("=")
        if key not in defaults:
            sys.exit(f"bench/forecast.py: --set {pair}: no setting {key!r} (e.g. model.highway=12)")
        kind = type(defaults[key])
        values[key] = text.lower() in ("1", "true", "yes") if kind is bool else kind(text)
    return values


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("mode", nargs="?", default="speed", choices=("speed", *EXPERIMENTS))
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (1: a small model's fastest)")
    parser.add_argument("--reps", type=int, default=5, help="speed: rounds per model (medians are reported)")
    parser.add_argument("--seeds", type=int, default=3, help="accuracy: seeds per experiment (the median is reported)")
    parser.add_argument("--steps", type=int, default=0, help="accuracy: training steps (default: the experiment's)")
    parser.add_argument("--set", action="append", default=[], metavar="SECTION.NAME=VALUE",
                        help="accuracy: change one of the experiment's settings (repeatable)")
    parser.add_argument("--data-dir", type=Path, default=SHARED, help="accuracy: the folder of the shared data files")
    parser.add_argument("--quick", action="store_true", help="a few steps, to check the script runs")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory(prefix="rnn-tui-bench-forecast-") as tmp:
        (speed if args.mode == "speed" else accuracy)(args, Path(tmp))


if __name__ == "__main__":
    main()
