"""Data parallelism with ``torch.distributed``: which process am I, which part of a batch is mine.

The book trains on several processes the way real training does: PyTorch's own engine
(``torch.distributed``) starts one process per device, ``DistributedDataParallel`` averages the
gradients, and each process sees its own *shard* of every batch. This module holds the little that
:func:`d2lmini.train.fit` needs on top of that engine, and nothing of its own making:

- :func:`rank`, :func:`world_size`, :func:`is_main_process`: who this process is, ``0`` and ``1``
  when no process group is initialised, so that code written for many processes runs unchanged
  in one;
- :func:`shard` and :class:`ShardedBatches`: every process takes a contiguous slice of each batch,
  so that ``world_size`` processes with batches of ``B / world_size`` examples compute the gradient
  of the same ``B`` examples one process would;
- :func:`all_reduce_sum_`: add tensors across processes in place (a no-op in one process); ``fit``
  reduces its running sums with it, so that every process reports the metrics of the whole data.

Processes are launched the standard way, ``torchrun --nproc-per-node=N script.py`` (or
``torch.multiprocessing``), and each calls ``torch.distributed.init_process_group`` itself: the
``gloo`` backend on CPUs, ``nccl`` on NVIDIA GPUs. :func:`free_port` asks the operating system for
a port on which to meet.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable, Iterator, Sequence

import torch
import torch.distributed as dist

__all__ = [
    "ShardedBatches",
    "all_reduce_sum_",
    "free_port",
    "is_distributed",
    "is_main_process",
    "rank",
    "shard",
    "world_size",
]


def is_distributed() -> bool:
    """Whether this process belongs to an initialised ``torch.distributed`` process group."""
    return dist.is_available() and dist.is_initialized()


def rank() -> int:
    """This process's number in the group, ``0 ... world_size() - 1``; ``0`` in one process."""
    return dist.get_rank() if is_distributed() else 0


def world_size() -> int:
    """How many processes train together; ``1`` when no process group is initialised."""
    return dist.get_world_size() if is_distributed() else 1


def is_main_process() -> bool:
    """Whether this process is rank 0, the one that prints, plots and saves checkpoints."""
    return rank() == 0


def shard(
    batch: Sequence[torch.Tensor], *, rank: int | None = None, world_size: int | None = None
) -> tuple[torch.Tensor, ...]:
    """This process's contiguous slice of every tensor of a batch, along the first dimension.

    The slices of all ranks, in rank order, put back together make the batch. Sizes differ by at
    most one example (``torch.tensor_split``), so the gradients averaged across processes are those
    of the whole batch exactly when its size divides by the world size.

    Args:
        batch: Tensors with the same first dimension, e.g. ``(images, labels)``.
        rank: Which slice; defaults to this process's rank.
        world_size: Into how many slices; defaults to the number of processes.

    Raises:
        ValueError: if the batch has fewer examples than there are processes, so that a process
            would get none (its mean loss would be undefined).

    Example:
        >>> x = torch.arange(10)
        >>> [shard((x,), rank=r, world_size=3)[0].tolist() for r in range(3)]
        [[0, 1, 2, 3], [4, 5, 6], [7, 8, 9]]
    """
    r = _current_rank() if rank is None else rank
    w = _current_world() if world_size is None else world_size
    if not 0 <= r < w:
        raise ValueError(f"rank {r} is not in 0 ... {w - 1}")
    n = len(batch[0])
    if n < w:
        raise ValueError(
            f"a batch of {n} examples cannot be shared by {w} processes: each needs at least one "
            "(use a larger batch, or drop the last, smaller batch)"
        )
    return tuple(t.tensor_split(w)[r] for t in batch)


def _current_rank() -> int:
    return rank()


def _current_world() -> int:
    return world_size()


class ShardedBatches:
    """Re-iterable batches of which this process keeps its :func:`shard` only.

    Every process must see the same batches in the same order: give each the same data and the
    same seed (``Minibatches(X, y, batch_size=B, seed=0)``), and each keeps its ``1 / world_size``
    of every batch. Every process then takes the same number of steps, which the gradient averaging
    of ``DistributedDataParallel`` needs.

    Args:
        batches: Tuples of tensors, such as :class:`d2lmini.data.Minibatches`.
        rank: Defaults to this process's rank, read at each pass.
        world_size: Defaults to the number of processes, read at each pass.

    Example:
        >>> from d2lmini.data import Minibatches
        >>> x = torch.arange(8)
        >>> batches = Minibatches(x, batch_size=4, shuffle=False)
        >>> [b[0].tolist() for b in ShardedBatches(batches, rank=1, world_size=2)]
        [[2, 3], [6, 7]]
    """

    def __init__(
        self,
        batches: Iterable[Sequence[torch.Tensor]],
        *,
        rank: int | None = None,
        world_size: int | None = None,
    ) -> None:
        self.batches = batches
        self.rank = rank
        self.world_size = world_size

    def __len__(self) -> int:
        return len(self.batches)  # type: ignore[arg-type]

    def __iter__(self) -> Iterator[tuple[torch.Tensor, ...]]:
        for batch in self.batches:
            yield shard(batch, rank=self.rank, world_size=self.world_size)


def all_reduce_sum_(*tensors: torch.Tensor) -> None:
    """Replace each tensor by its sum over all processes, in place; in one process, do nothing.

    Every process must call this with tensors of the same shapes and types, in the same order:
    it is a collective operation, and a process that does not take part makes the others wait
    (until the process group's ``timeout``).
    """
    if not is_distributed():
        return
    for t in tensors:
        dist.all_reduce(t, op=dist.ReduceOp.SUM)


def free_port() -> int:
    """A TCP port that is free now on this machine, chosen by the operating system.

    Another program may take it before it is used; for a launcher that starts at once, the
    window is short.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
