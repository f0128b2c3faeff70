"""d2lmini.explore: one output with every frame, a slider, labels, a budget; offline."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest
from matplotlib.figure import Figure

from d2lmini.explore import MAX_BYTES, Explorable, ExplorableTooLargeError, explorable

PNG = b"\x89PNG\r\n\x1a\n"


def _line(fig: Figure, slope: float) -> str:
    ax = fig.subplots()
    ax.plot([0, 1], [0, slope])
    ax.set_ylim(0, 3)
    return f"slope {slope:.1f}: end at {slope:.1f}"


def _data(view: Explorable) -> dict[str, object]:
    match = re.search(r'<script type="application/json" class="explorable-data">(.*?)</script>',
                      view.html, re.S)
    assert match is not None
    return json.loads(match.group(1))  # type: ignore[no-any-return]


def test_one_frame_and_one_label_per_value_in_order() -> None:
    view = explorable(_line, [0.5, 1.0, 2.0], name="slope", default=1)
    assert view.labels == ["slope 0.5: end at 0.5", "slope 1.0: end at 1.0",
                           "slope 2.0: end at 2.0"]
    assert len(view.frames) == 3 and all(f.startswith(PNG) for f in view.frames)
    assert len(set(view.frames)) == 3  # each value drew its own picture
    assert (view.width, view.height) == (350, 250)


def test_the_default_frame_is_the_image_shown_without_scripts() -> None:
    view = explorable(_line, [0.5, 1.0, 2.0], name="slope", default=2)
    shown = base64.b64encode(view.frames[2]).decode()
    assert f'src="data:image/png;base64,{shown}"' in view.html
    assert ">slope 2.0: end at 2.0</output>" in view.html
    assert 'value="2"' in view.html and 'max="2"' in view.html
    # the other frames travel as data, the shown one only once
    frames = _data(view)["frames"]
    assert frames == [base64.b64encode(view.frames[0]).decode(),
                      base64.b64encode(view.frames[1]).decode(), None]
    assert view.html.count(shown) == 1


def test_the_output_offers_html_and_the_default_frame_as_png() -> None:
    view = explorable(_line, [0.5, 1.0], name="slope", default=1)
    bundle = view._repr_mimebundle_()
    assert bundle["text/html"] == view.html
    assert base64.b64decode(bundle["image/png"]) == view.frames[1]
    assert "2 frames" in bundle["text/plain"] and "slope 1.0" in bundle["text/plain"]


def test_it_loads_nothing_from_the_network() -> None:
    view = explorable(_line, [0.5, 1.0], name="slope", play=True)
    assert "http:" not in view.html and "https:" not in view.html and "//cdn" not in view.html
    assert "<link" not in view.html and " src=\"data:image/png;base64," in view.html
    assert re.findall(r"<script(?![^>]*application/json)[^>]*\bsrc=", view.html) == []


def test_a_play_button_only_where_asked() -> None:
    assert 'class="explorable-play"' not in explorable(_line, [1.0, 2.0], name="slope").html
    view = explorable(_line, [1.0, 2.0], name="step", play=True, interval_ms=120)
    assert 'class="explorable-play" aria-label="Play"' in view.html
    assert _data(view)["interval"] == 120


def test_labels_and_names_are_escaped_and_cannot_end_the_script() -> None:
    def draw(fig: Figure, value: int) -> str:
        fig.subplots().plot([0, value])
        return f"<b>{value}</b> & </script><script>alert(1)</script>"

    view = explorable(draw, [1, 2], name='a "quoted" <name>')
    assert "<b>" not in view.html.split("<script")[0]
    assert 'aria-label="a &quot;quoted&quot; &lt;name&gt;"' in view.html
    assert view.html.count("</script>") == 2  # the data's and the code's, nothing injected
    assert _data(view)["labels"][1] == "<b>2</b> & </script><script>alert(1)</script>"


def test_the_same_frames_give_the_same_output() -> None:
    first = explorable(_line, [0.5, 1.0], name="slope").html
    again = explorable(_line, [0.5, 1.0], name="slope").html
    assert first == again
    other = explorable(_line, [0.5, 1.5], name="slope").html
    assert re.search(r'id="(explorable-\w+)"', first).group(1) != re.search(  # type: ignore[union-attr]
        r'id="(explorable-\w+)"', other).group(1)  # type: ignore[union-attr]


def test_over_budget_raises_and_says_how_to_shrink() -> None:
    with pytest.raises(ExplorableTooLargeError, match=r"over its budget of 10 kB.*fewer values.*"
                                                  r"smaller figsize.*lower dpi") as error:
        explorable(_line, [0.5, 1.0, 1.5, 2.0], name="slope", max_bytes=10_000)
    assert "'slope'" in str(error.value) and "4 frames" in str(error.value)
    assert isinstance(error.value, ValueError)
    assert MAX_BYTES == 1_000_000


def test_bad_input_is_refused_clearly() -> None:
    with pytest.raises(ValueError, match="no values"):
        explorable(_line, [], name="slope")
    with pytest.raises(ValueError, match=r"default=3 is not an index.*0 to 1"):
        explorable(_line, [0.5, 1.0], name="slope", default=3)

    def unlabelled(fig: Figure, value: float) -> str:
        fig.subplots().plot([0, value])
        return None  # type: ignore[return-value]

    with pytest.raises(TypeError, match="returned NoneType, not the frame's label"):
        explorable(unlabelled, [1.0], name="slope")


def test_save_writes_a_whole_page_and_nothing_half_written(tmp_path: Path) -> None:
    view = explorable(_line, [0.5, 1.0], name="slope")
    page = view.save(tmp_path / "slope.html")
    text = page.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and view.html in text
    assert [p.name for p in tmp_path.iterdir()] == ["slope.html"]


def test_frames_are_stored_with_a_small_palette_unless_asked_not_to() -> None:
    import io

    from PIL import Image

    small = explorable(_line, [1.0], name="slope")
    full = explorable(_line, [1.0], name="slope", colors=None)
    assert Image.open(io.BytesIO(small.frames[0])).mode == "P"
    assert len(Image.open(io.BytesIO(small.frames[0])).getcolors() or []) <= 64
    assert Image.open(io.BytesIO(full.frames[0])).mode == "RGBA"
    assert len(small.frames[0]) < len(full.frames[0])
