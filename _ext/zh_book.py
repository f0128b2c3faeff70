"""The Chinese edition (中文版): built from the English sources and the gettext catalogues.

::

    python _ext/zh_book.py html [-D name=value ...]  # _build/html/zh, after the English build
    python _ext/zh_book.py pdf [-D ...]              # _build/pdf/book.zh.pdf, after `html`
    python _ext/zh_book.py extract DIR [-D ...]      # the pages' .pot templates, into DIR
    python _ext/zh_book.py check                     # fail if locale/ is stale against the sources

``jupyter-book build`` cannot set the language (jupyter-book #1791), so this calls the function it
calls, ``jupyter_book.sphinx.build_sphinx``, with the same configuration (``_config.yml``) and the
same strictness (``-W -n --keep-going``), plus the Chinese edition's overrides (:func:`overrides`):
``language: zh_CN``, the translations in ``locale/zh_CN/LC_MESSAGES/<page>.po`` (one catalogue per
page: ``gettext_compact`` off), and the Chinese table of contents, ``_toc.zh.yml``, which lists the
pages translated so far; only those are built.

The Chinese pages render the same execution as the English ones. Translation replaces the text
of the doctree after myst-nb has read the page; myst-nb reads the same ``.md`` file and keys the
execution cache by its code cells, which gettext never touches, so both editions find the run that
``make test`` stored (``_ext/execution_cache.py``), and the execution stamp, a hash of ``d2lmini``,
the pins and the Python, is the same too.

The build writes to ``_build/zh/html`` (myst-nb puts its executed notebooks beside the output
folder, ``_build/zh/jupyter_execute``, not inside the English site) and then moves the result to
``_build/html/zh``. The Chinese pages use the English edition's MathJax (``_build/html/mathjax``)
and link to its pages, its glossary and its ``objects.inv``, so the English is built first.

``pdf`` prints the Chinese edition as one PDF, as ``make pdf`` prints the English: a single-page
build (``_build/zh/singlehtml``, from the doctrees the HTML build left, so nothing is read again)
printed by Chromium (``_ext/book_pdf.py``). ``make book`` copies it to ``_build/html/zh/book.pdf``,
which the Chinese pages' "全书 PDF" button links.

``extract`` writes the ``.pot`` templates that ``sphinx-intl update`` merges into the catalogues
(``make locale``), without executing anything: code cells and their outputs are never extracted.
``check`` extracts them again into a temporary folder and compares their messages with the
committed catalogues, so that an English paragraph changed without ``make locale`` fails CI.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "_build"
LOCALE = ROOT / "locale"
LANGUAGE = "zh_CN"
CATALOGUES = LOCALE / LANGUAGE / "LC_MESSAGES"
OUT = BUILD / "zh"  # the Sphinx build's own folder
PDF = BUILD / "pdf" / "book.zh.pdf"
PUBLISHED = BUILD / "html" / "zh"  # where the Chinese edition is served, inside the English one


def overrides(builder: str) -> dict[str, Any]:
    """The Chinese edition's settings on top of ``_config.yml``."""
    common: dict[str, Any] = {
        "project": "Deep Learning, Runnable",
        "external_toc_path": (ROOT / "_toc.zh.yml").as_posix(),
        "latex_individualpages": False,
        "nitpicky": True,
        "gettext_compact": False,  # one catalogue per page: chapters/mlp.po, ...
        "gettext_location": False,  # no line numbers in the catalogues: no churn when lines move
        "gettext_uuid": False,
        "html_extra_path": [],  # MathJax: the English edition's copy (mathjax_path below)
    }
    if builder == "gettext":
        # Nothing executes, so no output can be extracted (bilingual.py extracts the captions).
        # Links are not resolved against the pages outside the Chinese table of contents here:
        # the HTML build resolves them, and fails on a broken one.
        return {**common, "nb_execution_mode": "off", "suppress_warnings": ["ref"]}
    english = BUILD / "html" / "objects.inv"
    return {
        **common,
        "language": LANGUAGE,
        "locale_dirs": [LOCALE.as_posix()],
        "html_title": "可运行的深度学习",
        "html_theme_options": {"search_bar_text": "搜索本书……"},
        # the button of a cell whose code is hidden (the chapters hide only code, never outputs)
        "nb_code_prompt_show": "显示代码",
        "nb_code_prompt_hide": "隐藏代码",
        "mathjax_path": "../../mathjax/tex-chtml.js",
        # pages not translated yet: the English edition's (bilingual.py loads intersphinx)
        "intersphinx_mapping": {"en": ("../", english.as_posix())},
        "intersphinx_disabled_reftypes": [],
        "intersphinx_timeout": 5,
    }


def build(builder: str, outdir: Path, extra: dict[str, Any], doctrees: str | None = None) -> int:
    """Build the Chinese table of contents' pages with ``builder``; return Sphinx's status.
    ``doctrees``: the builder whose doctrees to use (by default ``builder``'s own)."""
    from jupyter_book.sphinx import build_sphinx

    os.chdir(ROOT)  # as `jupyter-book build .`: _config.yml's paths are relative to the book
    result = build_sphinx(
        ROOT, outdir, use_external_toc=True, noconfig=True, path_config=str(ROOT / "_config.yml"),
        confoverrides={**overrides(builder), **extra}, builder=builder,
        doctreedir=str(outdir.parent / f".doctrees-{doctrees or builder}"),
        warningiserror=True, keep_going=True,
    )
    return 1 if isinstance(result, Exception) else int(result or 0)


