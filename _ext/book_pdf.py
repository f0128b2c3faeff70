"""The whole book as one PDF, printed by Chromium from the single-page build, and linked from every
page.

As a Sphinx extension, this adds "Whole book (.pdf)" to every page's download menu, pointing at
``book.pdf`` beside ``index.html``, and the print stylesheet ``_static/print.css``. As a script::

    python _ext/book_pdf.py _build/singlehtml _build/pdf/book.pdf

it serves the single-page build on 127.0.0.1, opens it in Debian's Chromium through Playwright,
opens every solution and the "Checked on this page" boxes, waits until MathJax has typeset every
formula (and fails if one is left as TeX), and prints it with page numbers. The PDF is written to
a temporary name and moved into place, so a failed print never leaves half a PDF.
"""

from __future__ import annotations

import functools
import http.server
import os
import sys
import threading
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
PDF_NAME = "book.pdf"

_PREPARE = """() => {
  document.querySelectorAll('details.sd-dropdown, details.checked-claims')
    .forEach(d => { d.open = true; });
  return MathJax.startup.promise.then(() => MathJax.typesetPromise ? MathJax.typesetPromise() : 0);
}"""
_RAW_TEX = """() => [...document.querySelectorAll('.math')]
  .filter(e => !e.querySelector('mjx-container')).map(e => e.textContent.slice(0, 60))"""
_FOOTER = ('<div style="font-size: 8px; width: 100%; text-align: center; color: #666;">'
           '<span class="pageNumber"></span> / <span class="totalPages"></span></div>')


def _add_pdf_button(app: Any, pagename: str, templatename: str, context: dict[str, Any],
                    doctree: object) -> None:
    for group in context.get("header_buttons", []):
        if group.get("label") == "download-buttons":
            group["buttons"].append({
                "type": "link",
                "url": context["pathto"](PDF_NAME, 1),
                "text": "Whole book (.pdf)",
                "tooltip": "Download the whole book as one PDF",
                "icon": "fas fa-book",
                "label": "download-book-pdf-button",
            })


def _no_search_index(app: Any) -> None:
    """The single page is printed, never searched: no search index (for the Chinese edition,
    segmenting its words took 24 s of a 50 s build)."""
    if app.builder.name == "singlehtml":
        app.builder.search = False


def setup(app: Any) -> dict[str, Any]:
    app.connect("builder-inited", _no_search_index)
    app.add_css_file("print.css", media="print")
    # sphinx-book-theme adds the download buttons at priority 501; run after it.
    app.connect("html-page-context", _add_pdf_button, priority=600)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def print_book(site: Path, output: Path) -> int:
    """Print ``site/index.html`` (a single-page build) to ``output``; return its size in bytes."""
    from playwright.sync_api import sync_playwright

    if not (site / "index.html").is_file():
        raise SystemExit(f"no single-page build at {site}: run `make pdf`, which builds it first")
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"{CHROMIUM} not found: install Debian's chromium (apt-get install "
                         "chromium fonts-noto-cjk); the project never downloads a browser")
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_suffix(".pdf.part")
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM,
                                        args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page()
            page.emulate_media(media="print")
            page.goto(f"http://127.0.0.1:{server.server_address[1]}/index.html",
                      wait_until="networkidle", timeout=120_000)
            page.wait_for_function("window.MathJax && MathJax.startup && MathJax.startup.promise",
                                   timeout=60_000)
            page.evaluate(_PREPARE)
            raw = page.evaluate(_RAW_TEX)
            if raw:
                raise SystemExit(f"{len(raw)} formulas were not typeset, e.g. {raw[:3]}")
            page.pdf(path=str(partial), format="A4", print_background=True,
                     display_header_footer=True, header_template="<span></span>",
                     footer_template=_FOOTER,
                     margin={"top": "18mm", "bottom": "18mm", "left": "16mm", "right": "16mm"})
            browser.close()
        os.replace(partial, output)
    finally:
        partial.unlink(missing_ok=True)
        server.shutdown()
        server.server_close()
    return output.stat().st_size


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit("usage: python _ext/book_pdf.py SINGLEHTML_DIR OUTPUT.pdf")
    size = print_book(Path(sys.argv[1]), Path(sys.argv[2]))
    print(f"{sys.argv[2]}: {size / 1e6:.1f} MB")
