"""Save a training run to one file and resume it exactly where it stopped.

A checkpoint holds everything the next step of training depends on: the model's weights, the
optimizer's state (Adam's moment estimates), the learning-rate schedule's position, the state of
every random generator (Python's, NumPy's, PyTorch's on the CPU, on each NVIDIA GPU and on an
Apple GPU, and the private generators of data iterators such as
:class:`d2lmini.text.RandomWindows`), and the :class:`d2lmini.train.History` so far. Restored,
a run continues bit for bit as if it had never stopped (``tests/test_checkpoint.py`` asserts
this).

Two safety rules. A checkpoint is written *atomically*: to a temporary file in the same folder,
flushed to disk, then renamed over the target, so a crash while saving leaves the previous
checkpoint intact rather than half a file. It is read with ``torch.load(weights_only=True)``,
which unpickles only tensors and plain containers and so cannot run code hidden in a foreign
file. A file that is truncated, is not a PyTorch file, or is not a d2lmini checkpoint raises a
:class:`ValueError` that names the file and says what to do.
"""

from __future__ import annotations

import os
import pickle
import random
import tempfile
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from d2lmini.device import mps_available
from d2lmini.train import History

__all__ = ["Checkpoint", "Checkpointer", "load_checkpoint", "save_checkpoint"]

_FORMAT = "d2lmini-checkpoint"
_VERSION = 1

#: Generators to save: a ``torch.Generator``, or an object that keeps one as ``_generator``
#: (:class:`d2lmini.data.Minibatches`, :class:`d2lmini.text.RandomWindows`, ...).
Generators = Mapping[str, Any]
Scheduler = torch.optim.lr_scheduler.LRScheduler


@dataclass
class Checkpoint:
    """What :func:`load_checkpoint` returns besides the states it restores in place."""

    history: History
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def epochs(self) -> int:
        """Epochs trained before the checkpoint was written."""
        return self.history.epochs


def _generator_of(name: str, obj: Any) -> torch.Generator:
    if isinstance(obj, torch.Generator):
        return obj
    gen = getattr(obj, "_generator", None)
    if isinstance(gen, torch.Generator):
        return gen
    raise TypeError(f"generators[{name!r}] is neither a torch.Generator nor an object that "
                    f"keeps one as ._generator (got {type(obj).__name__})")


