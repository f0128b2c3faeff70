"""Point each page's Colab button at a generated ``.ipynb`` instead of the ``.md`` source.

Colab opens only ``.ipynb`` files, but the chapters are MyST Markdown. ``make notebooks`` writes
``.ipynb`` copies, which a release pushes to the branch named by ``colab_notebooks_branch``
(README, "Releasing the notebooks"); this extension rewrites the Colab link of every chapter to the
copy on that branch. Binder keeps the ``.md`` source, which it opens through jupytext.
"""

from __future__ import annotations

import re
from typing import Any

from sphinx.application import Sphinx

_BLOB = re.compile(r"/blob/[^/]+/(?P<path>.+)\.md$")


def _rewrite(app: Sphinx, pagename: str, templatename: str, context: dict[str, Any],
             doctree: object) -> None:
    branch = app.config.colab_notebooks_branch
    for group in context.get("header_buttons", []):
        if group.get("label") != "launch-buttons":
            continue
        for button in group.get("buttons", []):
            if button.get("text") == "Colab":
                button["url"] = _BLOB.sub(rf"/blob/{branch}/\g<path>.ipynb", button["url"])


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_config_value("colab_notebooks_branch", "notebooks", "html")
    # sphinx-book-theme adds the launch buttons at priority 501; run after it.
    app.connect("html-page-context", _rewrite, priority=600)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
