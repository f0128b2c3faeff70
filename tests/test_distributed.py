"""d2lmini.distributed and fit under DistributedDataParallel: two real gloo processes on the CPU.

Each test starts two processes (``torch.multiprocessing``, spawn), which meet on a port the
operating system picked and write what they saw to a file; the test reads the files. Timeouts are
a few seconds, so that a hang fails the test instead of blocking it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from d2lmini.data import Minibatches
from d2lmini.distributed import (
    ShardedBatches,
    all_reduce_sum_,
    free_port,
    is_distributed,
    is_main_process,
    rank,
    shard,
    world_size,
)
from d2lmini.train import fit

WORLD = 2
TIMEOUT_S = 3.0  # the process group's timeout for every collective


def _blobs(n: int = 240, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 3, (n,), generator=g)
    centers = torch.tensor([[0.0, 3.0], [3.0, -2.0], [-3.0, -2.0]])
    return centers[y] + torch.randn(n, 2, generator=g), y


def _model() -> nn.Module:
    torch.manual_seed(1)
    return nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 3))


def _train(model: nn.Module, sharded: bool, calls: list[int]) -> dict[str, list[float]]:
    """Two epochs of SGD on the blobs; sharded: each process keeps its part of every batch."""
    X, y = _blobs()
    train: Any = Minibatches(X, y, batch_size=40, seed=3)
    val: Any = Minibatches(X, y, batch_size=60, shuffle=False)
    if sharded:
        train, val = ShardedBatches(train), ShardedBatches(val)
    history = fit(model, train, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.1),
                  epochs=2, val_iter=val, progress=False,
                  on_epoch_end=lambda h: calls.append(h.epochs))
    return history.values


def _init(r: int, port: int) -> None:
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=r,
                            world_size=WORLD, timeout=timedelta(seconds=TIMEOUT_S))


def _fit_worker(r: int, port: int, out: Path) -> None:
    _init(r, port)
    calls: list[int] = []
    model = DistributedDataParallel(_model())
    values = _train(model, sharded=True, calls=calls)
    torch.save({"state": model.module.state_dict(), "history": values, "calls": calls,
                "who": (rank(), world_size(), is_main_process(), is_distributed())},
               out / f"rank{r}.pt")
    dist.destroy_process_group()


def _dead_worker(r: int, port: int, out: Path) -> None:
    _init(r, port)
    if r == 1:
        os._exit(3)  # dies without a word, as a process killed by the system would
    _time_all_reduce(out)


def _hung_worker(r: int, port: int, out: Path) -> None:
    _init(r, port)
    if r == 1:
        time.sleep(60)  # alive, but never joins the collective
    _time_all_reduce(out)


def _time_all_reduce(out: Path) -> None:
    start = time.perf_counter()
    try:
        all_reduce_sum_(torch.ones(3))
        error = ""
    except Exception as e:  # what the surviving rank sees
        error = f"{type(e).__name__}: {e}"
    (out / "rank0.txt").write_text(f"{time.perf_counter() - start:.3f}\n{error}")
    os._exit(0)  # skip the process group's shutdown, which would wait for the lost peer


def _launch(worker: Callable[[int, int, Path], None], out: Path,
            wait_s: float = 30.0) -> list[Any]:
    """Start WORLD processes running worker(rank, port, out); return them once rank 0 is done."""
    port = free_port()
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=worker, args=(r, port, out)) for r in range(WORLD)]
    for p in procs:
        p.start()
    procs[0].join(wait_s)
    for p in procs[1:]:
        p.join(1.0 if worker is not _fit_worker else wait_s)
    for p in procs:
        if p.is_alive():
            p.kill()
            p.join()
    return procs


def test_helpers_in_one_process() -> None:
    assert (rank(), world_size(), is_main_process(), is_distributed()) == (0, 1, True, False)
    t = torch.ones(2)
    all_reduce_sum_(t)  # nothing to add in one process
    assert t.tolist() == [1.0, 1.0]
    assert 1024 <= free_port() <= 65535


def test_shard_puts_the_batch_back_together() -> None:
    X, y = torch.arange(10).reshape(5, 2), torch.arange(5)
    parts = [shard((X, y), rank=r, world_size=2) for r in range(2)]
    assert torch.equal(torch.cat([p[0] for p in parts]), X)
    assert torch.equal(torch.cat([p[1] for p in parts]), y)
    assert [len(p[1]) for p in parts] == [3, 2]
    with pytest.raises(ValueError, match="cannot be shared by 4 processes"):
        shard((y[:3],), rank=0, world_size=4)
    with pytest.raises(ValueError, match="rank 2"):
        shard((y,), rank=2, world_size=2)
    batches = ShardedBatches(Minibatches(X, y, batch_size=2, seed=0), rank=1, world_size=2)
    assert len(batches) == 3


def test_ddp_fit_gives_the_weights_and_metrics_of_one_process(tmp_path: Path) -> None:
    procs = _launch(_fit_worker, tmp_path)
    assert [p.exitcode for p in procs] == [0, 0]
    ranks = [torch.load(tmp_path / f"rank{r}.pt") for r in range(WORLD)]
    calls: list[int] = []
    single = _model()
    values = _train(single, sharded=False, calls=calls)
    assert calls == [1, 2]
    for r, got in enumerate(ranks):
        assert got["who"] == (r, WORLD, r == 0, True)
        for name, w in single.state_dict().items():
            torch.testing.assert_close(got["state"][name], w, rtol=1e-5, atol=1e-6)
        assert got["history"].keys() == values.keys()
        for name, vals in values.items():  # reduced across ranks: the metrics of all the data
            assert got["history"][name] == pytest.approx(vals, rel=1e-5), name
    assert ranks[0]["calls"] == [1, 2] and ranks[1]["calls"] == []  # rank 0 only


@pytest.mark.parametrize("worker", [_dead_worker, _hung_worker], ids=["dead", "hung"])
def test_a_lost_rank_stops_the_others_with_an_error(
    tmp_path: Path, worker: Callable[[int, int, Path], None]
) -> None:
    start = time.perf_counter()
    procs = _launch(worker, tmp_path)
    assert procs[0].exitcode == 0
    seconds, error = (tmp_path / "rank0.txt").read_text().split("\n", 1)
    assert error, "the collective should have failed"
    assert float(seconds) < TIMEOUT_S + 2.0
    if worker is _hung_worker:
        assert "timed out" in error.lower() or "timeout" in error.lower(), error
        assert float(seconds) > TIMEOUT_S - 0.5
    assert time.perf_counter() - start < 20.0
