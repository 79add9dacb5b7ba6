"""The training loop of a run (language model or translator), writing its run directory as it goes.

One ``Trainer`` is one OS process's work on one run: build data, model and optimizer from the
run's config (and its latest checkpoint when resuming) — the data and model through the run's
task (tasks.py) — then loop — read commands, take a
step, log, evaluate, sample, checkpoint — until a budget is spent, early stopping triggers, a
``stop`` command or SIGINT/SIGTERM arrives, or the loss stops being finite.

Resuming restores weights, optimizer, schedule, RNG, position in the data and the carried
hidden state, so N steps + resume to 2N gives the same numbers as 2N steps in one go.

On a GPU the host never waits for the device within a step: each step's loss, gradient norm
and clip flag stay device tensors, read all at once when the loop needs them — at a metric record
and before anything that uses the weights (evaluation, a sample, a checkpoint), which is also
where a non-finite loss is found, so a bad step never reaches a checkpoint. Batches travel from
pinned memory without blocking (data/transfer.py). ``--precision bf16|fp16`` runs the forward pass
and the loss under autocast (fp16 with a gradient scaler, kept in the checkpoint); evaluation and
samples stay fp32.

Data-parallel (train/distributed.py): every rank runs a Trainer with its ``World``, taking the
same steps on its share of each batch; rank 0 alone reads commands and writes the run directory,
and each step it tells the others its commands, stop reason and training time, so they pause,
stop and change the learning rate with it and never wait for a step it will not take.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import math
import signal
import time
import traceback
from collections.abc import Callable, Collection, Iterator
from typing import Any

import torch

from rnn_tui.config import Config, check_lr
from rnn_tui.errors import RnnTuiError
from rnn_tui.runs.checkpoint import (
    Checkpoint,
    checkpoint_exists,
    damaged,
    load_checkpoint,
    load_model_state,
    load_optimizer_state,
    save_checkpoint,
)
from rnn_tui.runs.files import atomic_write_text, remove_stale_temps
from rnn_tui.runs.records import (
    Command,
    ControlEvent,
    EndEvent,
    Event,
    FinalState,
    SampleEvent,
    StartEvent,
    State,
    StatusFields,
    TrainEvent,
    ValEvent,
    Validation,
)
from rnn_tui.runs.rundir import HEARTBEAT_S, RunDir
from rnn_tui.train.device import pick_device, set_threads
from rnn_tui.train.distributed import SOLO, World, join, wrap
from rnn_tui.train.optim import Schedule, make_optimizer, set_lr

LN2 = math.log(2)
AUTOCAST = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}  # --precision: the autocast dtype
FP16_DEVICES = ("cuda",)  # fp16 autocast with a gradient scaler; elsewhere fp16 is slow or missing (bf16 is not)
FIRST_CHECKPOINT_S = 5.0  # a new run's first "latest" checkpoint: at its first evaluation or after this much training
DISK_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)  # no space left, quota, file-size limit


class Trainer:
    def __init__(self, cfg: Config, on_event: Callable[[Event], None] | None = None, world: World = SOLO) -> None:
        self.cfg = cfg
        self.world = world  # this process's rank among those training the run
        self.on_event = on_event or (lambda event: None)
        self.resume = False  # restored from a checkpoint
        self.stop_reason: str | None = None
        self.signalled: str | None = None  # the name of the SIGINT/SIGTERM received: a stop at the next look
        self.paused = False
        self.step, self.epoch, self.index = 0, 0, 0
        self.elapsed = 0.0  # training seconds, summed over resumes
        self.best_val = math.inf  # the validation loss of the best checkpoint
        self.best_score: tuple[float, float] = (math.inf, math.inf)  # what made it the best (_score: lower wins)
        self.last_val: float | None = None  # the latest validation loss of this process
        self.last_eval_step: int | None = None
        self.steps_per_epoch: int = 1
        self.total_steps: int | None = None
        self.device: torch.device | None = None
        self.control_offset = 0
        self.saved_latest = False  # the run has a "latest" checkpoint (a resumed one has)
        self.saved_at = 0.0  # the training time of the last "latest" checkpoint saved in the loop, or of the start

    # -- set-up ----------------------------------------------------------------------------------

    def attach(self, run: RunDir) -> None:
        """Write to ``run``. Commands already in its control.jsonl are history; those sent from
        now on (while the trainer sets up) are applied when its loop starts."""
        self.run = run
        self.control_offset = run.control_size()

    def setup(self, ckpt: Checkpoint | None = None, fixed: Collection[str] | None = None) -> None:
        """Threads, device, data, model and optimizer; restored from ``ckpt`` when given. Writes
        nothing. ``fixed``: a new run's settings the user set; the others may be fitted to a small
        dataset, in ``self.cfg`` (tasks.py; None: none are)."""
        from rnn_tui.train.tasks import TASKS

        cfg, t = self.cfg, self.cfg.train
        self.threads = set_threads(t.threads)
        self.device = pick_device(t.device)
        if t.precision == "fp16" and self.device.type not in FP16_DEVICES:
            raise RnnTuiError(f"--precision fp16 needs a CUDA GPU; this run trains on the {self.device.type}: "
                              "use --precision bf16 (or fp32)")
        if self.world.size == 1 and t.nproc * t.nnodes > 1:
            raise RnnTuiError(f"this run is set for {t.nproc * t.nnodes} processes (--nproc, --nnodes), which "
                              "`rnn-tui train` starts with torchrun; here it would train in one: use `rnn-tui train`")
        if self.world.size > 1:
            self.device = join(self.world, self.device)
            trained_by = ckpt.meta.get("world", 1) if ckpt else self.world.size
            if trained_by != self.world.size:
                raise RnnTuiError(f"the run trained with {trained_by} process(es) in all, now {self.world.size}: its "
                                  "batches and carried states are cut for that many; resume it with as many")
        self.resume = self.saved_latest = ckpt is not None
        self.task = TASKS[cfg.task](cfg, ckpt.meta if ckpt else None, self.world, fixed)

        torch.manual_seed(t.seed)
        self.model = self.task.build_model(self.device)
        self.optimizer = make_optimizer(t, self.model.parameters(), fused=self.device.type == "cuda")
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=t.precision == "fp16")
        self.schedule = Schedule.from_config(t)
        self.bad_evals = 0
        if ckpt:
            self._restore(ckpt)
        if self.world.size > 1:  # after the restore: DDP starts every rank from rank 0's weights
            self.task.train_model = wrap(self.model, self.device)

        self.steps_per_epoch = len(self.task)
        self.total_steps = self._total_steps()

    def _total_steps(self) -> int | None:
        """Steps the budget allows, or None when only a time budget is set."""
        t = self.cfg.train
        limits = []
        if t.steps:
            limits.append(t.steps)
        if t.epochs:
            limits.append(math.ceil(t.epochs * self.steps_per_epoch))
        if not limits and not t.time:
            limits.append(self.steps_per_epoch)  # no budget at all: one epoch
        return min(limits) if limits else None

    def progress(self) -> float:
        done = []
        if self.total_steps:
            done.append(self.step / self.total_steps)
        if self.cfg.train.time:
            done.append(self.elapsed / self.cfg.train.time)
        return min(1.0, max(done)) if done else 0.0

    # -- the loop ---------------------------------------------------------------------------------

    def run_loop(self) -> EndEvent:
        t = self.cfg.train
        self._install_signal_handlers()
        self._status("running")
        start: StartEvent = {"event": "start", "task": self.cfg.task, "resumed": self.resume, "step": self.step,
                             "params": self.model.num_params(),
                             **self.task.start_info(), "steps_per_epoch": self.steps_per_epoch, "total_steps": self.total_steps,
                             "device": str(self.device), "threads": self.threads, "time": time.time()}
        if self.world.size > 1:
            start["processes"] = self.world.size
        self._emit(start)
        acc = self._accumulator()
        last_beat = clock = time.perf_counter()
        while True:
            commands = self._commands()
            if commands:
                for command in commands:
                    self._apply(command)
                continue  # re-check stop/pause before stepping
            if self.stop_reason is not None or self.progress() >= 1.0:
                break
            if self.paused:
                time.sleep(0.1)
                now = time.perf_counter()
                if now - last_beat >= HEARTBEAT_S:
                    self._status("paused")
                    last_beat = now
                clock = now  # paused time is not training time
                continue

            lr = self._train_step(acc)
            logged = self.step % t.log_interval == 0
            evaluated = self.task.val_batches is not None and self.step % t.eval_interval == 0
            sampled = self.step % t.sample_interval == 0
            # the first checkpoint early, so a newcomer can inspect the model within seconds; then every interval of
            # steps or of training seconds (the training time before this step: the same on every rank, rank 0's, so
            # all save together)
            saved = self.step % t.checkpoint_interval == 0 or (
                not self.saved_latest and (evaluated or self.elapsed >= FIRST_CHECKPOINT_S)) or (
                t.checkpoint_seconds > 0 and self.elapsed - self.saved_at >= t.checkpoint_seconds)
            if saved:
                self.saved_at = self.elapsed
            if logged or evaluated or sampled or saved:
                acc.read()  # the wait for the device (training time); a non-finite step stops the run here
            now = time.perf_counter()
            self.elapsed += now - clock
            acc.seconds += now - clock  # training time only: evaluation and sampling are left out

            if logged:
                self._log(acc, lr)
                acc = self._accumulator()
            if evaluated:
                self._evaluate_and_checkpoint()
            if sampled:
                self._sample()
            if saved:
                self._save("latest")
            if now - last_beat >= HEARTBEAT_S:
                self._status("running")
                last_beat = now
            clock = time.perf_counter()  # evaluation, samples and saving are not training time

        return self._finish(acc)

    def _commands(self) -> list[Command]:
        """The commands sent since the last look (a signal received: a stop). Of several ranks,
        rank 0 reads them and tells every rank them, its stop reason and its training time (the
        time budget): all decide alike."""
        commands: list[Command] = []
        if self.world.main and self.signalled and self.stop_reason is None:
            self.stop_reason = f"stopped by signal {self.signalled}"
        if self.world.main and self.run.control_size() > self.control_offset:
            commands, self.control_offset = self.run.read_commands(self.control_offset)
        if self.world.size > 1:
            commands, self.stop_reason, self.elapsed = self.world.broadcast((commands, self.stop_reason, self.elapsed))
        return commands

    def _train_step(self, acc: _Accumulator) -> float:
        """One optimizer step; its numbers go to ``acc``, still on the device. The learning rate it used."""
        t = self.cfg.train
        if self.device is not None and self.device.type == "cuda" and self.cfg.model.dropout:
            torch.cuda.manual_seed(_step_seed(t.seed, self.step, self.world.rank))
        with self._autocast():
            loss, tokens, weight = self.task.loss(self.epoch, self.index)
        value = loss.detach()
        if self.world.size > 1:  # the mean over all the ranks' rows, whose gradient DDP's average then is
            sums = self.world.sum_tensor(torch.stack([value.double(), value.new_ones((), dtype=torch.float64)]) * weight)
            loss = loss * (weight * self.world.size / sums[1]).float()
            value = sums[0] / sums[1]

        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.unscale_(self.optimizer)  # the true gradients, to measure and clip (fp16); else nothing
        params = [p for p in self.model.parameters() if p.grad is not None]
        grads = [p.grad for p in params if p.grad is not None]  # all of them, typed as tensors
        clipped = None
        if t.clip and t.clip_mode == "norm":
            grad_norm = torch.nn.utils.clip_grad_norm_(params, t.clip)
            clipped = grad_norm > t.clip
        else:
            grad_norm = torch.nn.utils.get_total_norm(grads)
            if t.clip:  # clip by value
                clipped = torch.nn.utils.get_total_norm(grads, norm_type=math.inf) > t.clip
                torch.nn.utils.clip_grad_value_(params, t.clip)
        acc.add(self.step + 1, value, tokens, grad_norm, clipped)
        lr = self.schedule.lr(self.step, self.epoch, self.progress())
        set_lr(self.optimizer, lr)
        self.scaler.step(self.optimizer)  # fp16: skipped when the gradients overflowed, then a smaller scale
        self.scaler.update()

        self.step += 1
        self.index += 1
        new_epoch = self.index == self.steps_per_epoch
        if new_epoch:
            self.epoch, self.index = self.epoch + 1, 0
        self.task.after_step(new_epoch)
        return lr

    def _accumulator(self) -> _Accumulator:
        """A log interval's sums (a non-finite gradient norm is an error, unless fp16's scaler skips that step)."""
        return _Accumulator(strict=not self.scaler.is_enabled())

    def _autocast(self) -> contextlib.AbstractContextManager:
        """Autocast to the --precision dtype (nothing at fp32). On a CPU without instructions for
        that dtype oneDNN is off meanwhile: its fused LSTM refuses the dtype there (PyTorch's own
        kernels run instead)."""
        dtype = AUTOCAST[self.cfg.train.precision]
        if dtype is None or self.device is None:
            return contextlib.nullcontext()
        stack = contextlib.ExitStack()
        if self.device.type == "cpu" and _onednn_lacks(dtype):
            stack.enter_context(_onednn_off())
        stack.enter_context(torch.autocast(self.device.type, dtype=dtype))
        return stack

    # -- what the loop writes --------------------------------------------------------------------

    def _log(self, acc: _Accumulator, lr: float) -> None:
        if not acc.n:
            return
        loss, grad_norm, clip_frac = acc.read()
        tokens = acc.tokens if self.world.size == 1 else self.world.sum(acc.tokens)[0]  # every rank's
        rate = tokens / max(acc.seconds, 1e-9)
        record: TrainEvent = {
            "event": "train", "step": self.step, "epoch": self._epoch_float(), "elapsed": round(self.elapsed, 3),
            "loss": loss, "ppl": math.exp(min(loss, 50)), "bpt": loss / LN2,
            "grad_norm": grad_norm, "clip_frac": clip_frac, "lr": lr,
            "tokens_per_s": rate, "progress": self.progress(), "eta_s": self._eta(), "time": time.time(),
        }
        self._emit(record)

    def _eta(self) -> float | None:
        p = self.progress()
        return self.elapsed * (1 - p) / p if p > 0 else None

    def _epoch_float(self) -> float:
        return self.epoch + self.index / self.steps_per_epoch

    def evaluate(self) -> Validation:
        """The task's validation numbers: ``val_loss`` (nats/token), and ``val_bleu`` for seq2seq."""
        assert self.task.val_batches is not None
        self.model.eval()
        try:
            return self.world.broadcast(self.task.evaluate(self.cfg.train.eval_batches))  # the same on every rank
        finally:
            self.model.train()

    def _evaluate_and_checkpoint(self) -> None:
        result = self.evaluate()
        val = result["val_loss"]
        if not math.isfinite(val):
            raise _NonFinite(f"validation loss became {val} at step {self.step}")
        score = self._score(result)
        best = self.best_score
        improved = score[0] < best[0] - 1e-6 or (abs(score[0] - best[0]) <= 1e-6 and score[1] < best[1] - 1e-6)
        if improved:
            self.best_val, self.best_score, self.bad_evals = val, score, 0
        else:
            self.bad_evals += 1
        reduced = self.schedule.observe(val)
        record: ValEvent = {
            "event": "val", "step": self.step, "epoch": self._epoch_float(), "elapsed": round(self.elapsed, 3),
            "val_loss": val, "val_ppl": math.exp(min(val, 50)), "val_bpt": val / LN2, "best": improved,
            "lr_reduced": reduced, "time": time.time(),
        }
        for key in ("val_bleu", "val_acc", "val_f1", "val_acc_alone", "val_rmse", "val_mae"):  # the task's other measures
            if key in result:
                record[key] = result[key]
        self._emit(record)
        self.last_val, self.last_eval_step = val, self.step
        if improved:
            self._save("best", val_loss=val)
        patience = self.cfg.train.patience
        if patience and self.bad_evals >= patience:
            self.stop_reason = f"early stop: no validation improvement in {patience} evaluations"

    def _score(self, result: Validation) -> tuple[float, float]:
        """What picks the best checkpoint, lower wins: the task's ``BEST_BY`` number (negated when
        higher is better: a classifier's accuracy), then the loss to break a tie."""
        key, higher_is_better = self.task.BEST_BY
        value = float(result[key])  # type: ignore[literal-required]
        return (-value if higher_is_better else value), result["val_loss"]

    def _sample(self) -> None:
        if not self.world.main:
            return
        self.model.eval()
        try:
            sampled = self.task.sample(seed=self.cfg.train.seed + self.step)
        finally:
            self.model.train()
        record: SampleEvent = {"event": "sample", "step": self.step, "epoch": self._epoch_float(),
                               "elapsed": round(self.elapsed, 3), **sampled, "time": time.time()}
        self._emit(record)

    def _save(self, tag: str, val_loss: float | None = None) -> None:
        """Save checkpoint ``tag``: every rank takes part (their RNGs and carried states go in it),
        rank 0 writes it."""
        rng = {"rng/cpu": torch.get_rng_state()}
        if self.device is not None and self.device.type == "cuda":
            rng["rng/cuda"] = torch.cuda.get_rng_state(self.device)
        extra = {f"{key}{_rank_suffix(rank)}": state for rank, states in enumerate(self.world.gather(rng))
                 for key, state in states.items()}
        extra.update(self.task.extra())
        self._check_ranks_agree()
        self.saved_latest = self.saved_latest or tag == "latest"  # on every rank: all decide the next save alike
        if not self.world.main:
            return
        meta = {
            "task": self.cfg.task, "config": self.cfg.to_dict(), **self.task.meta(), "step": self.step, "epoch": self.epoch,
            "index": self.index,
            "elapsed": self.elapsed, "val_loss": val_loss, "best_val_loss": _finite_or_none(self.best_val),
            "best_score": list(self.best_score) if all(map(math.isfinite, self.best_score)) else None,
            "bad_evals": self.bad_evals, "schedule": self.schedule.state(), "saved": time.time(),
            "world": self.world.size,
        }
        if self.scaler.is_enabled():
            meta["scaler"] = self.scaler.state_dict()
        save_checkpoint(self.run.checkpoints, tag, model=self.model, meta=meta, optimizer=self.optimizer, extra=extra)

    def _check_ranks_agree(self) -> None:
        """Of several ranks: refuse to save unless every rank holds the same weights (a rank that
        missed a step or a command would train a model of its own)."""
        if self.world.size == 1:
            return
        sums = self.world.gather(float(sum(p.detach().double().sum() for p in self.model.parameters())))
        if max(sums) - min(sums) > 1e-6 * max(1.0, abs(sums[0])):
            raise RuntimeError(f"the data-parallel ranks' weights differ (sums {sums}) at step {self.step}")

    def _restore(self, ckpt: Checkpoint) -> None:
        meta = ckpt.meta
        load_model_state(self.model, {k: v.to(self.device) for k, v in ckpt.model.items()}, f"{self.run.id} checkpoint")
        if ckpt.optimizer is not None:
            load_optimizer_state(self.optimizer, ckpt.optimizer, f"{self.run.id} checkpoint")
        try:
            self.schedule = Schedule.from_state(meta["schedule"])
        except TypeError as exc:  # a key the schedule does not have
            raise damaged(self.run.checkpoints, "latest", f'"schedule": {exc}') from None
        self.step, self.epoch, self.index = meta["step"], meta["epoch"], meta["index"]
        self.elapsed = self.saved_at = meta.get("elapsed", 0.0)
        self.best_val = meta.get("best_val_loss") or math.inf
        score = meta.get("best_score")  # absent before it was kept: then the loss picked the best checkpoint
        self.best_score = tuple(score) if score else (self.best_val, self.best_val) if self.task.BEST_BY[0] == "val_loss" \
            else (math.inf, math.inf)
        self.bad_evals = meta.get("bad_evals", 0)
        if self.scaler.is_enabled() and "scaler" in meta:  # (a run resumed in fp16 after fp32 starts a new scaler)
            self.scaler.load_state_dict(meta["scaler"])
        mine = _rank_suffix(self.world.rank)
        torch.set_rng_state(ckpt.extra[f"rng/cpu{mine}"])
        if self.device is not None and self.device.type == "cuda" and f"rng/cuda{mine}" in ckpt.extra:
            torch.cuda.set_rng_state(ckpt.extra[f"rng/cuda{mine}"], self.device)
        self.task.restore_extra(ckpt.extra)

    # -- commands, status, end -------------------------------------------------------------------

    def _apply(self, command: Command) -> None:
        cmd = command.get("cmd")
        if cmd == "pause":
            self.paused = True
            self._status("paused")
        elif cmd == "resume":
            self.paused = False
            self._status("running")
        elif cmd == "stop":
            self.stop_reason = "stopped by command"
        elif cmd == "set-lr":
            try:
                lr = check_lr(command.get("lr"))
            except RnnTuiError:
                return  # RunDir.send refuses these; a hand-written bad line is ignored
            self.schedule.set_lr(lr, self.step, self.epoch, self.progress())
        else:
            return
        record: ControlEvent = {"event": "control", "cmd": cmd, "step": self.step, "time": time.time()}
        if cmd == "set-lr":
            record["lr"] = command["lr"]
        self._emit(record)

    def _status(self, state: State, reason: str | None = None, error: str | None = None) -> None:
        fields: StatusFields = {
            "state": state, "step": self.step, "epoch": round(self._epoch_float(), 4), "total_steps": self.total_steps,
            "progress": round(self.progress(), 4), "elapsed": round(self.elapsed, 2),
            "best_val_loss": _finite_or_none(self.best_val), "device": str(self.device or self.cfg.train.device),
        }
        if reason is not None:
            fields["reason"] = reason
        if error is not None:
            fields["error"] = error
        if self.world.main:
            self.run.write_status(**fields)

    def _finish(self, acc: _Accumulator) -> EndEvent:
        t = self.cfg.train
        if acc.n:
            self._log(acc, self.schedule.lr(max(self.step - 1, 0), self.epoch, self.progress()))
        if self.task.val_batches is not None and self.last_eval_step != self.step:
            self._evaluate_and_checkpoint()
        if self.step % t.sample_interval != 0:
            self._sample()
        self._save("latest")
        state: FinalState = "stopped" if self.stop_reason and not self.stop_reason.startswith("early stop") else "finished"
        reason = self.stop_reason or "budget reached"
        end: EndEvent = {"event": "end", "state": state, "reason": reason, "step": self.step, "epoch": self._epoch_float(),
                         "elapsed": round(self.elapsed, 3), "val_loss": self.last_val,
                         "best_val_loss": _finite_or_none(self.best_val), "run": self.run.id, "path": str(self.run.path),
                         "time": time.time()}
        self._emit(end)
        self._status(state, reason=reason)
        return end

    def fail(self, message: str) -> EndEvent:
        """End the run ``failed`` with ``message``: the end record and the status, as far as the disk lets them be written."""
        end: EndEvent = {"event": "end", "state": "failed", "error": message, "step": self.step,
                         "run": self.run.id, "path": str(self.run.path), "time": time.time()}
        with contextlib.suppress(OSError):  # a full disk: the caller's message says so
            self._emit(end)
        with contextlib.suppress(OSError):
            self._status("failed", error=message)
        return end

    def train(self) -> EndEvent:
        """The loop on the attached run; a non-finite loss, a full disk or a bug ends it ``failed``
        with one clear line (RnnTuiError), the last good checkpoint untouched."""
        try:
            return self.run_loop()
        except RnnTuiError as exc:
            self.fail(exc.message)
            raise
        except _NonFinite as exc:
            message = f"{exc}; the last good checkpoint is kept — lower --lr or set --clip, then resume or retrain"
        except OSError as exc:
            if exc.errno not in DISK_FULL:
                raise
            message = (f"the disk is full or a file-size limit was hit writing {exc.filename or 'the run'} ({exc.strerror}); "
                       f"the last good checkpoint is kept — free some space, then `rnn-tui train --resume {self.run.id}`")
        except Exception as exc:
            message = internal_error(self.run, exc)
        self.fail(message)
        raise RnnTuiError(message) from None

    def _emit(self, record: Event) -> None:
        """Append ``record`` to its file (samples.jsonl or metrics.jsonl) and pass it to ``on_event`` (rank 0)."""
        if not self.world.main:
            return
        if record["event"] == "sample":
            self.run.append_sample(record)
        else:
            self.run.append_metric(record)
        self.on_event(record)

    def _install_signal_handlers(self) -> None:
        def handler(signum, frame):
            self.signalled = signal.Signals(signum).name  # (never stop_reason itself: rank 0's broadcast overwrites it)

        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(ValueError):  # not the main thread (tests): no signal handling
                signal.signal(sig, handler)


