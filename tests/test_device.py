"""d2lmini.device: device choice in the order CUDA, MPS, CPU, and seeding."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from d2lmini.device import best_device, seed_everything


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
