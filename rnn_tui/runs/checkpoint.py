"""Checkpoints: tensors in safetensors, everything else in JSON. Never pickle.

``checkpoints/<tag>.safetensors`` holds the model weights (``model/…``), the optimizer's
tensors (``optim/<param>/<key>``) and trainer tensors (RNG state, carried hidden state:
``extra/…``). ``checkpoints/<tag>.json`` holds the metadata: format version, config, vocab,
step, position in the data, the optimizer's scalar state and the scheduler's state.

The metadata also travels inside the weights file (the safetensors header's ``meta``), so the
one atomic rename of the weights replaces the whole checkpoint: a kill between that rename and
the one of ``<tag>.json`` leaves a sound checkpoint whose ``.json`` is one save behind. Loading
reads the metadata from the weights; the ``.json`` is its copy for readers (the app's follower,
people, scripts). A checkpoint written before the metadata moved in (no ``meta`` in the header)
is read from its ``.json``, whose step must agree with the weights'.
Loading also checks everything that is read later (``load_checkpoint``, ``load_model_state``,
``load_optimizer_state``): a damaged file is one line saying what is wrong, never a traceback.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeGuard

import torch

from rnn_tui.config import Config, TrainConfig
from rnn_tui.errors import RnnTuiError
from rnn_tui.options import setting_of
from rnn_tui.runs.files import atomic_write_bytes, atomic_write_json, read_json

KIND = "rnn-tui checkpoint"
VERSION = 1


@dataclass
class Checkpoint:
    meta: dict[str, Any]
    config: Config  # meta["config"], validated
    model: dict[str, torch.Tensor]
    optimizer: dict[str, Any] | None  # a torch optimizer state_dict, rebuilt
    extra: dict[str, torch.Tensor]


def save_checkpoint(
    folder: Path,
    tag: str,
    *,
    model: torch.nn.Module,
    meta: dict[str, Any],
    optimizer: torch.optim.Optimizer | None = None,
    extra: dict[str, torch.Tensor] | None = None,
) -> None:
    from safetensors.torch import save

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tensors = {f"model/{k}": v for k, v in model.state_dict().items()}
    optim_json = None
    if optimizer is not None:
        optim_tensors, optim_json = _split_optimizer(optimizer.state_dict())
        tensors.update(optim_tensors)
    for key, value in (extra or {}).items():
        tensors[f"extra/{key}"] = value
    # clone: safetensors refuses tensors that share storage (tied weights, views)
    tensors = {k: v.detach().to("cpu").contiguous().clone() for k, v in tensors.items()}
    full = {"kind": KIND, "version": VERSION, **meta, "optimizer": optim_json}
    header = {"kind": KIND, "step": str(meta.get("step", 0)), "meta": json.dumps(full, ensure_ascii=False)}
    atomic_write_bytes(folder / f"{tag}.safetensors", save(tensors, metadata=header))  # the checkpoint, whole
    atomic_write_json(folder / f"{tag}.json", full)  # its metadata again, for readers


def checkpoint_exists(folder: Path, tag: str = "latest") -> bool:
    return (Path(folder) / f"{tag}.safetensors").is_file()


class _Damaged(Exception):
    """What is wrong with a checkpoint (load_checkpoint turns it into one line for the user)."""


def damaged(folder: Path, tag: str, what: object) -> RnnTuiError:
    """The one line for a damaged checkpoint ``folder/tag``: what is wrong, and what to do."""
    other = "best" if tag == "latest" else "latest"
    what = " ".join(str(what).split())  # one line, whatever a library put in its message
    return RnnTuiError(f"checkpoint {Path(folder) / tag} is damaged: {what}; "
                       f"use the other checkpoint (--checkpoint {other}) or retrain")


def load_checkpoint(folder: Path, tag: str = "latest", device: str = "cpu") -> Checkpoint:
    """The checkpoint ``folder/tag``, checked: its metadata has every key the trainer and the
    API read, each of the right type (``_check_meta``), its config is valid, its vocabularies
    are vocabularies, the weights file is a sound safetensors file of the same step. Anything
    else is one line (``damaged``), never a traceback later."""
    from safetensors import SafetensorError
    from safetensors.torch import load

    folder = Path(folder)
    meta_path, weights_path = folder / f"{tag}.json", folder / f"{tag}.safetensors"
    if not weights_path.is_file():
        raise RnnTuiError(f"no {tag} checkpoint in {folder}: the run has not saved one yet")
    try:
        data = weights_path.read_bytes()
        tensors = load(data)
        header_meta = _safetensors_metadata(data)
    except (SafetensorError, OSError, ValueError) as exc:
        raise damaged(folder, tag, f"{weights_path.name} is unreadable ({exc})") from None
    embedded = "meta" in header_meta
    source = weights_path if embedded else meta_path
    try:
        meta = _embedded_meta(header_meta["meta"]) if embedded else read_json(meta_path)
        config = _check_meta(meta)
    except _Damaged as exc:
        raise damaged(folder, tag, f"{source.name}: {exc}") from None
    assert meta is not None  # _check_meta refused anything else
    if not embedded and header_meta.get("step") != str(meta["step"]):
        raise RnnTuiError(
            f"{folder}/{tag}: weights (step {header_meta.get('step')}) and metadata (step {meta['step']}) disagree "
            "(interrupted while saving); use the other checkpoint"
        )
    try:
        optimizer = _join_optimizer(tensors, meta["optimizer"]) if meta.get("optimizer") is not None else None
    except _Damaged as exc:
        raise damaged(folder, tag, f"{source.name}: {exc}") from None
    rng = tensors.get("extra/rng/cpu")
    if rng is None or rng.dtype != torch.uint8 or rng.shape != torch.get_rng_state().shape:
        raise damaged(folder, tag, f"{weights_path.name} holds no random-number state of a CPU generator (extra/rng/cpu)")
    model = {k[6:]: v.to(device) for k, v in tensors.items() if k.startswith("model/")}
    extra = {k[6:]: v for k, v in tensors.items() if k.startswith("extra/")}
    return Checkpoint(meta=meta, config=config, model=model, optimizer=optimizer, extra=extra)


# -- what the metadata holds ------------------------------------------------------------------------


def _is_int(v: Any) -> TypeGuard[int]:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _count(v: Any) -> bool:
    return _is_int(v) and v >= 0


def _loss(v: Any) -> bool:
    return v is None or _is_number(v)


def _value(v: Any) -> bool:
    """A scalar setting: a number, true/false or null."""
    return v is None or isinstance(v, bool) or _is_number(v)


def _schedule(v: Any) -> bool:
    return (isinstance(v, dict) and v.get("kind") in setting_of(TrainConfig, "schedule").setting.choices
            and _is_number(v.get("base_lr")) and all(_value(x) for k, x in v.items() if k != "kind"))


_SCALER = ("scale", "growth_factor", "backoff_factor", "growth_interval", "_growth_tracker")  # torch.amp.GradScaler
_META: dict[str, tuple[Callable[[Any], bool], str, bool]] = {  # key: (check, what it must be, required)
    "step": (_count, "a whole number ≥ 0", True),
    "epoch": (_count, "a whole number ≥ 0", True),
    "index": (_count, "a whole number ≥ 0", True),
    "schedule": (_schedule, "a schedule's state (a known kind, numbers)", True),
    "elapsed": (lambda v: _is_number(v) and v >= 0, "a number ≥ 0", False),
    "val_loss": (_loss, "a finite number or null", False),
    "best_val_loss": (_loss, "a finite number or null", False),
    "best_score": (lambda v: v is None or (isinstance(v, list) and len(v) == 2 and all(map(_loss, v)) and None not in v),
                   "two finite numbers or null", False),
    "bad_evals": (_count, "a whole number ≥ 0", False),
    "saved": (_is_number, "a number", False),
    "optimizer": (lambda v: v is None or isinstance(v, dict), "an object or null", False),
    "scaler": (lambda v: isinstance(v, dict) and all(_is_number(v.get(k)) for k in _SCALER), "an fp16 gradient scaler's "
               f"state ({', '.join(_SCALER)}: numbers)", False),
}
_VOCABS = {"lm": ("vocab",), "seq2seq": ("src_vocab", "tgt_vocab"), "classify": ("vocab",), "forecast": ()}


def _check_meta(meta: Any) -> Config:
    """The config of a checkpoint's metadata, once every key that is read has been checked;
    ``_Damaged`` (what is wrong) otherwise, ``RnnTuiError`` for a newer format."""
    from rnn_tui.data.vocab import Vocab

    if not isinstance(meta, dict) or meta.get("kind") != KIND:
        raise _Damaged(f"not an rnn-tui checkpoint (no \"kind\": \"{KIND}\")")
    version = meta.get("version")
    if not _is_int(version) or version < 1:
        raise _Damaged(f"\"version\" is {_short(version)}, not a format number")
    if version > VERSION:
        raise RnnTuiError(f"checkpoint format {version} was written by a newer rnn-tui; upgrade rnn-tui")
    for key, (check, must, required) in _META.items():
        if key not in meta and not required:
            continue
        if key not in meta:
            raise _Damaged(f"\"{key}\" is missing")
        if not check(meta[key]):
            raise _Damaged(f"\"{key}\" is {_short(meta[key])}, not {must}")
    try:
        config = Config.from_dict(meta.get("config"), where="\"config\"").validate()
    except RnnTuiError as exc:
        raise _Damaged(exc) from None
    if meta.get("task", config.task) != config.task:
        raise _Damaged(f"\"task\" is {_short(meta['task'])} but the config's is {config.task!r}")
    for key in _VOCABS[config.task]:
        vocab = meta.get(key)
        itos = vocab.get("itos") if isinstance(vocab, dict) else None
        if not isinstance(itos, list) or not all(isinstance(t, str) for t in itos):
            raise _Damaged(f"\"{key}\" is {_short(vocab)}, not a vocabulary ({{\"itos\": [tokens]}})")
        try:
            Vocab(itos)
        except ValueError as exc:
            raise _Damaged(f"\"{key}\": {exc}") from None
    classes = meta.get("classes")
    if config.task == "classify" and not (isinstance(classes, list) and len(classes) >= 2
                                          and all(isinstance(c, str) for c in classes) and len(set(classes)) == len(classes)):
        raise _Damaged(f"\"classes\" is {_short(classes)}, not a list of two or more class names")
    if config.task == "forecast":
        from rnn_tui.data.transforms import Transform

        try:
            Transform.from_dict(meta.get("transform"))
        except ValueError as exc:
            raise _Damaged(f"\"transform\": {exc}") from None
    return config


def _short(value: Any) -> str:
    """``value`` as JSON, cut to 40 characters: the message stays one short line."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 40 else text[:37] + "..."