def prepare(cfg: Config, world: World = SOLO, fixed: Collection[str] | None = None) -> Trainer:
    """A Trainer for a new run of ``cfg`` with its data read and its model built, before any run
    directory exists: bad data or an impossible setting fails here and leaves nothing behind.
    The settings not in ``fixed`` may be fitted to a small dataset, in ``cfg`` (None: none are)."""
    trainer = Trainer(cfg, world=world)
    trainer.setup(fixed=fixed)
    return trainer


def train_run(run: RunDir, on_event: Callable[[Event], None] | None = None, resume: bool = False,
              changes: dict[str, Any] | None = None, prepared: Trainer | None = None, world: World = SOLO) -> EndEvent:
    """Train ``run`` holding its lock (one trainer per run) and return the ``end`` event.

    ``resume`` continues from the latest checkpoint; a run without one (created and never
    started, or killed before its first checkpoint) starts over, and its new ``start`` record
    supersedes what the lost history wrote. ``changes`` (``"train.steps"`` -> value) are settings
    the resume may change. ``prepared`` is the trainer of a new run, already set up (``prepare``).

    Nothing is written until the set-up succeeded: a failed resume leaves the run exactly as it
    was (a run that never started gets its status ``failed`` with the reason). Once training, a
    user error, a non-finite loss or a full disk ends it ``failed`` with one clear line.

    Of several ranks (``world``, or the prepared trainer's), rank 0 holds the lock and writes; the
    others train beside it and write nothing.
    """
    world = prepared.world if prepared is not None else world
    with run.lock() if world.main else contextlib.nullcontext():
        if prepared is None:
            trainer = _set_up(run, resume, changes, world)
        else:
            trainer = prepared
            trainer.attach(run)
        trainer.on_event = on_event or trainer.on_event
        if world.main:
            remove_stale_temps(run.path)
            remove_stale_temps(run.checkpoints)
        return trainer.train()


