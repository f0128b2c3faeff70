"""Pick the fastest device present and make runs repeatable.

The book's code runs unchanged on an NVIDIA GPU (CUDA), an Apple-silicon GPU (MPS) or the CPU:
chapters ask :func:`best_device` once and move their model and data there. :func:`seed_everything`
seeds every random generator a chapter uses, so that the numbers the text reports come out the
same on every run.
"""

from __future__ import annotations

import random

import numpy as np
import torch

__all__ = ["best_device", "seed_everything"]


def best_device() -> torch.device:
    """Return CUDA if a GPU is present, else Apple's MPS if present, else the CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and PyTorch's (CPU and every GPU) random generators."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds CUDA and MPS generators
