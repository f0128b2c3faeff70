"""Explorable figures: move a slider, watch the figure respond, with no kernel and no network.

A chapter hands :func:`explorable` a drawing function and the parameter values to explore. Every
frame is drawn now, by the chapter's own code, as a small PNG; the result is one output that holds
them all, with a slider over them and, where the parameter is time, a play button::

    >>> from d2lmini.explore import explorable
    >>> def draw(fig, rate):
    ...     ax = fig.subplots()
    ...     ax.plot([0, 1], [0, rate])
    ...     return f"rate {rate}: slope {rate:.1f}"
    >>> view = explorable(draw, [0.5, 1.0, 2.0], name="learning rate", default=1)
    >>> view.labels
    ['rate 0.5: slope 0.5', 'rate 1.0: slope 1.0', 'rate 2.0: slope 2.0']

In Jupyter, VS Code, Colab and the built book the output is a few lines of HTML and plain
JavaScript: an ``<img>`` showing the default frame, an ``<input type="range">`` (operable by mouse
and by the arrow, Home and End keys) and a label, ``draw``'s text for the frame shown, which says
the value and what the chapter measures at it. No library and no CDN are loaded, so it works
offline and in a page that blocks requests. Where no script runs (a PDF, GitHub's notebook
viewer, an untrusted notebook) the ``<img>`` still shows the default frame and its label; the
output also carries that frame as ``image/png`` for frontends that show no HTML.

Every frame is embedded in the page, so an explorable has a budget: ``max_bytes`` (1 MB by
default). An explorable over it raises :class:`ExplorableTooLargeError`, which says how to
shrink it.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

from matplotlib.figure import Figure

__all__ = ["Explorable", "ExplorableTooLargeError", "explorable"]

T = TypeVar("T")

#: Per explorable, all frames included: about 1 MB, so that a page with two stays light.
MAX_BYTES = 1_000_000


class ExplorableTooLargeError(ValueError):
    """An explorable's frames would weigh more than its budget of bytes."""


@dataclass(frozen=True)
class Explorable:
    """Precomputed frames with a slider over them; shows itself in Jupyter and the book."""

    #: What the slider moves, as the reader should read it ("learning rate").
    name: str
    #: One text per frame: the value and what was measured there.
    labels: list[str]
    #: The PNG bytes of every frame, in slider order.
    frames: list[bytes]
    #: The index of the frame shown first, and in print.
    default: int
    #: Whether there is a play button (the parameter is time).
    play: bool
    #: Milliseconds per frame when playing.
    interval_ms: int
    #: A description of the figure for readers who cannot see it.
    alt: str
    #: The width of every frame, in pixels.
    width: int
    #: The height of every frame, in pixels.
    height: int

    @cached_property
    def html(self) -> str:
        """The whole output: image, controls, label, the frames as data and the script."""
        return _render_html(self)

    @property
    def nbytes(self) -> int:
        """The size of :attr:`html` in bytes, the weight this explorable adds to its page."""
        return len(self.html.encode())

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return {
            "text/html": self.html,
            "image/png": base64.b64encode(self.frames[self.default]).decode(),
            "text/plain": repr(self),
        }

    def __repr__(self) -> str:
        return (f"<explorable {self.name!r}: {len(self.frames)} frames, "
                f"{self.nbytes / 1000:.0f} kB; shown first: {self.labels[self.default]}>")

    def save(self, path: str | Path) -> Path:
        """Write a page holding only this explorable (for a script, or to share it).

        The page is written to a temporary name and renamed, so a failed write leaves no
        half-written file.
        """
        path = Path(path)
        page = ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                f"<title>{html.escape(self.name)}</title></head><body>\n{self.html}\n"
                "</body></html>\n")
        partial = path.with_name(path.name + ".partial")
        partial.write_text(page, encoding="utf-8")
        partial.replace(path)
        return path