def _set_up(run: RunDir, resume: bool, changes: dict[str, Any] | None, world: World) -> Trainer:
    """A trainer for ``run`` from its config.toml (with ``changes``) and, when resuming, its
    latest checkpoint. A run with no checkpoint starts fresh: one the app created fits the
    settings the command line did not give to a small dataset, like a new run of `rnn-tui train`
    (a run `rnn-tui train` created already fits)."""
    cfg = run.config()
    on_disk = cfg.to_dict()
    if changes:
        cfg = cfg.assign(changes).validate()
    trainer = Trainer(cfg, world=world)
    trainer.attach(run)  # before the set-up: commands sent while it runs are applied
    try:
        ckpt = load_checkpoint(run.checkpoints, "latest") if resume and checkpoint_exists(run.checkpoints, "latest") else None
        trainer.setup(ckpt, fixed=None if ckpt else set(changes or ()))
    except Exception as exc:
        message = exc.message if isinstance(exc, RnnTuiError) else internal_error(run, exc)
        if world.main and run.written_status().get("state") == "starting":  # created, never trained: say why
            with contextlib.suppress(OSError):
                run.write_status(state="failed", step=0, epoch=0.0, error=message)
        raise RnnTuiError(message) from None
    if cfg.to_dict() != on_disk and world.main:  # changed or fitted: config.toml holds what the run uses
        atomic_write_text(run.config_path, cfg.to_toml())
    return trainer


