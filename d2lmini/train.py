"""The book's one training loop, the evaluation it shares, and the history it returns.

:func:`fit` trains every model in the book, a classifier, a language model, a translator or a
GPT, in the same way: a batch is a tuple ``(*inputs, labels)``, the model maps ``inputs`` to one
score vector per label, and the loss is the mean over all labels. What a run measures besides
the loss is the caller's choice (``metrics``: accuracy for a classifier, perplexity for a language
model), on the training batches and on validation data after every epoch. Gradient clipping, a
learning-rate schedule stepped per batch, and a hidden state carried across contiguous batches
are options of the same loop.

The same loop trains on several processes (``torchrun``, :mod:`d2lmini.distributed`): wrap the
model in ``DistributedDataParallel`` and give each process its shard of every batch
(:class:`d2lmini.distributed.ShardedBatches`). The running sums of loss, labels and correct
predictions are then added across processes before they are reported, so every process returns the
metrics of all the data; only rank 0 shows a progress bar and calls ``on_epoch_end``.

The model never knows the loop, and the loop never draws: pass ``on_epoch_end`` (for example
:class:`d2lmini.plot.LivePlot`) to watch the curves grow. The loop is kept lean, because a
reader runs it on a laptop: it adds under 10% to a bare PyTorch loop (``make bench``).
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from tqdm.auto import tqdm

from d2lmini.distributed import all_reduce_sum_, is_main_process

__all__ = ["METRICS", "History", "evaluate", "fit", "warmup_cosine"]

Batches = Iterable[Sequence[torch.Tensor]]
LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

#: What ``metrics`` may name, and the short name each is recorded under.
METRICS: dict[str, str] = {"accuracy": "acc", "perplexity": "ppl"}


def warmup_cosine(steps: int, warmup: int, floor: float = 0.0) -> Callable[[int], float]:
    """The multiplier of the peak learning rate at each step, for ``LambdaLR``.

    It rises linearly over ``warmup`` steps (``1/warmup, 2/warmup, ..., 1``), then falls along
    half a cosine to ``floor`` at step ``steps``, and stays there.

    Args:
        steps: The length of the run, in steps (the schedule is stepped once per batch).
        warmup: Steps of linear warm-up, at least 1.
        floor: The final multiplier, between 0 and 1.
    """
    if warmup < 1 or steps < warmup or not 0 <= floor <= 1:
        raise ValueError(f"need 1 <= warmup <= steps and 0 <= floor <= 1, got steps={steps}, "
                         f"warmup={warmup}, floor={floor}")

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = min(1.0, (step - warmup) / max(1, steps - warmup))
        return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))

    return factor


@dataclass
class History:
    """Per-epoch measurements of a training run; element ``i`` of each list is epoch ``i + 1``.

    ``history["train loss"]``, ``history["val acc"]``, ... return one float per epoch; the names
    are ``"train"`` or ``"val"``, a space, then ``"loss"``, ``"acc"`` or ``"ppl"``, and ``"lr"``
    when a scheduler ran.
    """

    values: dict[str, list[float]] = field(default_factory=dict)
    seconds: list[float] = field(default_factory=list)  # training time per epoch, no evaluation

    def __getitem__(self, name: str) -> list[float]:
        if name not in self.values:
            known = ", ".join(repr(k) for k in self.values) or "nothing yet"
            raise KeyError(f"no {name!r} in this history; it recorded {known}")
        return self.values[name]

    def __contains__(self, name: object) -> bool:
        return name in self.values

    @property
    def names(self) -> list[str]:
        """The recorded measurements, in the order they were first recorded."""
        return list(self.values)

    @property
    def epochs(self) -> int:
        """How many epochs have been recorded."""
        return len(self.seconds)

    def record(self, name: str, value: float) -> None:
        """Append one epoch's value of a measurement."""
        self.values.setdefault(name, []).append(value)

    def __str__(self) -> str:
        if not self.epochs:
            return "History(no epochs)"
        parts = [f"{name} {values[-1]:.3f}" for name, values in self.values.items()
                 if name != "lr"]
        return f"epoch {self.epochs}: {', '.join(parts)}, {sum(self.seconds):.1f} s in all"


def _interactive() -> bool:
    """Whether a progress bar helps: a terminal or a Jupyter kernel, but not CI or a build."""
    setting = os.environ.get("D2LMINI_PROGRESS", "").lower()
    if setting in ("0", "off", "false", "no"):
        return False
    if setting in ("1", "on", "true", "yes"):
        return True
    if os.environ.get("CI"):
        return False
    if "ipykernel" in sys.modules:
        return True
    return sys.stderr.isatty()


def _detach(state: Any) -> Any:
    """Cut a hidden state (a tensor, or a tuple of them as an LSTM's) from the graph."""
    if isinstance(state, torch.Tensor):
        return state.detach()
    if isinstance(state, (tuple, list)):
        return type(state)(_detach(s) for s in state)
    return state


