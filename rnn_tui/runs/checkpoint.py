"""Checkpoints: tensors in safetensors, everything else in JSON. Never pickle.

``checkpoints/<tag>.safetensors`` holds the model weights (``model/…``), the optimizer's
tensors (``optim/<param>/<key>``) and trainer tensors (RNG state, carried hidden state:
``extra/…``). ``checkpoints/<tag>.json`` holds the metadata: format version, config, vocab,
step, position in the data, the optimizer's scalar state and the scheduler's state.

Both files are replaced atomically, weights first; each records the step, and loading checks
that they agree, so a crash between the two renames is detected rather than silently mixed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from rnn_tui.errors import RnnTuiError
from rnn_tui.runs.files import atomic_write_bytes, atomic_write_json, read_json

KIND = "rnn-tui checkpoint"
VERSION = 1


@dataclass
class Checkpoint:
    meta: dict[str, Any]
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
    step = str(meta.get("step", 0))
    atomic_write_bytes(folder / f"{tag}.safetensors", save(tensors, metadata={"kind": KIND, "step": step}))
    atomic_write_json(folder / f"{tag}.json", {"kind": KIND, "version": VERSION, **meta, "optimizer": optim_json})


def checkpoint_exists(folder: Path, tag: str = "latest") -> bool:
    return (Path(folder) / f"{tag}.json").is_file() and (Path(folder) / f"{tag}.safetensors").is_file()


def load_checkpoint(folder: Path, tag: str = "latest", device: str = "cpu") -> Checkpoint:
    from safetensors import SafetensorError
    from safetensors.torch import load

    folder = Path(folder)
    meta_path, weights_path = folder / f"{tag}.json", folder / f"{tag}.safetensors"
    if not meta_path.is_file() or not weights_path.is_file():
        raise RnnTuiError(f"no {tag} checkpoint in {folder}: the run has not saved one yet")
    meta = read_json(meta_path)
    if meta is None or meta.get("kind") != KIND:
        raise RnnTuiError(f"{meta_path} is not an rnn-tui checkpoint")
    if meta.get("version", 0) > VERSION:
        raise RnnTuiError(f"{meta_path} was written by a newer rnn-tui (format {meta['version']}); upgrade rnn-tui")
    try:
        data = weights_path.read_bytes()
        tensors = load(data)
        header_meta = _safetensors_metadata(data)
    except (SafetensorError, OSError, ValueError) as exc:
        raise RnnTuiError(f"{weights_path} is unreadable ({exc}); use the other checkpoint or retrain") from None
    if header_meta.get("step") != str(meta.get("step", 0)):
        raise RnnTuiError(
            f"{folder}/{tag}: weights (step {header_meta.get('step')}) and metadata (step {meta.get('step')}) disagree "
            "(interrupted while saving); use the other checkpoint"
        )
    model = {k[6:]: v.to(device) for k, v in tensors.items() if k.startswith("model/")}
    extra = {k[6:]: v for k, v in tensors.items() if k.startswith("extra/")}
    optimizer = None
    if meta.get("optimizer") is not None:
        optimizer = _join_optimizer({k: v for k, v in tensors.items() if k.startswith("optim/")}, meta["optimizer"])
    return Checkpoint(meta=meta, model=model, optimizer=optimizer, extra=extra)


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
    state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        _, idx, name = key.split("/", 2)
        state.setdefault(int(idx), {})[name] = value
    for idx, values in optim_json.get("scalars", {}).items():
        state.setdefault(int(idx), {}).update(values)
    return {"state": dict(sorted(state.items())), "param_groups": optim_json["param_groups"]}


def _safetensors_metadata(data: bytes) -> dict[str, str]:
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + n])
    return header.get("__metadata__", {}) or {}
