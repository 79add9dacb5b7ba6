"""Data-parallel training: several processes train one model with torch DistributedDataParallel.

The processes are torchrun's (``torch.distributed.run``): ``rnn-tui train --nproc N`` starts it
(``launch``), and so may a user (``torchrun --nproc-per-node N -m rnn_tui train …``). Each
process is a rank of a ``World``; its trainer finds it in the environment torchrun sets (RANK,
WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR/PORT) and joins the process group: NCCL
when it trains on CUDA, gloo otherwise.

``--batch`` is the batch of one process: a step's global batch is world × batch. What each rank
reads (its ``block`` of every global batch) is in the tasks and their batches; what it writes is
nothing — rank 0 alone writes the run directory, and a ``World`` carries the few numbers the
ranks must agree on (sums of losses — a step's as one device tensor, ``sum_tensor`` —, rank 0's
decisions, the carried states and RNGs a checkpoint keeps).

A one-process run is ``SOLO``: every method is then the identity, nothing is imported or sent.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from rnn_tui.errors import RnnTuiError

if TYPE_CHECKING:
    import torch

    from rnn_tui.config import TrainConfig

T = TypeVar("T")
WORKER_ENV = ("RANK", "WORLD_SIZE")  # set by torchrun in each process it starts


@dataclass(frozen=True)
class World:
    """This process's place among the ranks training one model."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0
    local_size: int = 1

    @property
    def main(self) -> bool:
        """Rank 0: the one that reads commands and writes the run directory."""
        return self.rank == 0

    def block(self, n: int) -> range:
        """This rank's contiguous share of ``n`` items (rows, columns, batches): the shares of
        the ranks are consecutive, cover all ``n`` and differ in size by at most one."""
        return range(n * self.rank // self.size, n * (self.rank + 1) // self.size)

    def sum(self, *values: float) -> list[float]:
        """Each of ``values`` summed over the ranks (float64)."""
        if self.size == 1:
            return [float(v) for v in values]
        import torch
        import torch.distributed as dist

        t = torch.tensor(values, dtype=torch.float64, device=_device())
        dist.all_reduce(t)
        return t.tolist()

    def sum_tensor(self, tensor: torch.Tensor) -> torch.Tensor:
        """``tensor`` summed over the ranks, in place where it lies (a training step's sums: on
        the GPU under NCCL, where the host need not wait for them)."""
        if self.size == 1:
            return tensor
        import torch.distributed as dist

        dist.all_reduce(tensor)
        return tensor

    def broadcast(self, obj: T) -> T:
        """Rank 0's ``obj`` on every rank."""
        if self.size == 1:
            return obj
        import torch
        import torch.distributed as dist

        box = [obj]
        dist.broadcast_object_list(box, src=0, device=torch.device(_device()))
        return box[0]

    def gather(self, obj: T) -> list[T]:
        """``obj`` of every rank, in rank order (every rank gets the list)."""
        if self.size == 1:
            return [obj]
        import torch.distributed as dist

        out: list[Any] = [None] * self.size
        dist.all_gather_object(out, obj)
        return out

    def cat(self, tensor: torch.Tensor, dim: int) -> torch.Tensor:
        """The ranks' ``tensor`` (the same shape on each) joined along ``dim`` in rank order."""
        if self.size == 1:
            return tensor
        import torch
        import torch.distributed as dist

        parts = [torch.empty_like(tensor) for _ in range(self.size)]
        dist.all_gather(parts, tensor.contiguous())
        return torch.cat(parts, dim=dim)


SOLO = World()


def worker_world() -> World | None:
    """The World torchrun started this process in, or None when it did not."""
    if not all(name in os.environ for name in WORKER_ENV):
        return None
    size = int(os.environ["WORLD_SIZE"])
    return World(rank=int(os.environ["RANK"]), size=size, local_rank=int(os.environ.get("LOCAL_RANK", "0")),
                 local_size=int(os.environ.get("LOCAL_WORLD_SIZE", str(size))))


_backend_device: str | None = None  # where collectives put their tensors: "cuda" under NCCL, else "cpu"


def join(world: World, device: torch.device) -> torch.device:
    """Join the process group of ``world`` (NCCL for CUDA, gloo otherwise); the device this rank
    trains on (its own GPU: cuda:LOCAL_RANK)."""
    global _backend_device
    import torch
    import torch.distributed as dist

    check_gpus(device, world.local_size)
    if device.type == "cuda":
        device = torch.device("cuda", world.local_rank)
        torch.cuda.set_device(device)
    backend = "nccl" if device.type == "cuda" else "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend=backend, rank=world.rank, world_size=world.size)
    _backend_device = "cuda" if backend == "nccl" else "cpu"
    return device


def check_gpus(device: torch.device, processes: int) -> None:
    """On CUDA each of this machine's ``processes`` trains on its own GPU: as many must be visible."""
    import torch

    if device.type == "cuda" and processes > torch.cuda.device_count():
        raise RnnTuiError(f"{processes} processes on this machine need as many GPUs; "
                          f"{torch.cuda.device_count()} visible: lower --nproc or use --device cpu")


def leave() -> None:
    """Leave the process group (at the end of a distributed run)."""
    import torch.distributed as dist

    if dist.is_initialized():
        dist.destroy_process_group()


def _device() -> str:
    return _backend_device or "cpu"


def wrap(model: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    """``model`` in DistributedDataParallel: its gradients averaged over the ranks in backward."""
    from torch.nn.parallel import DistributedDataParallel

    return DistributedDataParallel(model, device_ids=[device] if device.type == "cuda" else None)


# -- starting the ranks ---------------------------------------------------------------------------


def torchrun_args(t: TrainConfig, argv: list[str]) -> list[str]:
    """torchrun's arguments for ``t.nproc`` processes on each of ``t.nnodes`` machines, each
    running ``python -m rnn_tui <argv>``. One machine without a port rendezvouses on a free one."""
    args = [f"--nproc-per-node={t.nproc}", f"--nnodes={t.nnodes}"]
    if t.nnodes == 1 and not t.master_port:
        args.append("--standalone")
    else:
        if not t.master_port:
            raise RnnTuiError("training on several machines needs --master-port (and --master-addr: rank 0's "
                              "machine), the same on each")
        args += [f"--node-rank={t.node_rank}", f"--master-addr={t.master_addr}", f"--master-port={t.master_port}"]
    return [*args, "-m", "rnn_tui", *argv]


def launch(t: TrainConfig, argv: list[str]) -> None:
    """Run torchrun (in this process) with ``argv`` as each rank's ``rnn-tui`` arguments; one
    line when a rank failed (its own message is printed above, by that rank)."""
    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import main as torchrun

    os.environ.setdefault("OMP_NUM_THREADS", "1")  # torchrun's own default, without its warning; --threads wins
    try:
        torchrun(torchrun_args(t, argv))
    except ChildFailedError as exc:
        ranks = sorted(exc.failures)
        raise RnnTuiError(f"training process{'es' if len(ranks) > 1 else ''} {', '.join(map(str, ranks))} "
                          f"of {t.nproc * t.nnodes} failed (exit code {exc.get_first_failure()[1].exitcode}); "
                          "see the message above") from None
    except SignalException as exc:  # SIGTERM or SIGINT: torchrun has stopped the ranks (rank 0 saved and wrote why)
        raise RnnTuiError(f"training stopped by signal {exc.sigval.name}") from None
    finally:
        sys.stdout.flush()