def load_model_state(model: torch.nn.Module, state: dict[str, torch.Tensor], where: str) -> None:
    """Load weights, turning a mismatch (a checkpoint of another model) into one clear line."""
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    if missing or unexpected:
        name = (missing or unexpected)[0]
        raise RnnTuiError(f"{where} does not fit this model ({'missing' if missing else 'unexpected'} weight {name}); "
                          "it belongs to another model config")
    for key in own:  # the model's own order: the first layer that differs is named
        value = state[key]
        if own[key].shape != value.shape:
            raise RnnTuiError(
                f"{where} does not fit this model: {key} is {tuple(value.shape)} in the checkpoint, "
                f"{tuple(own[key].shape)} in the model; it belongs to another model config"
            )
    model.load_state_dict(state)


def load_optimizer_state(optimizer: torch.optim.Optimizer, state: dict[str, Any], where: str) -> None:
    """Load ``state`` (``Checkpoint.optimizer``) into ``optimizer``, turning one that does not
    fit it (other parameters, a setting of another type, a tensor of another shape) into one
    clear line rather than a failure in the first step."""
    live, saved = optimizer.param_groups, state["param_groups"]
    params = [p for group in live for p in group["params"]]
    problem = None
    if [len(g["params"]) for g in saved] != [len(g["params"]) for g in live]:
        problem = f"{sum(len(g['params']) for g in saved)} parameters in the checkpoint, {len(params)} in the model"
    for ours, theirs in zip(live, saved):
        for key, value in theirs.items():
            if key != "params" and key in ours and not _same_type(value, ours[key]):
                problem = problem or f"its {key} is {_short(value)}, this optimizer's is {_short(ours[key])}"
    for idx, values in state["state"].items():
        for name, value in values.items():
            if isinstance(value, torch.Tensor) and value.dim() and idx < len(params) and value.shape != params[idx].shape:
                problem = problem or f"its {name} of parameter {idx} is {tuple(value.shape)}, not {tuple(params[idx].shape)}"
    if problem:
        raise RnnTuiError(f"{where} does not fit this optimizer ({problem}); use the other checkpoint or retrain")
    # a setting the checkpoint lacks (written by an older torch, or lost) keeps this optimizer's value
    groups = [{**{k: v for k, v in ours.items() if k != "params"}, **theirs} for ours, theirs in zip(live, saved)]
    optimizer.load_state_dict({**state, "param_groups": groups})


