"""d2lmini.plot: each figure draws what it is given, and refuses what it cannot draw."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pytest
import torch

from d2lmini.plot import (
    LivePlot,
    plot_confusion_matrix,
    plot_decision_boundary,
    plot_history,
    show_heatmaps,
    show_images,
    use_svg,
)
from d2lmini.train import History


@pytest.fixture(autouse=True)
def _close_figures() -> None:
    plt.close("all")


def test_decision_boundary_shades_each_predicted_class(tmp_path: Path) -> None:
    X = torch.tensor([[-1.0, 0.0], [1.0, 0.0]])
    y = torch.tensor([0, 1])
    ax = plot_decision_boundary(lambda P: (P[:, 0] > 0).long(), X, y, resolution=20)
    assert len(ax.collections) >= 3  # the shading and one scatter per class
    assert ax.get_xlim() == pytest.approx((-1.5, 1.5))
    ax.figure.savefig(tmp_path / "b.png")  # works without a display
    assert (tmp_path / "b.png").stat().st_size > 0
    with pytest.raises(ValueError, match=r"\(n, 2\)"):
        plot_decision_boundary(lambda P: P[:, 0].long(), torch.zeros(3, 3), torch.zeros(3))


def test_show_images_lays_out_a_grid_with_titles() -> None:
    fig = show_images(torch.rand(10, 1, 28, 28), [str(i) for i in range(10)], ncols=4)
    axes = fig.get_axes()
    assert len(axes) == 12  # 3 rows of 4; two left empty
    assert [ax.get_title() for ax in axes[:10]] == [str(i) for i in range(10)]
    with pytest.raises(ValueError, match="titles"):
        show_images(torch.rand(3, 28, 28), ["a"])


def test_show_heatmaps_centres_signed_maps_on_zero() -> None:
    maps = torch.tensor([[[1.0, -3.0], [0.5, 2.0]], [[0.0, 0.0], [0.0, 0.0]]])
    fig = show_heatmaps(maps, ["a", "b"], ncols=3)
    axes = fig.get_axes()
    assert len(axes) == 2 and [ax.get_title() for ax in axes] == ["a", "b"]
    assert axes[0].images[0].get_clim() == (-3.0, 3.0)  # symmetric around zero
    assert axes[1].images[0].get_clim() == (-1.0, 1.0)  # an all-zero map still draws
    fig = show_heatmaps(maps.abs(), symmetric=False)
    assert fig.get_axes()[0].images[0].get_clim() == (0.5, 3.0)
    with pytest.raises(ValueError, match=r"\(n, h, w\)"):
        show_heatmaps(torch.zeros(2, 2))
    with pytest.raises(ValueError, match="titles"):
        show_heatmaps(maps, ["a"])


def test_confusion_matrix_plot_writes_the_counts() -> None:
    m = torch.tensor([[5, 1], [2, 7]])
    ax = plot_confusion_matrix(m, ["a", "b"])
    assert sorted(t.get_text() for t in ax.texts) == ["1", "2", "5", "7"]
    with pytest.raises(ValueError, match="2x2"):
        plot_confusion_matrix(torch.zeros(3, 3), ["a", "b"])


def _history() -> History:
    return History(values={"train loss": [1.0, 0.5], "train acc": [0.6, 0.8],
                           "val loss": [1.1, 0.7], "val acc": [0.55, 0.7]},
                   seconds=[1.0, 2.0])


def test_history_plot_puts_losses_left_and_accuracies_right() -> None:
    fig = plot_history(_history())
    loss_ax, acc_ax = fig.get_axes()
    assert [list(line.get_ydata()) for line in loss_ax.lines] == [[1.0, 0.5], [1.1, 0.7]]
    assert [list(line.get_ydata()) for line in acc_ax.lines] == [[0.6, 0.8], [0.55, 0.7]]
    assert acc_ax.get_ylabel() == "accuracy"


def test_history_plot_against_training_time() -> None:
    fig = plot_history(_history(), x="seconds")
    assert list(fig.get_axes()[0].lines[0].get_xdata()) == [1.0, 3.0]
    with pytest.raises(ValueError, match="epoch"):
        plot_history(_history(), x="steps")


def test_history_plot_of_a_language_model_shows_perplexity() -> None:
    h = History(values={"train loss": [2.0], "train ppl": [7.4]}, seconds=[1.0])
    fig = plot_history(h)
    assert fig.get_axes()[1].get_ylabel() == "perplexity"


def test_live_plot_prints_outside_jupyter(capsys: pytest.CaptureFixture[str]) -> None:
    LivePlot()(History(values={"train loss": [1.0], "train acc": [0.5]}, seconds=[0.1]))
    assert "epoch 1: train loss 1.000, train acc 0.500" in capsys.readouterr().out


def test_use_svg_is_harmless_in_a_script() -> None:
    use_svg()
    assert plt.rcParams["axes.grid"]
