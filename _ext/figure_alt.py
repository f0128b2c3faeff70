"""Alt text for the figures the chapters' code draws: the caption, not a file name.

myst-nb gives an output image no alt text, so the HTML writer falls back to its file name, a
hash that a screen reader reads out and that a reader sees when the image cannot load. Here a
figure's image takes its caption's text as alt text (in the Chinese edition the caption is
already translated when this runs, so its alt text is Chinese too); an image with no caption
says what it is, a figure drawn by the code above it. Images that have an alt text keep it.
"""

from __future__ import annotations

from typing import Any

from docutils import nodes
from sphinx.application import Sphinx

UNCAPTIONED = {"en": "A figure drawn by the code above", "zh": "上面的代码画出的图"}


def _alt_texts(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    language = "zh" if str(app.config.language or "en").startswith("zh") else "en"
    for image in doctree.findall(nodes.image):
        if image.get("alt"):
            continue
        figure = image.parent
        while figure is not None and not isinstance(figure, nodes.figure):
            figure = figure.parent
        captions = list(figure.findall(nodes.caption)) if figure is not None else []
        text = " ".join(captions[0].astext().split()) if captions else ""
        image["alt"] = text or UNCAPTIONED[language]


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("doctree-resolved", _alt_texts)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