class _Tally:
    """Running sums of one pass: the loss weighted by labels counted, and correct predictions.

    Sums stay on the device as tensors, so that a pass does not wait for the device at every batch.
    """

    def __init__(self, device: torch.device, metrics: Sequence[str], ignore_index: int) -> None:
        self.count_correct = "accuracy" in metrics
        self.ignore_index = ignore_index
        self.loss = torch.zeros((), device=device)  # float32: MPS has no float64
        self.correct = torch.zeros((), device=device, dtype=torch.long)
        self.labels = torch.zeros((), device=device, dtype=torch.long)

    def add(self, loss: torch.Tensor, scores: torch.Tensor, labels: torch.Tensor) -> None:
        keep = labels != self.ignore_index
        n = keep.sum()
        self.loss += loss.detach() * n
        self.labels += n
        if self.count_correct:
            self.correct += ((scores.detach().argmax(dim=-1) == labels) & keep).sum()

    def results(self, metrics: Sequence[str]) -> dict[str, float]:
        all_reduce_sum_(self.loss, self.correct, self.labels)  # over processes; none in one
        n = int(self.labels.item())
        if n == 0:
            raise ValueError("the data is empty: the batches held no labels to score")
        loss = self.loss.item() / n
        out = {"loss": loss}
        if "accuracy" in metrics:
            out["acc"] = self.correct.item() / n
        if "perplexity" in metrics:
            out["ppl"] = math.exp(min(loss, 700.0))
        return out


def _check_metrics(metrics: Sequence[str]) -> None:
    unknown = [m for m in metrics if m not in METRICS]
    if unknown:
        raise ValueError(f"unknown metrics {unknown}; choose from {list(METRICS)}")


def _ignore_index(loss_fn: LossFn) -> int:
    """The label value a loss skips (``nn.CrossEntropyLoss(ignore_index=pad)``), else -100."""
    value = getattr(loss_fn, "ignore_index", -100)
    return int(value) if isinstance(value, int) else -100


def _forward(
    model: nn.Module, batch: Sequence[torch.Tensor], device: torch.device, stateful: bool,
    state: Any,
) -> tuple[torch.Tensor, torch.Tensor, Any]:
    """Move a batch to the device and run the model: ``(scores, labels, new_state)``."""
    *inputs, labels = (t.to(device, non_blocking=True) for t in batch)
    if stateful:
        scores, state = model(*inputs, state)
    else:
        scores = model(*inputs)
    return scores, labels, state