def search_words(path: Path) -> Path:
    """Write the glossary's Chinese terms as a word list for jieba, which Sphinx's Chinese search
    index segments the text with: Chinese has no spaces, and without these words jieba would cut
    反向传播 into 反向 and 传播, so that a search for the term found nothing."""
    from glossary_chinese import read_glossary

    names = sorted({name for term in read_glossary().values() for name in term.names
                    if re.fullmatch(r"[\u3400-\u9fff]{2,}", name)})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{name}\n" for name in names), encoding="utf-8")
    return path


def html(extra: dict[str, Any]) -> int:
    if not (BUILD / "html" / "objects.inv").is_file():
        raise SystemExit("build the English edition first (make book does)")
    shutil.rmtree(OUT, ignore_errors=True)
    words = search_words(OUT / "search_words.txt")
    status = build("html", OUT / "html", {"html_search_options": {"dict": str(words)}, **extra})
    if status == 0:
        shutil.rmtree(PUBLISHED, ignore_errors=True)
        shutil.move(OUT / "html", PUBLISHED)
        print(f"the Chinese edition: {PUBLISHED.relative_to(ROOT)}/index.html")
    return status


def pdf(extra: dict[str, Any]) -> int:
    """The Chinese edition as one PDF: the single-page build, printed by Chromium."""
    from book_pdf import print_book

    if not (OUT / ".doctrees-html" / "environment.pickle").is_file():
        raise SystemExit("build the Chinese edition first: python _ext/zh_book.py html "
                         "(make book does both)")
    single = OUT / "singlehtml"
    shutil.rmtree(single, ignore_errors=True)
    # A page of its own, not inside the English site: MathJax from _build/extra, as the English
    # single page has it. Only settings that need no re-reading differ from the HTML build's.
    status = build("singlehtml", single, {"html_extra_path": ["_build/extra"],
                                          "mathjax_path": "../mathjax/tex-chtml.js", **extra},
                   doctrees="html")
    if status == 0:
        size = print_book(single, PDF)
        print(f"the Chinese edition's PDF: {PDF.relative_to(ROOT)}, {size / 1e6:.1f} MB")
    return status


def messages(path: Path) -> set[str]:
    """The msgids of a ``.pot`` or ``.po`` file, obsolete ones left out."""
    from babel.messages.pofile import read_po

    with path.open("rb") as f:
        catalog = read_po(f)
    return {m.id for m in catalog if m.id and isinstance(m.id, str)}


def stale_messages(pot_dir: Path, catalogues: Path = CATALOGUES) -> list[str]:
    """How the catalogues differ from the templates extracted into ``pot_dir``: one line each."""
    stale = []
    for pot in sorted(pot_dir.rglob("*.pot")):
        page = pot.relative_to(pot_dir).with_suffix("").as_posix()
        po = catalogues / f"{page}.po"
        if not po.is_file():
            stale.append(f"{page}: no catalogue {po}")
            continue
        source, catalogue = messages(pot), messages(po)
        for msgid in sorted(source - catalogue):
            stale.append(f"{page}: a message of the sources is not in the catalogue: "
                         f"{msgid[:100]!r}")
        for msgid in sorted(catalogue - source):
            stale.append(f"{page}: a message of the catalogue is no longer in the sources: "
                         f"{msgid[:100]!r}")
    return stale


def check(extra: dict[str, Any]) -> int:
    """Fail, saying what to do, if the committed catalogues differ from the sources' messages."""
    with tempfile.TemporaryDirectory() as tmp:
        pot_dir = Path(tmp) / "gettext"
        if build("gettext", pot_dir, extra) != 0:
            return 1
        stale = stale_messages(pot_dir)
    if stale:
        print("The Chinese catalogues (locale/) are stale: the English changed since the last "
              "`make locale`.\n  " + "\n  ".join(stale) + "\nRun `make locale`, translate the "
              "new and fuzzy messages in the .po files it names, and commit them.",
              file=sys.stderr)
        return 1
    print("the Chinese catalogues match the sources")
    return 0


def _definitions(pairs: list[str]) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    for pair in pairs:
        name, _, value = pair.partition("=")
        extra[name] = value
    return extra


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["html", "pdf", "extract", "check"])
    parser.add_argument("outdir", nargs="?", help="extract: the folder for the .pot files")
    parser.add_argument("-D", dest="define", action="append", default=[],
                        metavar="NAME=VALUE", help="override a setting, e.g. nb_execution_mode=off")
    args = parser.parse_args(argv)
    extra = _definitions(args.define)
    if args.command == "html":
        return html(extra)
    if args.command == "pdf":
        return pdf(extra)
    if args.command == "extract":
        if not args.outdir:
            parser.error("extract needs the output folder")
        outdir = Path(args.outdir).resolve()
        shutil.rmtree(outdir, ignore_errors=True)
        return build("gettext", outdir, extra)
    return check(extra)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "_ext"))
    raise SystemExit(main(sys.argv[1:]))