def _rng_states() -> dict[str, Any]:
    version, mt, gauss = random.getstate()
    kind, keys, pos, has_gauss, cached = np.random.get_state(legacy=True)
    assert isinstance(keys, np.ndarray)  # the legacy form is a tuple holding the key array
    states: dict[str, Any] = {
        "python": (version, list(mt), gauss),
        "numpy": (kind, torch.from_numpy(keys.astype(np.int64)), int(pos), int(has_gauss),
                  float(cached)),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    if mps_available():  # dropout on an Apple GPU draws from the MPS generator
        states["mps"] = torch.mps.get_rng_state()
    return states


def _set_rng_states(states: dict[str, Any]) -> None:
    version, mt, gauss = states["python"]
    random.setstate((version, tuple(mt), gauss))
    kind, keys, pos, has_gauss, cached = states["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(states["torch"])
    cuda = states.get("cuda")
    if cuda is not None and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda)
    mps = states.get("mps")
    if mps is not None and mps_available():
        torch.mps.set_rng_state(mps)


def save_checkpoint(
    path: str | os.PathLike[str],
    model: nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    scheduler: Scheduler | None = None,
    *,
    generators: Generators | None = None,
    history: History | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Path:
    """Write the state of a training run to ``path``, atomically.

    Args:
        path: The checkpoint file; its folder is created if missing.
        model, optimizer, scheduler: Their ``state_dict()`` is saved.
        generators: Named data-order generators to save, e.g. ``{"train": train_iter}``.
        history: The run's history so far (a resumed run continues it).
        extra: Plain values to keep beside (settings, a step count): numbers, strings, lists,
            dicts and tensors only, since loading refuses anything else.

    Returns:
        The path written.
    """
    path = Path(path)
    history = history if history is not None else History()
    payload = {
        "format": _FORMAT,
        "version": _VERSION,
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        "scheduler": scheduler.state_dict() if scheduler is not None else None,
        "rng": _rng_states(),
        "generators": {name: _generator_of(name, g).get_state()
                       for name, g in (generators or {}).items()},
        "history": {"values": history.values, "seconds": history.seconds},
        "extra": dict(extra or {}),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(payload, f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a checkpoint is an ordinary file
        os.replace(tmp, path)  # atomic: readers see the old file or the new one, never half
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _read(path: Path, map_location: torch.device | str | None) -> dict[str, Any]:
    hint = ("it is not a d2lmini checkpoint, or it was cut short (a full disk, an interrupted "
            "copy): delete it and save again, or point to another checkpoint")
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except (RuntimeError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile, OSError,
            ValueError, KeyError, AttributeError) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ValueError(f"cannot read checkpoint {path}: {hint} ({first})") from error
    if not isinstance(payload, dict) or payload.get("format") != _FORMAT:
        raise ValueError(f"{path} is a PyTorch file but not a d2lmini checkpoint (no "
                         f"'format': {_FORMAT!r} entry): save it with save_checkpoint, or load "
                         "a bare state_dict with model.load_state_dict(torch.load(...))")
    if payload.get("version") != _VERSION:
        raise ValueError(f"{path} is a d2lmini checkpoint of version {payload.get('version')}; "
                         f"this d2lmini reads version {_VERSION}")
    # map_location moved every tensor; the random generators' states belong on the CPU
    payload["rng"], payload["generators"] = _to_cpu(payload["rng"]), _to_cpu(payload["generators"])
    return payload


def _to_cpu(states: Any) -> Any:
    """``states`` with every tensor in it (in dicts, lists, tuples) on the CPU."""
    if isinstance(states, dict):
        return {k: _to_cpu(v) for k, v in states.items()}
    if isinstance(states, (list, tuple)):
        return type(states)(_to_cpu(v) for v in states)
    return states.cpu() if hasattr(states, "cpu") else states


def load_checkpoint(
    path: str | os.PathLike[str],
    model: nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    scheduler: Scheduler | None = None,
    *,
    generators: Generators | None = None,
    map_location: torch.device | str | None = None,
    restore_rng: bool = True,
) -> Checkpoint:
    """Restore a run saved by :func:`save_checkpoint` into the objects given, in place.

    Build the model, optimizer, scheduler and data iterators as for a fresh run, then load:
    training continues exactly where the checkpoint left it.

    Args:
        path: The checkpoint file.
        model, optimizer, scheduler: Receive their saved states (each one given must have
            been saved).
        generators: The same names as when saving; each generator's state is restored.
        map_location: Where to put the tensors (e.g. ``"cpu"`` for a GPU checkpoint).
        restore_rng: Also restore Python's, NumPy's and PyTorch's global random states.

    Returns:
        The saved :class:`Checkpoint`: its history and ``extra`` values.

    Raises:
        FileNotFoundError: if there is no file at ``path``.
        ValueError: if the file is truncated or foreign, or does not fit the model (says why).
    """
    path = Path(path)
    payload = _read(path, map_location)
    try:
        model.load_state_dict(payload["model"])
    except RuntimeError as error:
        raise ValueError(f"checkpoint {path} was saved from a different model: "
                         f"{str(error).splitlines()[0]} ...") from error
    for name, obj, state in (("optimizer", optimizer, payload["optimizer"]),
                             ("scheduler", scheduler, payload["scheduler"])):
        if obj is None:
            continue
        if state is None:
            raise ValueError(f"checkpoint {path} holds no {name} state; it was saved without one")
        try:
            obj.load_state_dict(state)
        except (ValueError, KeyError, RuntimeError) as error:
            raise ValueError(f"checkpoint {path}: the {name} does not fit the saved one "
                             f"({error})") from error
    saved = payload["generators"]
    for name, g in (generators or {}).items():
        if name not in saved:
            raise ValueError(f"checkpoint {path} holds no generator {name!r}; it has "
                             f"{sorted(saved) or 'none'}")
        _generator_of(name, g).set_state(saved[name])
    if restore_rng:
        _set_rng_states(payload["rng"])
    history = History(values={k: list(v) for k, v in payload["history"]["values"].items()},
                      seconds=list(payload["history"]["seconds"]))
    return Checkpoint(history=history, extra=dict(payload["extra"]))


class Checkpointer:
    """Save a checkpoint every ``every`` epochs: pass it as ``fit(..., on_epoch_end=...)``.

    Example::

        save = Checkpointer("run.pt", model, optimizer, scheduler, generators={"train": data})
        fit(model, data, loss_fn, optimizer, epochs=10, scheduler=scheduler, on_epoch_end=save)

    Args:
        path: The checkpoint file, overwritten (atomically) each time.
        model, optimizer, scheduler, generators: As for :func:`save_checkpoint`.
        every: Save after every this many epochs.
        previous: The history of the run this one resumes; the saved history continues it.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        model: nn.Module,
        optimizer: torch.optim.Optimizer | None = None,
        scheduler: Scheduler | None = None,
        *,
        generators: Generators | None = None,
        every: int = 1,
        previous: History | None = None,
    ) -> None:
        if every < 1:
            raise ValueError(f"every must be at least 1, got {every}")
        self.path = Path(path)
        self.model, self.optimizer, self.scheduler = model, optimizer, scheduler
        self.generators = generators
        self.every = every
        self.previous = previous if previous is not None else History()

    def __call__(self, history: History) -> None:
        if history.epochs % self.every:
            return
        merged = History(values={k: list(v) for k, v in self.previous.values.items()},
                         seconds=self.previous.seconds + history.seconds)
        for name, values in history.values.items():
            merged.values.setdefault(name, []).extend(values)
        save_checkpoint(self.path, self.model, self.optimizer, self.scheduler,
                        generators=self.generators, history=merged)
