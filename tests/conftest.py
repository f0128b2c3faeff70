"""Shared test settings: no display, and the offline mirror when one is beside the checkout."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

_SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
if "D2LMINI_MIRROR" not in os.environ and _SHARED.is_dir():
    os.environ["D2LMINI_MIRROR"] = str(_SHARED)
