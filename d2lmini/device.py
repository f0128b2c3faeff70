"""Pick the fastest device present, share the CPU well, and make runs repeatable.

The book's code runs unchanged on an NVIDIA GPU (CUDA), an Apple-silicon GPU (MPS) or the CPU:
chapters ask :func:`best_device` once and move their model and data there. On the CPU it also
calls :func:`use_free_cores`, so that a chapter run beside another busy program does not slow to
a crawl. :func:`seed_everything` seeds every random generator a chapter uses, so that the numbers
the text reports come out the same on every run on the CPU (a GPU rounds differently, and some of
its operations add in a varying order).
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable

import numpy as np
import torch

__all__ = ["best_device", "busy_cores", "mps_available", "seed_everything", "use_free_cores"]

# PyTorch's own choice of threads, before any call here lowered it
_DEFAULT_THREADS = torch.get_num_threads()


def best_device() -> torch.device:
    """Return CUDA if a GPU is present, else Apple's MPS if present, else the CPU (after
    :func:`use_free_cores`)."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    if mps_available():
        return torch.device("mps")
    use_free_cores()
    return torch.device("cpu")


def mps_available() -> bool:
    """Whether PyTorch sees an Apple-silicon GPU (MPS); False where its build has no MPS."""
    mps = getattr(torch.backends, "mps", None)
    return mps is not None and bool(mps.is_available())


def _read_proc_stat() -> tuple[int, int, int] | None:
    """(cores, busy jiffies, all jiffies) summed over the machine's cores; None off Linux, and
    None where this process may use fewer cores than ``/proc/stat`` counts (a container pinned to
    some of a shared machine's cores: the others' load is not ours to avoid)."""
    try:
        with open("/proc/stat", encoding="ascii") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    total = [int(v) for v in lines[0].split()[1:]]
    cores = sum(1 for line in lines if line.startswith("cpu") and line[3:4].isdigit())
    usable = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else range(cores)
    if len(usable) != cores:
        return None
    idle = total[3] + (total[4] if len(total) > 4 else 0)  # idle and waiting for I/O
    all_ = sum(total[:8])  # user nice system idle iowait irq softirq steal; guests are in user
    return cores, all_ - idle, all_


def busy_cores(
    read: Callable[[], tuple[int, int, int] | None] = _read_proc_stat,
    interval: float = 0.1,
    samples: int = 2,
) -> float | None:
    """How many cores other programs keep busy now, e.g. 1.0 for one busy loop: the machine's
    busy share over ``samples`` intervals of ``interval`` seconds, times its cores, the least of
    the samples (a moment's spike is not a busy program). Call it while this process is idle.
    Returns None where it cannot tell (no ``/proc/stat``: macOS, Windows)."""
    first = read()
    if first is None:
        return None
    least = float("inf")
    for _ in range(samples):
        time.sleep(interval)
        now = read()
        if now is None:
            return None
        cores, busy, all_ = now[0], now[1] - first[1], now[2] - first[2]
        if all_ > 0:
            least = min(least, cores * busy / all_)
        first = now
    return None if least == float("inf") else least


def use_free_cores(busy: float | None = None, *, verbose: bool = True) -> int:
    """Give PyTorch one thread per core that other programs leave free, and return the count.

    PyTorch starts one thread per core, and every operation waits for its slowest thread. When
    another program keeps a core busy, the thread on that core runs only part of the time, and
    every operation waits for it: on two cores with one busy loop beside it a small CNN's step
    took over four times as long with two threads as with one. So this counts the cores busy now
    (:func:`busy_cores`, or ``busy`` if given) and uses the rest, at least one and at most
    PyTorch's own choice. It looks once: a program that starts later is not seen. It changes
    nothing where ``OMP_NUM_THREADS`` is set (your choice wins) or where the load cannot be read.
    """
    if os.environ.get("OMP_NUM_THREADS"):
        return torch.get_num_threads()
    if busy is None:
        busy = busy_cores()
    if busy is None:
        return torch.get_num_threads()
    threads = max(1, min(_DEFAULT_THREADS, _DEFAULT_THREADS - round(busy)))
    if threads != torch.get_num_threads():
        torch.set_num_threads(threads)
        if verbose and threads < _DEFAULT_THREADS:
            print(f"d2lmini: other programs keep about {busy:.1f} of this machine's cores busy, "
                  f"so PyTorch uses {threads} of its {_DEFAULT_THREADS} threads")
    return threads


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and PyTorch's (CPU and every GPU) random generators."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds CUDA and MPS generators