def explorable(
    draw: Callable[[Figure, T], str],
    values: Sequence[T],
    *,
    name: str,
    default: int = 0,
    play: bool = False,
    interval_ms: int = 200,
    figsize: tuple[float, float] = (3.5, 2.5),
    dpi: int = 100,
    colors: int | None = 64,
    alt: str | None = None,
    max_bytes: int = MAX_BYTES,
) -> Explorable:
    """Draw one frame per value and return them as one explorable output.

    Args:
        draw: called as ``draw(fig, value)`` on an empty figure for each value; it draws the
            frame (``ax = fig.subplots()``, and so on) and returns the frame's label: the value
            and what the chapter measures at it, e.g. ``"η = 0.3: diverges"``.
        values: the parameter values, in slider order.
        name: what the slider moves ("learning rate", "training step").
        default: index into ``values`` of the frame shown first and printed in the PDF.
        play: add a play button that steps through the frames (where the parameter is time).
        interval_ms: milliseconds per frame when playing.
        figsize: the size of every frame, in inches.
        dpi: pixels per inch of the PNG frames.
        colors: each frame is stored with a palette of at most this many colours, which makes
            line plots about half the size; ``None`` keeps every colour (photographs, smooth
            colour maps).
        alt: the figure described in words; the label of the frame shown is appended.
        max_bytes: the most bytes the output may weigh.

    Returns:
        The :class:`Explorable`; as a cell's last value it shows itself.

    Raises:
        ValueError: no values, or ``default`` is not an index into them.
        TypeError: ``draw`` returned something other than a string.
        ExplorableTooLargeError: the output would weigh more than ``max_bytes``.
    """
    values = list(values)
    if not values:
        raise ValueError(f"explorable {name!r} has no values to explore: pass at least one")
    if not 0 <= default < len(values):
        raise ValueError(f"explorable {name!r}: default={default} is not an index into its "
                         f"{len(values)} values (0 to {len(values) - 1})")
    fig = Figure(figsize=figsize, dpi=dpi, layout="constrained")
    labels: list[str] = []
    frames: list[bytes] = []
    for value in values:
        fig.clear()
        label = draw(fig, value)
        if not isinstance(label, str):
            raise TypeError(f"explorable {name!r}: draw(fig, {value!r}) returned "
                            f"{type(label).__name__}, not the frame's label: return a string "
                            "that says the value and what was measured at it")
        labels.append(label)
        frames.append(_png(fig, dpi, colors))
    width, height = (round(size * dpi) for size in figsize)
    view = Explorable(name=name, labels=labels, frames=frames, default=default, play=play,
                      interval_ms=interval_ms, alt=alt or name, width=width, height=height)
    if view.nbytes > max_bytes:
        per_frame = sum(map(len, frames)) / len(frames)
        raise ExplorableTooLargeError(
            f"explorable {name!r} would weigh {view.nbytes / 1000:,.0f} kB, over its budget of "
            f"{max_bytes / 1000:,.0f} kB: {len(frames)} frames of about {per_frame / 1000:.0f} kB "
            "each (base64 adds a third). Explore fewer values, draw a smaller figsize or a lower "
            "dpi, or, if the page can carry it, raise max_bytes."
        )
    return view


def _png(fig: Figure, dpi: int, colors: int | None) -> bytes:
    buffer = io.BytesIO()
    # No metadata: the same frames give the same bytes, run after run.
    fig.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    if colors is None:
        return buffer.getvalue()
    from PIL import Image  # Matplotlib's own dependency

    image = Image.open(buffer).convert("RGB")
    small = io.BytesIO()
    image.quantize(colors, dither=Image.Dither.NONE).save(small, format="png", optimize=True)
    return small.getvalue()