def internal_error(run: RunDir, exc: BaseException) -> str:
    """Keep the traceback of a bug in <run>/error.txt; the line that says so."""
    where = run.path / "error.txt"
    try:
        where.write_text(traceback.format_exc(), encoding="utf-8")
    except OSError:
        return f"internal error: {type(exc).__name__}: {exc}"
    return f"internal error: {type(exc).__name__}: {exc} (details in {where})"


class _NonFinite(Exception):
    pass


class _Accumulator:
    """The steps of one log interval. Their losses, gradient norms and clip flags stay where the
    steps left them (on the device) until ``read`` copies them to the host all at once.

    ``strict``: a non-finite gradient norm stops the run, as a non-finite loss always does; with
    an fp16 gradient scaler it is a step the scaler skipped, left out of the mean norm."""

    def __init__(self, strict: bool = True) -> None:
        self.strict = strict
        self.n, self.first, self.tokens, self.seconds = 0, 0, 0, 0.0
        self.losses: list[torch.Tensor] = []
        self.norms: list[torch.Tensor] = []
        self.clipped: list[torch.Tensor] = []  # none when not clipping
        self.means: tuple[float, float, float] | None = None  # what ``read`` read, until the next step

    def add(self, step: int, loss: torch.Tensor, tokens: int, grad_norm: torch.Tensor, clipped: torch.Tensor | None) -> None:
        self.first = self.first or step
        self.n += 1
        self.tokens += tokens
        self.losses.append(loss)
        self.norms.append(grad_norm)
        if clipped is not None:
            self.clipped.append(clipped)
        self.means = None

    def read(self) -> tuple[float, float, float]:
        """The mean loss, mean gradient norm and fraction of steps clipped (one wait for the
        device); _NonFinite names the first step whose loss (or gradient norm) is not finite."""
        if self.means is None:
            rows = [self.losses, self.norms, self.clipped] if self.clipped else [self.losses, self.norms]
            values = torch.stack([torch.stack(row).double() for row in rows]).tolist()
            losses, norms = values[0], values[1]
            for step, (loss, norm) in enumerate(zip(losses, norms), self.first):
                if not math.isfinite(loss):
                    raise _NonFinite(f"loss became {loss} at step {step}")
                if self.strict and not math.isfinite(norm):
                    raise _NonFinite(f"gradient norm became {norm} at step {step}")
            finite = [norm for norm in norms if math.isfinite(norm)]
            clipped = sum(values[2]) if self.clipped else 0.0
            self.means = (sum(losses) / self.n, sum(finite) / len(finite) if finite else 0.0, clipped / self.n)
        return self.means


