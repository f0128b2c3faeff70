"""d2lmini.plot: each figure draws what it is given, and refuses what it cannot draw."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pytest
import torch

from d2lmini.plot import (
    LivePlot,
    draw_network,
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


def test_draw_network_draws_every_unit_and_every_connection_of_a_small_net() -> None:
    ax = draw_network((2, 2, 1), ["input", "hidden", "output"],
                      unit_labels=[["x1", "x2"], ["OR", "AND"], None])
    assert len(ax.patches) == 5  # one circle per unit
    assert len(ax.lines) == 2 * 2 + 2 * 1  # fully connected
    texts = [t.get_text() for t in ax.texts]
    assert {"x1", "x2", "OR", "AND", "input", "hidden", "output"} <= set(texts)
    circles = sorted((p.center for p in ax.patches), key=lambda c: (c[0], -c[1]))
    x = [c[0] for c in circles]
    assert x[0] == x[1] < x[2] == x[3] < x[4]  # a column per layer
    assert circles[4][1] == 0.0  # a lone unit sits in the middle


def test_draw_network_elides_the_middle_of_a_wide_layer() -> None:
    ax = draw_network((784, 256, 10), ["784 pixels", "256 hidden", "10 scores"], max_units=8)
    assert len(ax.patches) == 7 + 7 + 7  # each wide layer: 7 units and an ellipsis
    assert len(ax.lines) == 7 * 7 + 7 * 7
    assert [t.get_text() for t in ax.texts].count("⋮") == 3
    ellipsis_y = [t.get_position()[1] for t in ax.texts if t.get_text() == "⋮"]
    unit_y = {round(p.center[1], 6) for p in ax.patches}
    assert not unit_y & {round(y, 6) for y in ellipsis_y}  # the ellipsis takes a unit's place


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(sizes=(3,)), "two or more"),
        (dict(sizes=(3, 0)), "positive whole"),
        (dict(sizes=(3, 2), layer_labels=["only one"]), "one entry per layer"),
        (dict(sizes=(3, 2), unit_labels=[["a", "b"], None]), "layer 0 has 3 units"),
        (dict(sizes=(20, 2), unit_labels=[[str(i) for i in range(20)], None]), "at most"),
        (dict(sizes=(3, 2), max_units=2), "max_units"),
    ],
)
def test_draw_network_refuses_what_it_cannot_draw(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        draw_network(**kwargs)