def _flat(scores: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """One row of class scores per label: shapes ``(labels.numel(), classes)``, ``(numel,)``."""
    return scores.reshape(-1, scores.shape[-1]), labels.reshape(-1)


@torch.no_grad()
def evaluate(
    model: nn.Module,
    batches: Batches,
    loss_fn: LossFn,
    *,
    metrics: Sequence[str] = ("accuracy",),
    stateful: bool = False,
    device: torch.device | str | None = None,
) -> dict[str, float]:
    """Measure a model on data, in evaluation mode and without building a graph.

    Args:
        model: As for :func:`fit`.
        batches: Tuples ``(*inputs, labels)``.
        loss_fn: The loss, a mean over labels (labels equal to its ``ignore_index`` are skipped).
        metrics: Besides the loss: ``"accuracy"``, ``"perplexity"``.
        stateful: Carry the model's state across the batches, starting from ``None``.
        device: Where the model lives; defaults to its first parameter's device.

    Returns:
        ``{"loss": ...}`` plus ``"acc"`` and ``"ppl"`` when asked for; the loss is the mean over
        all labels counted, not a mean of batch means. Under ``torch.distributed`` the sums are
        added over all processes first, so every process must call it (on its shard, or on all
        the data: the means are the same); called on rank 0 alone, it waits for the others until
        the process group's timeout.
    """
    _check_metrics(metrics)
    device = _device_of(model, device)
    tally = _Tally(device, metrics, _ignore_index(loss_fn))
    was_training = model.training
    model.eval()
    state: Any = None
    try:
        for batch in batches:
            scores, labels, state = _forward(model, batch, device, stateful, state)
            flat_scores, flat_labels = _flat(scores, labels)
            tally.add(loss_fn(flat_scores, flat_labels), flat_scores, flat_labels)
    finally:
        model.train(was_training)
    return tally.results(metrics)


def _device_of(model: nn.Module, device: torch.device | str | None) -> torch.device:
    if device is None:
        first = next(model.parameters(), None)
        return first.device if first is not None else torch.device("cpu")
    return torch.device(device)


def fit(
    model: nn.Module,
    train_iter: Batches,
    loss_fn: LossFn,
    optimizer: torch.optim.Optimizer,
    *,
    epochs: int,
    val_iter: Batches | None = None,
    metrics: Sequence[str] = ("accuracy",),
    clip_grad_norm: float | None = None,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
    stateful: bool = False,
    device: torch.device | str | None = None,
    progress: bool | None = None,
    on_epoch_end: Callable[[History], None] | None = None,
) -> History:
    """Train a model for a number of epochs and return what was measured.

    Args:
        model: Maps the inputs of a batch to scores of shape ``labels.shape + (classes,)``:
            ``(batch, classes)`` for a classifier, ``(batch, steps, vocab)`` for a language model.
            With ``stateful=True`` it is called as ``model(*inputs, state)`` and returns
            ``(scores, state)``.
        train_iter: Re-iterable batches ``(*inputs, labels)``, such as
            :class:`d2lmini.data.Minibatches` or :class:`d2lmini.text.ContiguousStreams`.
        loss_fn: Mean loss of a batch, e.g. ``nn.CrossEntropyLoss()``, called on the scores and
            labels flattened to one row per label. Labels equal to its ``ignore_index``
            (``nn.CrossEntropyLoss(ignore_index=pad)``) are left out of every mean reported.
        optimizer: Updates the model's parameters.
        epochs: Passes over ``train_iter``.
        val_iter: Batches to measure the loss and ``metrics`` on after each epoch.
        metrics: What to measure besides the loss: ``"accuracy"`` and/or ``"perplexity"``.
        clip_grad_norm: If given, rescale the gradients before every step so that their global
            norm is at most this.
        scheduler: A learning-rate schedule, stepped after every batch (so ``OneCycleLR`` and
            warm-up schedules count batches, ``epochs * len(train_iter)`` in all).
        stateful: Carry the model's hidden state from one batch to the next, detached from the
            graph (truncated backpropagation through time); it starts as ``None`` every epoch.
        device: Where to train; defaults to the device of the model's first parameter.
        progress: Show a progress bar per epoch; by default only in a terminal or Jupyter,
            never when ``$CI`` is set or ``$D2LMINI_PROGRESS=0``.
        on_epoch_end: Called with the history after each epoch (a live plot, a checkpoint);
            under ``torch.distributed``, by rank 0 only.

    Returns:
        The :class:`History` of the run: ``"train loss"`` and ``"val loss"``, ``"train acc"``
        and ``"val acc"`` or ``"train ppl"`` and ``"val ppl"`` as asked, ``"lr"`` with a
        scheduler, and the training seconds of each epoch.

    Raises:
        ValueError: if the data is empty, a metric is unknown, or the model's output does not
            fit the labels.
        FloatingPointError: if the loss becomes NaN or infinite; says at which epoch and batch.
    """
    if epochs < 1:
        raise ValueError(f"epochs must be at least 1, got {epochs}")
    _check_metrics(metrics)
    device = _device_of(model, device)
    ignore = _ignore_index(loss_fn)
    show = (_interactive() if progress is None else progress) and is_main_process()
    params = [p for p in model.parameters() if p.requires_grad]
    history = History()
    for epoch in range(1, epochs + 1):
        model.train()
        start = time.perf_counter()
        tally = _Tally(device, metrics, ignore)
        state: Any = None
        bar = tqdm(train_iter, desc=f"epoch {epoch}/{epochs}", leave=False, disable=not show)
        for batch_number, batch in enumerate(bar, start=1):
            scores, labels, state = _forward(model, batch, device, stateful, state)
            if batch_number == 1 and epoch == 1:
                _check_output(scores, labels)
            flat_scores, flat_labels = _flat(scores, labels)
            loss = loss_fn(flat_scores, flat_labels)
            if not torch.isfinite(loss):
                raise FloatingPointError(
                    f"the loss became {loss.item()} at epoch {epoch}, batch {batch_number}: "
                    "try a smaller learning rate or gradient clipping, or check the inputs "
                    "for NaN or huge values"
                )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()  # type: ignore[no-untyped-call]
            if clip_grad_norm is not None:
                nn.utils.clip_grad_norm_(params, clip_grad_norm)
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
            if stateful:
                state = _detach(state)
            tally.add(loss, flat_scores, flat_labels)
        bar.close()
        try:
            train = tally.results(metrics)
        except ValueError:
            raise ValueError("the training data is empty: train_iter yielded no labels") from None
        history.seconds.append(time.perf_counter() - start)
        for name, value in train.items():
            history.record(f"train {name}", value)
        if val_iter is not None:
            val = evaluate(model, val_iter, loss_fn, metrics=metrics, stateful=stateful,
                           device=device)
            for name, value in val.items():
                history.record(f"val {name}", value)
        if scheduler is not None:
            history.record("lr", optimizer.param_groups[0]["lr"])
        if on_epoch_end is not None and is_main_process():
            on_epoch_end(history)
    return history


def _check_output(scores: torch.Tensor, labels: torch.Tensor) -> None:
    """Refuse a model output that cannot be class scores for these labels, saying why."""
    if scores.ndim != labels.ndim + 1 or scores.shape[:-1] != labels.shape:
        want = (*labels.shape, "classes")
        raise ValueError(
            f"the model returned shape {tuple(scores.shape)} for labels of shape "
            f"{tuple(labels.shape)}; it must return one score per class for every label, "
            f"shape {want} (a classifier: (batch, classes))"
        )
    if labels.dtype in (torch.int64, torch.int32) and labels.numel():
        top = int(labels.max())
        if top >= scores.shape[-1]:
            raise ValueError(
                f"the model outputs {scores.shape[-1]} class scores but a label is {top}: "
                f"its last layer needs at least {top + 1} outputs"
            )
    if not math.isfinite(float(scores.detach().float().abs().max())):
        raise FloatingPointError("the model's first output holds NaN or infinite values")
