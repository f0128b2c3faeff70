"""One book in two editions: the English at ``_build/html/``, the Chinese at ``_build/html/zh/``.

Loaded by both builds (``_ext/zh_book.py`` builds the Chinese one with ``language: zh_CN``):

- every page of the HTML book opens with a link to its counterpart in the other edition: an English
  page whose translation is in the Chinese table of contents (``_toc.zh.yml``) links "中文", and
  every Chinese page links "English";
- in the Chinese edition, a reference to a page that is not translated yet (none today; a new
  page before its catalogue is translated) resolves to the English page, through intersphinx and
  the English build's ``objects.inv``; the "Whole book (.pdf)" button, 全书 PDF, gets the
  Chinese PDF (``zh/book.pdf``, printed by ``_ext/zh_book.py pdf``);
- in the gettext build that extracts the catalogues (``make locale``), a figure's caption, which
  myst-nb keeps in a code cell's metadata and renders only around the cell's output, is extracted
  although no notebook executes there, so that captions are translated like the prose;
- text that comes from a Python docstring (the API reference's ``automodule``) is not extracted:
  docstrings are part of the code, which both editions show unchanged. The page's own prose around
  them is translated. In HTML such text carries the class ``docstring``.
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

from docutils import nodes

ZH_DIR = "zh"  # the Chinese edition's folder inside the English one
ZH_TOC = "_toc.zh.yml"


def is_chinese(app: Any) -> bool:
    return str(app.config.language or "en").startswith("zh")


def translated_pages(root: Path) -> list[str]:
    """The docnames in the Chinese table of contents, the root first (none without one)."""
    if not (root / ZH_TOC).is_file():
        return []
    text = (root / ZH_TOC).read_text(encoding="utf-8")
    root_doc = re.search(r"^root:\s*(\S+)", text, re.M)
    files = re.findall(r"^\s*-?\s*file:\s*(\S+)", text, re.M)
    return ([root_doc.group(1)] if root_doc else []) + files


def _counterpart(app: Any, pagename: str) -> tuple[str, str, str] | None:
    """(href, hreflang, text) of the page's counterpart in the other edition, or None."""
    if pagename not in app.env.found_docs:
        return None  # genindex, search: no counterpart worth a link
    up = "../" * pagename.count("/")
    if is_chinese(app):
        return f"../{up}{pagename}.html", "en", "English"
    if pagename in app.env.d2lmini_translated:
        return f"{up}{ZH_DIR}/{pagename}.html", "zh-Hans", "中文"
    return None


def _edition_link(app: Any, pagename: str, templatename: str, context: dict[str, Any],
                  doctree: object) -> None:
    if app.builder.name != "html":
        return  # the PDF's single page, the gettext catalogues: no other edition to link
    target = _counterpart(app, pagename)
    if target is not None:
        href, lang, text = (html.escape(s) for s in target)
        title = "Read this page in Chinese" if lang != "en" else "阅读本页的英文原文"
        context["body"] = (
            f'<p class="edition-link"><a href="{href}" hreflang="{lang}" lang="{lang}" '
            f'title="{title}">{text}</a></p>\n' + context.get("body", "")
        )
        context["metatags"] = context.get("metatags", "") + (
            f'\n<link rel="alternate" hreflang="{lang}" href="{href}" />'
        )
    if is_chinese(app):
        for group in context.get("header_buttons", []):
            for button in group.get("buttons", []):
                if button.get("label") == "download-book-pdf-button":  # zh/book.pdf
                    button["text"] = "全书 PDF"
                    button["tooltip"] = "下载整本书的中文版 PDF"


def _captions_for_gettext(app: Any, doctree: nodes.document) -> None:
    """In the gettext build, give each code cell's figure caption a node to extract."""
    if app.builder.name != "gettext":
        return
    for cell in doctree.findall(nodes.container):
        if cell.get("nb_element") != "cell_code":
            continue
        figure = (cell.get("cell_metadata") or {}).get("mystnb", {}).get("figure", {})
        caption = figure.get("caption") if isinstance(figure, dict) else None
        if not caption or any(isinstance(n, nodes.caption) for n in cell.findall(nodes.caption)):
            continue
        # myst-nb renders the caption as a paragraph and keeps its source (lines stripped) as the
        # caption's rawsource, which is what gettext extracts from the real build
        source = "\n".join(line.strip() for line in str(caption).strip().splitlines())
        node = nodes.caption(source, source)
        node.source, node.line = doctree["source"], cell.line
        cell += nodes.figure("", node)


def _docstrings_stay_english(app: Any, doctree: nodes.document) -> None:
    """Mark the text autodoc read from docstrings (its source is "[<file>:]docstring of <name>")
    and everything inside a described object (a function's signature and fields; Sphinx itself
    translates labels such as "Parameters") as not translatable, so that the gettext builder
    leaves it out of the catalogues."""
    from sphinx import addnodes

    for desc in doctree.findall(addnodes.desc):
        for node in desc.findall(nodes.TextElement):
            node["translatable"] = False
    for node in doctree.findall(nodes.TextElement):
        if "docstring of " in str(node.source or ""):
            node["translatable"] = False
            # the class on the lists around it too: a compact list's item shows no <p>
            element: nodes.Element | None = node
            while element is not None and not isinstance(element, (nodes.section, nodes.document)):
                if "docstring" not in element["classes"]:
                    element["classes"].append("docstring")
                element = element.parent


def _chinese_search() -> type:
    """Sphinx 7.4's Chinese search language, with the Latin words it has seen in a set: Sphinx
    keeps them in a list that grows with every page, duplicates and all, and looks every word
    up in it, which took 16 s of the Chinese edition's build. The index it writes is the same."""
    from sphinx.search import zh

    class Words(set[str]):
        extend = set.update  # what SearchChinese.split calls on its list

    class ChineseSearch(zh.SearchChinese):  # type: ignore[misc]
        def init(self, options: dict[str, str]) -> None:
            super().init(options)
            self.latin_terms = Words()

    return ChineseSearch


def _builder_inited(app: Any) -> None:
    app.env.d2lmini_translated = set(translated_pages(Path(app.srcdir)))


def setup(app: Any) -> dict[str, Any]:
    if is_chinese(app):
        app.setup_extension("sphinx.ext.intersphinx")
        app.add_search_language(_chinese_search())
    app.connect("builder-inited", _builder_inited)
    # after sphinx-book-theme (501) and book_pdf (600) have added their buttons
    app.connect("html-page-context", _edition_link, priority=700)
    app.connect("doctree-read", _captions_for_gettext)
    app.connect("doctree-read", _docstrings_stay_english)
    app.add_css_file("edition.css")
    return {"parallel_read_safe": True, "parallel_write_safe": True}
