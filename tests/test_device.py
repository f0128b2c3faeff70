"""d2lmini.device: device choice in the order CUDA, MPS, CPU, threads on a busy CPU, and seeding."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from d2lmini import device
from d2lmini.device import best_device, busy_cores, seed_everything, use_free_cores


def test_prefers_cuda_then_mps_then_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    mps = torch.backends.mps
    for cuda, has_mps, want in [(True, True, "cuda"), (False, True, "mps"), (False, False, "cpu")]:
        monkeypatch.setattr(torch.cuda, "is_available", lambda c=cuda: c)
        monkeypatch.setattr(mps, "is_available", lambda m=has_mps: m)
        assert best_device().type == want


def test_best_device_works_here() -> None:
    assert torch.zeros(1, device=best_device()).device.type == best_device().type


def test_seed_everything_repeats_every_generator() -> None:
    def draw() -> tuple[float, float, float]:
        return random.random(), float(np.random.rand()), torch.rand(1).item()

    seed_everything(123)
    first = draw()
    seed_everything(123)
    assert draw() == first
    seed_everything(124)
    assert draw() != first


def test_busy_cores_is_the_least_busy_share_of_the_samples() -> None:
    # 2 cores; per interval: all 200 jiffies, then 100 busy (one core), then 180 busy (a spike)
    snapshots = iter([(2, 0, 0), (2, 100, 200), (2, 280, 400)])
    assert busy_cores(lambda: next(snapshots), interval=0, samples=2) == 1.0
    snapshots = iter([(4, 0, 0), (4, 40, 400)])
    assert busy_cores(lambda: next(snapshots), interval=0, samples=1) == 0.4
    assert busy_cores(lambda: None, interval=0) is None


def test_use_free_cores_leaves_busy_cores_to_their_programs(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(device, "_DEFAULT_THREADS", 4)
    before = torch.get_num_threads()
    try:
        assert use_free_cores(busy=1.2) == 3 == torch.get_num_threads()
        assert "keep about 1.2 of this machine's cores busy" in capsys.readouterr().out
        assert use_free_cores(busy=9.0) == 1  # never fewer than one
        assert use_free_cores(busy=0.3) == 4 == torch.get_num_threads()  # a blip is not a program
        monkeypatch.setenv("OMP_NUM_THREADS", "2")
        assert use_free_cores(busy=3.0) == 4  # the reader's own setting wins
    finally:
        torch.set_num_threads(before)


def test_best_device_uses_free_cores_on_the_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    monkeypatch.setattr(device, "use_free_cores", lambda: calls.append(1) or 1)
    assert best_device().type == "cpu" and calls == [1]


@pytest.mark.skipif(not Path("/proc/stat").exists(), reason="busy_cores reads Linux's /proc/stat")
def test_the_load_of_cores_this_process_cannot_use_is_not_counted(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0})  # pinned to one core
    assert device._read_proc_stat() is None or os.cpu_count() == 1


@pytest.mark.skipif(not Path("/proc/stat").exists(), reason="busy_cores reads Linux's /proc/stat")
def test_busy_cores_sees_a_busy_loop() -> None:
    loop = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.3)
        busy = busy_cores()
        assert busy is not None and busy >= 0.6, busy
    finally:
        loop.kill()
        loop.wait()