def _same_type(saved: Any, live: Any) -> bool:
    """A saved optimizer setting (JSON) of the type the live one has: a pair for a pair, a
    number for a number, true/false for a flag (or for a flag left to choose: None)."""
    if isinstance(live, tuple | list):
        return isinstance(saved, list) and len(saved) == len(live) and all(map(_is_number, saved))
    if isinstance(live, bool) or live is None:
        return saved is None or isinstance(saved, bool)
    if isinstance(live, (int, float)):
        return _is_number(saved)
    return True  # a tensor (a learning rate kept as a tensor) or anything newer: torch checks it


def _split_optimizer(state_dict: dict[str, Any]) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for idx, per_param in state_dict["state"].items():
        for key, value in per_param.items():
            if isinstance(value, torch.Tensor):
                tensors[f"optim/{idx}/{key}"] = value
            else:
                scalars.setdefault(str(idx), {})[key] = value
    return tensors, {"param_groups": state_dict["param_groups"], "scalars": scalars}


def _join_optimizer(tensors: dict[str, torch.Tensor], optim_json: dict[str, Any]) -> dict[str, Any]:
    """A torch optimizer state_dict from the ``optim/<index>/<name>`` tensors and the JSON part
    (param_groups, scalars); ``_Damaged`` when they do not make one."""
    groups, scalars = optim_json.get("param_groups"), optim_json.get("scalars", {})
    if not isinstance(groups, list) or not groups or not all(isinstance(g, dict) for g in groups):
        raise _Damaged(f"\"optimizer\" param_groups is {_short(groups)}, not a list of objects")
    params = [i for g in groups for i in (g.get("params") if isinstance(g.get("params"), list) else [None])]
    if params != list(range(len(params))):
        raise _Damaged("\"optimizer\" param_groups do not number their parameters 0, 1, 2, …")
    for group in groups:
        for key, value in group.items():
            if key != "params" and not (_value(value) or (isinstance(value, list) and all(map(_is_number, value)))):
                raise _Damaged(f"\"optimizer\" param_groups {key} is {_short(value)}, not a number, true/false or null")
    if not (isinstance(scalars, dict) and all(isinstance(v, dict) and all(map(_value, v.values()))
                                              for v in scalars.values())):
        raise _Damaged(f"\"optimizer\" scalars is {_short(scalars)}, not an object of numbers per parameter")
    state: dict[int, dict[str, Any]] = {}
    parts = [(key.split("/", 2), value) for key, value in tensors.items() if key.startswith("optim/")]
    parts += [(["optim", idx, name], value) for idx, values in scalars.items() for name, value in values.items()]
    for (_, idx, *name), value in parts:
        if not (idx.isdecimal() and int(idx) < len(params)) or not name:
            raise _Damaged(f"optimizer state optim/{idx} is for no parameter")
        state.setdefault(int(idx), {})[name[0]] = value
    return {"state": dict(sorted(state.items())), "param_groups": groups}


def _embedded_meta(text: str) -> Any:
    """The metadata a weights file carries in its header (``_Damaged`` when it is not JSON)."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise _Damaged(f"its metadata is not JSON ({exc})") from None


def _safetensors_metadata(data: bytes) -> dict[str, str]:
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + n])
    return header.get("__metadata__", {}) or {}