def _render_html(view: Explorable) -> str:
    digest = hashlib.sha1(view.name.encode())
    for frame in view.frames:
        digest.update(frame)
    uid = "explorable-" + digest.hexdigest()[:12]
    encoded = [base64.b64encode(frame).decode() for frame in view.frames]
    shown = encoded[view.default]
    data = {
        # The frame shown first is already the <img>'s source: not twice in the page.
        "frames": [None if i == view.default else frame for i, frame in enumerate(encoded)],
        "labels": view.labels,
        "alt": view.alt,
        "interval": view.interval_ms,
    }
    # "</" cannot end the <script> element early: JSON allows "<\/".
    data_json = json.dumps(data, ensure_ascii=False).replace("</", "<\\/")
    label = html.escape(view.labels[view.default])
    last = len(view.frames) - 1
    play = ('<button type="button" class="explorable-play" aria-label="Play" '
            'style="min-width:2.2em">&#9654;</button>') if view.play else ""
    return f"""<figure class="explorable" id="{uid}" style="margin:0.5em 0">
<img class="explorable-frame" src="data:image/png;base64,{shown}" width="{view.width}" \
height="{view.height}" style="max-width:100%;height:auto" \
alt="{html.escape(view.alt)}: {label}">
<div class="explorable-controls" style="display:flex;gap:0.5em;align-items:center;\
max-width:{view.width}px">{play}<input type="range" class="explorable-slider" min="0" \
max="{last}" step="1" value="{view.default}" aria-label="{html.escape(view.name)}" \
aria-valuetext="{label}" style="flex:1"></div>
<figcaption><output class="explorable-label" aria-live="polite">{label}</output></figcaption>
<script type="application/json" class="explorable-data">{data_json}</script>
<script>{_SCRIPT.replace("UID", uid)}</script>
</figure>"""


# The whole behaviour, in plain JavaScript: show frame i; the slider shows the frame it is moved
# to; the play button steps through the frames and stops at the last (pressed there, it starts
# again from the first). Wired once, even if the output is shown twice.
_SCRIPT = """(function () {
  var script = document.currentScript;
  var root = (script && script.closest(".explorable")) || document.getElementById("UID");
  if (!root || root.dataset.ready) return;
  root.dataset.ready = "1";
  var data = JSON.parse(root.querySelector(".explorable-data").textContent);
  var img = root.querySelector(".explorable-frame");
  var slider = root.querySelector(".explorable-slider");
  var label = root.querySelector(".explorable-label");
  var button = root.querySelector(".explorable-play");
  var first = img.getAttribute("src");
  var timer = null;
  function show(i) {
    img.src = data.frames[i] === null ? first : "data:image/png;base64," + data.frames[i];
    img.alt = data.alt + ": " + data.labels[i];
    label.textContent = data.labels[i];
    slider.value = String(i);
    slider.setAttribute("aria-valuetext", data.labels[i]);
  }
  function stop() {
    if (timer === null) return;
    clearInterval(timer);
    timer = null;
    button.innerHTML = "&#9654;";
    button.setAttribute("aria-label", "Play");
  }
  slider.addEventListener("input", function () { stop(); show(Number(slider.value)); });
  // The keys, handled here rather than left to the browser: JupyterLab takes the arrow keys for
  // itself, so they would not move a slider in a notebook's output.
  var steps = {ArrowRight: 1, ArrowUp: 1, PageUp: 1, ArrowLeft: -1, ArrowDown: -1, PageDown: -1};
  slider.addEventListener("keydown", function (event) {
    var last = data.labels.length - 1, to = null;
    if (Object.prototype.hasOwnProperty.call(steps, event.key)) {
      to = Number(slider.value) + steps[event.key];
    } else if (event.key === "Home") {
      to = 0;
    } else if (event.key === "End") {
      to = last;
    }
    if (to === null) return;
    event.preventDefault();
    event.stopPropagation();
    stop();
    show(Math.max(0, Math.min(last, to)));
  });
  if (!button) return;
  button.addEventListener("click", function () {
    if (timer !== null) { stop(); return; }
    var last = data.labels.length - 1;
    if (Number(slider.value) >= last) show(0);
    button.innerHTML = "&#10074;&#10074;";
    button.setAttribute("aria-label", "Pause");
    timer = setInterval(function () {
      var i = Number(slider.value) + 1;
      show(i);
      if (i >= last) stop();
    }, data.interval);
  });
})();"""