def _step_seed(seed: int, step: int, rank: int) -> int:
    """The GPU generator's seed for one training step. cuDNN's dropout between layers keeps its own
    state, which ``torch.cuda.set_rng_state`` does not restore but ``manual_seed`` resets (seen on an
    H200: a resumed 2-layer LSTM with dropout left the whole run's losses at the first step after
    the resume). Seeded from (seed, step, rank) before every step, a resume on CUDA is exact too."""
    return (seed * 1_000_003 + step) * 1_009 + rank


@functools.cache
def _onednn_lacks(dtype: torch.dtype) -> bool:
    """Whether this CPU's oneDNN cannot run an LSTM in ``dtype`` (bf16 or fp16). Its instruction
    check is not enough: on a CPU that has fp16 instructions (an H200 machine's, torch 2.11) its
    LSTM still refused fp16 ("could not create a primitive descriptor"), so a tiny one is tried."""
    if not torch.backends.mkldnn.is_available():
        return False  # no oneDNN: nothing to refuse
    mkldnn = torch.ops.mkldnn
    check = mkldnn._is_mkldnn_bf16_supported if dtype == torch.bfloat16 else mkldnn._is_mkldnn_fp16_supported
    if not check():
        return True
    try:  # (the LSTM's random weights drawn on a forked generator: a run's own stream is untouched)
        with torch.random.fork_rng(devices=[]), torch.autocast("cpu", dtype=dtype):  # with gradients: training's
            torch.nn.LSTM(4, 4)(torch.zeros(2, 1, 4))
    except RuntimeError:
        return True
    return False


@contextlib.contextmanager
def _onednn_off() -> Iterator[None]:
    was = torch.backends.mkldnn.enabled
    torch.backends.mkldnn.enabled = False  # type: ignore[assignment]  # (a module property)
    try:
        yield
    finally:
        torch.backends.mkldnn.enabled = was


def _rank_suffix(rank: int) -> str:
    """What a checkpoint's per-rank entries (RNG states) add to their name: nothing for rank 0."""
    return f"/{rank}" if rank else ""


def _finite_or_none(x: float) -> float | None:
    return x if math.isfinite(x) else None
