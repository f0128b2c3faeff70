"""Measure a classifier: predictions, accuracy and the confusion matrix.

These run the model in evaluation mode without building a graph, one batch at a time, so that
a whole test set never has to fit on the device at once.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

__all__ = ["confusion_matrix", "evaluate_accuracy", "predict"]


@torch.no_grad()
def predict(
    model: nn.Module,
    batches: Iterable[tuple[torch.Tensor, ...]],
    device: torch.device | str = "cpu",
) -> tuple[torch.Tensor, torch.Tensor]:
    """Return ``(predicted, true)`` labels over all batches, as CPU ``int64`` tensors.

    Args:
        model: Maps inputs ``(batch, ...)`` to class scores ``(batch, classes)``.
        batches: ``(inputs, labels)`` pairs, e.g. :class:`d2lmini.data.Minibatches`.
        device: Where the model lives.
    """
    was_training = model.training
    model.eval()
    preds, trues = [], []
    try:
        for X, y in batches:
            preds.append(model(X.to(device)).argmax(dim=1).cpu())
            trues.append(y.cpu())
    finally:
        model.train(was_training)
    if not preds:
        raise ValueError("no batches to predict on: the dataset is empty")
    return torch.cat(preds), torch.cat(trues)


def evaluate_accuracy(
    model: nn.Module,
    batches: Iterable[tuple[torch.Tensor, ...]],
    device: torch.device | str = "cpu",
) -> float:
    """Fraction of examples whose highest-scoring class is the true one."""
    pred, true = predict(model, batches, device)
    return (pred == true).float().mean().item()


def confusion_matrix(true: torch.Tensor, pred: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Count matrix ``m[i, j]``: how many examples of true class ``i`` were predicted ``j``."""
    if true.shape != pred.shape:
        raise ValueError(f"true {tuple(true.shape)} and pred {tuple(pred.shape)} differ")
    flat = true.long() * num_classes + pred.long()
    return torch.bincount(flat, minlength=num_classes**2).reshape(num_classes, num_classes)
