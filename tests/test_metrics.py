"""d2lmini.metrics, checked against direct computation."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from d2lmini.data import Minibatches
from d2lmini.metrics import confusion_matrix, evaluate_accuracy, predict


def test_confusion_matrix_counts_pairs() -> None:
    true = torch.tensor([0, 0, 1, 2, 2, 2])
    pred = torch.tensor([0, 1, 1, 2, 0, 2])
    m = confusion_matrix(true, pred, 3)
    assert m.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 2]]
    assert m.sum() == len(true) and m.trace() == (true == pred).sum()


def test_predict_and_accuracy_match_a_direct_computation() -> None:
    torch.manual_seed(0)
    X, y = torch.randn(103, 5), torch.randint(0, 3, (103,))
    model = nn.Linear(5, 3)
    model.train()
    pred, true = predict(model, Minibatches(X, y, batch_size=10, shuffle=False))
    assert torch.equal(pred, model(X).argmax(1)) and torch.equal(true, y)
    assert model.training, "predict must restore the model's mode"
    acc = evaluate_accuracy(model, Minibatches(X, y, batch_size=7))
    assert acc == pytest.approx((model(X).argmax(1) == y).float().mean().item())


def test_predict_refuses_empty_data() -> None:
    with pytest.raises(ValueError, match="empty"):
        predict(nn.Linear(2, 2), [])
