"""Figures that look the same in the built book, in Jupyter, in VS Code and from a script.

Every function draws with plain Matplotlib and returns its ``Figure`` or ``Axes``; none calls
IPython's ``display``. A notebook shows a figure at the end of the cell, a script shows it with
``plt.show()`` or saves it with ``fig.savefig``. Nothing here knows about models or training:
the training loop returns numbers and these functions draw them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Circle

if TYPE_CHECKING:
    from d2lmini.train import History

__all__ = [
    "CLASS_COLORS",
    "LivePlot",
    "draw_network",
    "plot_confusion_matrix",
    "plot_decision_boundary",
    "plot_history",
    "show_heatmaps",
    "show_images",
    "use_svg",
]

#: Colours for classes 0, 1, 2, ... that stay distinct in light and dark mode and in print.
CLASS_COLORS: tuple[str, ...] = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd")


def use_svg() -> None:
    """Draw notebook figures as SVG, sharp at any zoom; does nothing outside IPython.

    Also sets a readable default size and font for every figure.
    """
    plt.rcParams.update({"figure.figsize": (5.0, 3.5), "font.size": 10, "axes.grid": True})
    try:
        from IPython import get_ipython
        from matplotlib_inline.backend_inline import set_matplotlib_formats
    except ImportError:  # plain Python: figures go to plt.show() or savefig
        return
    if get_ipython() is not None:
        set_matplotlib_formats("svg")  # type: ignore[no-untyped-call]


def _axes(ax: Axes | None, figsize: tuple[float, float] = (5.0, 3.5)) -> Axes:
    if ax is not None:
        return ax
    _, new = plt.subplots(figsize=figsize, layout="constrained")
    return new


def plot_decision_boundary(
    predict: Callable[[torch.Tensor], torch.Tensor],
    X: torch.Tensor,
    y: torch.Tensor,
    *,
    ax: Axes | None = None,
    resolution: int = 200,
    margin: float = 0.5,
) -> Axes:
    """Shade the regions a 2-D classifier assigns to each class, and scatter the data on top.

    Args:
        predict: Maps points of shape ``(n, 2)`` to integer class labels of shape ``(n,)``.
        X: The data, shape ``(n, 2)``.
        y: Integer labels, shape ``(n,)``.
        ax: Axes to draw on; a new figure if omitted.
        resolution: Grid points per axis for the shading.
        margin: How far the shaded area extends beyond the data.
    """
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"X must have shape (n, 2), got {tuple(X.shape)}")
    ax = _axes(ax)
    X = X.detach().cpu().float()
    y = y.detach().cpu().long()
    lo, hi = X.min(0).values - margin, X.max(0).values + margin
    g0, g1 = torch.meshgrid(
        torch.linspace(float(lo[0]), float(hi[0]), resolution),
        torch.linspace(float(lo[1]), float(hi[1]), resolution),
        indexing="xy",
    )
    grid = torch.stack([g0.reshape(-1), g1.reshape(-1)], dim=1)  # (resolution**2, 2)
    with torch.no_grad():
        zone = predict(grid).detach().cpu().reshape(g0.shape)
    n_classes = int(max(int(y.max()), int(zone.max())) + 1)
    colors = CLASS_COLORS[:n_classes]
    ax.contourf(g0, g1, zone, levels=np.arange(n_classes + 1) - 0.5, alpha=0.2,
                cmap=ListedColormap(colors))
    for c in range(n_classes):
        pts = X[y == c]
        ax.scatter(pts[:, 0], pts[:, 1], s=18, color=colors[c], edgecolor="white",
                   linewidth=0.5, label=f"class {c}")
    ax.set_xlim(float(lo[0]), float(hi[0]))
    ax.set_ylim(float(lo[1]), float(hi[1]))
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    return ax


def _grid(
    n: int, titles: Sequence[str] | None, ncols: int, scale: float, height: float, what: str
) -> tuple[Figure, np.ndarray]:
    """A figure of ``n`` panels in rows of ``ncols``, after checking there are panels and titles."""
    if n == 0:
        raise ValueError(f"there must be at least one of the {what} to show")
    if titles is not None and len(titles) != n:
        raise ValueError(f"got {n} {what} but {len(titles)} titles")
    ncols = min(ncols, n)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(ncols * scale, nrows * scale * height),
                             squeeze=False, layout="constrained")
    return fig, axes


def show_images(
    images: torch.Tensor,
    titles: Sequence[str] | None = None,
    *,
    ncols: int = 8,
    scale: float = 1.3,
) -> Figure:
    """Show a grid of grey-scale images, each with an optional title.

    Args:
        images: Shape ``(n, 28, 28)`` or ``(n, 1, 28, 28)``, values in ``[0, 1]`` or ``0..255``.
        titles: One short title per image (two lines at most read well).
        ncols: Images per row.
        scale: Inches per image.
    """
    if images.ndim == 4:
        images = images[:, 0]
    n = len(images)
    fig, axes = _grid(n, titles, ncols, scale, 1.25, "images")
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            ax.imshow(images[i].detach().cpu().numpy(), cmap="gray_r")
            if titles is not None:
                ax.set_title(titles[i], fontsize=8)
    return fig


def show_heatmaps(
    maps: torch.Tensor,
    titles: Sequence[str] | None = None,
    *,
    ncols: int = 8,
    scale: float = 1.3,
    symmetric: bool = True,
) -> Figure:
    """Show a grid of 2-D arrays (filters, feature maps, attention weights) as heat maps.

    Args:
        maps: Shape ``(n, h, w)``; each map gets its own colour scale.
        titles: One short title per map.
        ncols: Maps per row.
        scale: Inches per map.
        symmetric: Centre each map's colour scale on zero, negative blue and positive red
            (weights, signed responses); otherwise a sequential map from its minimum to its
            maximum (activations after a ReLU, probabilities).
    """
    if maps.ndim != 3:
        raise ValueError(f"maps must have shape (n, h, w), got {tuple(maps.shape)}")
    n = len(maps)
    fig, axes = _grid(n, titles, ncols, scale, 1.15, "maps")
    data = maps.detach().cpu().float().numpy()
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= n:
            continue
        if symmetric:
            bound = float(np.abs(data[i]).max()) or 1.0
            ax.imshow(data[i], cmap="RdBu_r", vmin=-bound, vmax=bound)
        else:
            ax.imshow(data[i], cmap="viridis")
        if titles is not None:
            ax.set_title(titles[i], fontsize=8)
    return fig


def draw_network(
    sizes: Sequence[int],
    layer_labels: Sequence[str] | None = None,
    *,
    unit_labels: Sequence[Sequence[str] | None] | None = None,
    max_units: int = 8,
    ax: Axes | None = None,
) -> Axes:
    """Draw a fully connected network: a column of units per layer, every unit joined to the next.

    A layer wider than ``max_units`` shows its first and last units with a vertical ellipsis
    between them, so 784 inputs fit on a page; its real width stays in its label.

    Args:
        sizes: Units per layer, inputs first, e.g. ``(784, 256, 10)``.
        layer_labels: One caption per layer, written under its column.
        unit_labels: For each layer, one label per unit (written inside the circles), or
            ``None`` for a layer without labels; only for layers of at most ``max_units`` units.
        max_units: The most units drawn in one column (at least 3).
        ax: Where to draw; a new figure if not given.

    Example: ``draw_network((2, 2, 1), ["input", "hidden", "output"])``.
    """
    if len(sizes) < 2 or any(int(n) != n or n < 1 for n in sizes):
        raise ValueError(f"sizes must be two or more positive whole numbers, got {list(sizes)}")
    if max_units < 3:
        raise ValueError(f"max_units must be at least 3, got {max_units}")
    for name, per_layer in (("layer_labels", layer_labels), ("unit_labels", unit_labels)):
        if per_layer is not None and len(per_layer) != len(sizes):
            raise ValueError(
                f"{name} needs one entry per layer ({len(sizes)}), got {len(per_layer)}"
            )
    for i, labels in enumerate(unit_labels or []):
        if labels is not None and (len(labels) != sizes[i] or sizes[i] > max_units):
            raise ValueError(
                f"layer {i} has {sizes[i]} units but {len(labels)} unit labels; "
                f"label only layers of at most max_units={max_units} units"
            )
    tallest = max(min(n, max_units) for n in sizes)
    dx = max(2.0, tallest / 2.5)  # the distance between columns, in unit spacings
    ax = _axes(ax, figsize=(0.9 * dx * len(sizes), 0.4 * tallest + 1.0))
    ys: list[list[float]] = []  # the heights of the drawn units, layer by layer
    for n in sizes:
        slots = min(n, max_units)
        y = [(slots - 1) / 2 - j for j in range(slots)]
        if n > max_units:  # drop the middle slot: the ellipsis goes there
            del y[slots // 2]
        ys.append(y)
    for i in range(len(sizes) - 1):
        for y0 in ys[i]:
            for y1 in ys[i + 1]:
                ax.plot([i * dx, (i + 1) * dx], [y0, y1], color="0.75", lw=0.6, zorder=1)
    radius = 0.32
    for i, (n, y) in enumerate(zip(sizes, ys, strict=True)):
        labels = unit_labels[i] if unit_labels is not None else None
        for j, yj in enumerate(y):
            ax.add_patch(
                Circle((i * dx, yj), radius, facecolor="white", edgecolor=CLASS_COLORS[0], lw=1.2,
                       zorder=2)
            )
            if labels is not None:
                ax.text(i * dx, yj, labels[j], ha="center", va="center", fontsize=10, zorder=3)
        if n > max_units:
            middle = (max_units - 1) / 2 - max_units // 2
            ax.text(i * dx, middle, "⋮", ha="center", va="center", fontsize=14, zorder=3)
        if layer_labels is not None:
            bottom = -(tallest - 1) / 2 - 0.7
            ax.text(i * dx, bottom, layer_labels[i], ha="center", va="top", fontsize=9)
    ax.set_xlim(-0.5 * dx, (len(sizes) - 0.5) * dx)
    ax.set_ylim(-(tallest - 1) / 2 - 1.5, (tallest - 1) / 2 + 0.6)
    ax.set_aspect("equal")
    ax.axis("off")
    return ax


def plot_confusion_matrix(
    matrix: torch.Tensor, labels: Sequence[str], *, ax: Axes | None = None
) -> Axes:
    """Draw a confusion matrix: row = true class, column = predicted class, counts in cells."""
    k = len(labels)
    if tuple(matrix.shape) != (k, k):
        raise ValueError(f"a matrix for {k} labels must be {k}x{k}, got {tuple(matrix.shape)}")
    ax = _axes(ax, figsize=(6.0, 5.0))
    m = matrix.detach().cpu().numpy()
    ax.imshow(m, cmap="Blues")
    ax.grid(False)
    for i in range(k):
        for j in range(k):
            color = "white" if m[i, j] > m.max() / 2 else "black"
            ax.text(j, i, str(int(m[i, j])), ha="center", va="center", fontsize=7, color=color)
    ax.set_xticks(range(k), labels, rotation=45, ha="right")
    ax.set_yticks(range(k), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    return ax


def plot_history(
    history: History, *, axes: Sequence[Axes] | None = None, x: str = "epoch"
) -> Figure:
    """Plot the losses (left) and the other measurements (right) of a run.

    Args:
        history: What :func:`d2lmini.train.fit` returned.
        axes: Two axes to draw on; a new figure if omitted.
        x: ``"epoch"``, or ``"seconds"`` for cumulative training time (to compare models
            that differ in speed).
    """
    if x not in ("epoch", "seconds"):
        raise ValueError(f"x must be 'epoch' or 'seconds', got {x!r}")
    if axes is None:
        fig, (ax_loss, ax_metric) = plt.subplots(1, 2, figsize=(8.0, 3.0), layout="constrained")
    else:
        ax_loss, ax_metric = axes
        fig = ax_loss.get_figure()  # type: ignore[assignment]
    steps = (list(range(1, history.epochs + 1)) if x == "epoch"
             else np.cumsum(history.seconds).tolist())
    metric_names = []
    for name in history.names:
        if name == "lr":
            continue
        kind = name.split()[-1]
        ax = ax_loss if kind == "loss" else ax_metric
        if kind != "loss" and kind not in metric_names:
            metric_names.append(kind)
        style = "o-" if name.startswith("train") else "s--"
        ax.plot(steps, history[name], style, markersize=3, label=name)
    label = "epoch" if x == "epoch" else "training time (s)"
    ax_loss.set_xlabel(label)
    ax_loss.set_ylabel("loss")
    ax_loss.legend()
    ax_metric.set_xlabel(label)
    names = {"acc": "accuracy", "ppl": "perplexity"}
    ax_metric.set_ylabel(", ".join(names.get(m, m) for m in metric_names))
    if metric_names:
        ax_metric.legend()
    else:
        ax_metric.set_visible(False)
    return fig


class LivePlot:
    """Redraw the training curves once per epoch while :func:`d2lmini.train.fit` runs.

    Pass an instance as ``fit(..., on_epoch_end=LivePlot())``. In Jupyter (and VS Code's
    notebooks) the figure updates in place; elsewhere each epoch prints one line instead.
    """

    def __init__(self) -> None:
        self._handle: object | None = None

    def __call__(self, history: History) -> None:
        try:
            from IPython import get_ipython
            from IPython.display import display
        except ImportError:
            print(history)
            return
        if get_ipython() is None:
            print(history)
            return
        fig = plot_history(history)
        if self._handle is None:
            self._handle = display(fig, display_id=True)  # type: ignore[no-untyped-call]
        else:
            self._handle.update(fig)  # type: ignore[attr-defined]
        plt.close(fig)
