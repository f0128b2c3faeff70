# ruff: noqa: RUF001  (the Chinese edition's words use Chinese punctuation)
"""The ``{claim}`KEY``` role: a small ✓ after a sentence, linking to the claim that backs it.

Each chapter ends with the box that :func:`d2lmini.claims.report` draws, "Checked on this page",
in which every claim is ``<li class="claim" id="claim-KEY">``. A sentence in the prose that such a
claim backs ends with ``{claim}`KEY```; in the book this renders as a ✓ linking to that line, with
a tooltip. The link is checked when the page is built: a key that no claim on the page carries
(a typo, or a claim renamed or dropped) is a warning, so the ``-W`` build fails rather than
shipping a mark that backs nothing.

``_static/claims.js`` opens the collapsed box when a ✓ is followed.

In the Chinese edition the box's own words (its title, the note under it, "expected", the heading
of the times measured) are given in Chinese: the run is the English edition's, so
:func:`d2lmini.claims.report` wrote them in English. The claims themselves stay as the code wrote
them, like every printed output.
"""

from __future__ import annotations

import re
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)

_KEY = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_CLAIM_ID = re.compile(r'<li class="claim" id="claim-([a-z0-9-]+)"')
_BOX_TITLE = re.compile(r"<summary>Checked on this page \((\d+)(?:, (\d+) failed)?\)</summary>")
_EXPECTED = re.compile(r'<span class="claim-condition">\(expected (.*?)\)</span>')
#: The box's fixed English, as d2lmini.claims writes it, and its Chinese.
_BOX_ZH = {
    "<p>Each line is a claim of this page, the value this run measured, and the condition it was "
    "checked against; a claim that fails stops the notebook with an error that names it (on a "
    "GPU, which computes slightly differently, a failing claim about a result of training or a "
    "pinned exact output is marked ✗ here instead, and the notebook goes on). A ✓ in the "
    "text links to its line here.</p>":
    "<p>每一行是本页的一个论断（按代码中的原文列出）、这次运行测得的值，以及检验它的条件；"
    "论断一旦不成立，笔记本就会停下，报出点名该论断的错误（GPU 的计算结果与 CPU 略有不同：在 GPU "
    "上，关于训练结果或要求逐位一致的输出的论断若不成立，则改为在这里标上 ✗，笔记本继续运行）。"
    "正文中的 ✓ 链接到这里对应的一行。</p>",
    '<span class="claim-note">(not on this device: a GPU trains a slightly different model '
    "than the book's CPU)</span>":
    '<span class="claim-note">（本设备上不成立：'
    "GPU 训练出的模型与本书在 CPU 上训练出的略有不同）</span>",
    "<p>Measured here, not checked (times depend on the machine):</p>":
    "<p>在此测得，不作检验（时间取决于机器）：</p>",
}


class claim_mark(nodes.Inline, nodes.TextElement):  # noqa: N801 (docutils names nodes so)
    """A ✓ linking to ``#claim-KEY``; ``key`` is the attribute."""


def _role(name: str, rawtext: str, text: str, lineno: int, inliner: Any,
          options: dict[str, Any] | None = None,
          content: list[str] | None = None) -> tuple[list[nodes.Node], list[nodes.system_message]]:
    key = text.strip()
    if not _KEY.match(key):
        message = inliner.reporter.error(
            f"{{claim}}`{key}`: a claim key is lower-case words joined by '-', as given to "
            "d2lmini.claims.check(key=...)", line=lineno)
        return [inliner.problematic(rawtext, rawtext, message)], [message]
    node = claim_mark(rawtext, "✓", key=key)
    node.line = lineno
    return [node], []


def _visit_html(self: Any, node: claim_mark) -> None:
    if str(self.config.language or "en").startswith("zh"):  # the Chinese edition
        title = "构建本页时已检验（见页末“本页检验过的论断”框中的对应一行）"
    else:
        title = ("Checked when this page was built: see its line in &quot;Checked on this "
                 "page&quot; at the end")
    self.body.append(f'<a class="claim-ref" href="#claim-{node["key"]}" title="{title}">')


def _depart_html(self: Any, node: claim_mark) -> None:
    self.body.append("</a>")


def _visit_text(self: Any, node: claim_mark) -> None:
    raise nodes.SkipNode  # other builders (text, gettext, LaTeX): the mark is decoration


def _check_keys(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    if app.builder.name == "gettext":
        return  # the catalogues' extraction executes nothing: there is no report to link to
    marks = list(doctree.findall(claim_mark))
    if not marks:
        return
    ids = set()
    for raw in doctree.findall(nodes.raw):
        ids.update(_CLAIM_ID.findall(raw.astext()))
    for mark in marks:
        if mark["key"] not in ids:
            logger.warning(
                f"{{claim}}`{mark['key']}` links to no claim on this page (its claims: "
                f"{', '.join(sorted(ids)) or 'none: does the page end with report()?'})",
                location=mark,
            )


def box_in_chinese(html: str) -> str:
    """The words of a "Checked on this page" box in Chinese; any other HTML unchanged."""
    if 'class="checked-claims"' not in html:
        return html
    html = _BOX_TITLE.sub(
        lambda m: f"<summary>本页检验过的论断（{m[1]}"
        + (f"，{m[2]} 个未通过" if m[2] else "") + "）</summary>", html)
    html = _EXPECTED.sub(lambda m: f'<span class="claim-condition">（要求：{m[1]}）</span>', html)
    for english, chinese in _BOX_ZH.items():
        html = html.replace(english, chinese)
    return html


def _translate_box(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    if not str(app.config.language or "en").startswith("zh"):
        return
    for raw in list(doctree.findall(nodes.raw)):
        text = raw.astext()
        chinese = box_in_chinese(text)
        if chinese != text:
            raw.replace_self(nodes.raw("", chinese, format=raw.get("format", "html")))


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_node(claim_mark, html=(_visit_html, _depart_html),
                 latex=(_visit_text, None), text=(_visit_text, None),
                 man=(_visit_text, None), texinfo=(_visit_text, None))
    app.add_role("claim", _role)
    app.connect("doctree-resolved", _check_keys)
    app.connect("doctree-resolved", _translate_box)
    app.add_css_file("claims.css")
    app.add_js_file("claims.js")
    return {"parallel_read_safe": True, "parallel_write_safe": True}
