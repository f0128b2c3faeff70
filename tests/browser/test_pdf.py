"""The PDFs of the whole book, read back as text with poppler's pdftotext: the English (`make
pdf`) and the Chinese edition's (`python _ext/zh_book.py pdf`).

Run after `make book` (which builds both) with `make test-browser`.
"""

from __future__ import annotations

import html
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PDF = ROOT / "_build" / "pdf" / "book.pdf"
ZH_PDF = ROOT / "_build" / "pdf" / "book.zh.pdf"
HTML = ROOT / "_build" / "html"
_CJK = re.compile(r"[\u3400-\u9fff]")


def _titles(toc: str = "_toc.yml") -> dict[str, str]:
    """The title (first heading) of every page in the table of contents, by page."""
    files = re.findall(r"file: (\S+)", (ROOT / toc).read_text(encoding="utf-8"))
    titles = {}
    for name in files:
        text = (ROOT / f"{name}.md").read_text(encoding="utf-8")
        titles[name] = re.search(r"^# (.+)$", text, re.M).group(1)  # type: ignore[union-attr]
    return titles


def _zh_titles() -> list[str]:
    """The Chinese title of every page of the Chinese edition, from its catalogue."""
    from babel.messages.pofile import read_po

    titles = []
    for name, english in _titles("_toc.zh.yml").items():
        with (ROOT / "locale" / "zh_CN" / "LC_MESSAGES" / f"{name}.po").open("rb") as f:
            titles.append({m.id: m.string for m in read_po(f)}[english])
    return titles


def _raw_tex(text: str) -> list[str]:
    # (not "\\[": the code of chapter 9 matches "\\[rank" in a regular expression)
    return re.findall(r".{0,30}(?:\\\(|\\frac|\$\$|\\begin\{).{0,30}", text)


def _pdftotext(pdf: Path, how: str) -> str:
    if not pdf.is_file():
        pytest.fail(f"no {pdf.relative_to(ROOT)}: run {how} (or `make book`) first")
    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext not found: install Debian's poppler-utils")
    return subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout


def _pages(pdf: Path) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True,
                          check=True).stdout
    pages = int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))  # type: ignore[union-attr]
    print(f"{pdf.name}: {pages} pages, {pdf.stat().st_size / 1e6:.1f} MB")
    return pages


@pytest.fixture(scope="module")
def text() -> str:
    return _pdftotext(PDF, "`make pdf`")


@pytest.fixture(scope="module")
def zh_text() -> str:
    return _pdftotext(ZH_PDF, "`python _ext/zh_book.py pdf`")


def _flat(s: str) -> str:
    s = s.replace("\u2019", "'").replace("\u2018", "'")
    return " ".join(re.sub(r"[`*]", "", s).split()).lower()


def test_the_pdf_has_the_pages_of_a_book() -> None:
    pages = _pages(PDF)
    assert pages >= 15 * len(_titles()) // 2, pages  # the chapters run to dozens of pages each


def test_every_chapter_title_is_in_the_pdf(text: str) -> None:
    flat = _flat(text)
    missing = [t for t in _titles().values()
               if _flat(re.sub(r"\{[^}]+\}`([^`]*)`", r"\1", t)) not in flat]
    assert missing == [], f"titles not found in the PDF: {missing}"


def test_no_formula_is_left_as_raw_tex(text: str) -> None:
    raw = _raw_tex(text)
    assert raw == [], f"raw TeX in the PDF: {raw[:5]}"


def test_the_solutions_and_the_claim_boxes_are_printed(text: str) -> None:
    flat = _flat(text)
    assert "the count depends on the order, but the theorem holds for every order" in flat
    assert flat.count("checked on this page") >= 10


def test_the_glossary_chinese_is_in_the_pdf(text: str) -> None:
    glossary = (ROOT / "reference" / "glossary.md").read_text(encoding="utf-8")
    names = set(re.findall(r"\*\*([^*]*[\u3400-\u9fff][^*]*)\*\*", glossary))
    assert len(names) >= 40, len(names)
    flat = text.replace("\n", "").replace(" ", "")
    missing = sorted(n for n in names if n.replace(" ", "") not in flat)
    assert missing == [], f"glossary terms whose Chinese is not in the PDF: {missing[:10]}"


def test_every_page_links_the_pdf_of_its_edition() -> None:
    assert (HTML / "book.pdf").is_file(), "make book copies the PDF beside index.html"
    assert (HTML / "zh" / "book.pdf").is_file(), "make book copies the Chinese PDF into zh/"
    pages = [p for p in HTML.rglob("*.html")
             if not any(part.startswith(("_", "mathjax")) for part in p.relative_to(HTML).parts)
             and p.name not in ("genindex.html", "search.html", "py-modindex.html")]
    assert any(p.relative_to(HTML).parts[0] == "zh" for p in pages)
    for page in pages:
        edition = HTML / "zh" if page.relative_to(HTML).parts[0] == "zh" else HTML
        hrefs = re.findall(r'href="([^"]*book\.pdf)"', page.read_text(encoding="utf-8"))
        assert hrefs, f"{page.relative_to(HTML)}: no link to the whole book's PDF"
        assert (page.parent / hrefs[0]).resolve() == (edition / "book.pdf").resolve(), hrefs


def test_the_chinese_pdf_has_every_page_of_the_chinese_edition(zh_text: str) -> None:
    titles = _zh_titles()
    assert len(titles) == len(_titles()), "every page is in the Chinese edition"
    assert _pages(ZH_PDF) >= 15 * len(titles) // 2
    flat = re.sub(r"\s+", "", zh_text).replace("`", "")
    missing = [t for t in titles if re.sub(r"\s+", "", t).replace("`", "") not in flat]
    assert missing == [], f"Chinese titles not found in the Chinese PDF: {missing}"
    # mostly Chinese: the prose is translated, code and output are not
    assert len(_CJK.findall(zh_text)) > 0.3 * len(re.findall(r"[A-Za-z]", zh_text))


def test_the_chinese_pdf_has_no_raw_tex_and_prints_the_solutions(zh_text: str) -> None:
    raw = _raw_tex(zh_text)
    assert raw == [], f"raw TeX in the Chinese PDF: {raw[:5]}"
    assert zh_text.count("本页检验过的论断") >= 10  # the claim boxes, printed open


def test_every_explorable_prints_its_default_frame_and_label(text: str) -> None:
    # The PDF is printed from the single-page build; print.css hides the sliders.
    single = (ROOT / "_build" / "singlehtml" / "index.html").read_text(encoding="utf-8")
    labels = re.findall(r'<output class="explorable-label"[^>]*>(.*?)</output>', single, re.S)
    assert len(labels) >= 9, f"{len(labels)} explorables in the single-page build"
    flat = _flat(text)
    missing = [label for label in labels if _flat(html.unescape(label)) not in flat]
    assert missing == [], f"explorables whose label is not printed: {missing}"
    images = subprocess.run(["pdfimages", "-list", str(PDF)], capture_output=True, text=True,
                            check=True).stdout.splitlines()[2:]
    assert len(images) >= len(labels), f"{len(images)} images in the PDF"
