"""The built book, opened page by page in a real browser (Debian's Chromium, driven by Playwright).

Run after `make book` with `make test-browser`. The book is served from 127.0.0.1; any request that
leaves this machine fails the test, because a reader offline (and this CI) would see a broken page.
A screenshot of each chapter page goes to `_build/screenshots/` for people to look at.
"""

from __future__ import annotations

import functools
import html
import http.server
import json
import re
import sys
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin, urlparse

import pytest
from playwright.sync_api import Browser, Locator, Page, Route, sync_playwright

ROOT = Path(__file__).resolve().parents[2]
HTML = ROOT / "_build" / "html"
SHOTS = ROOT / "_build" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
ZH = "zh"  # the Chinese edition's folder (_ext/zh_book.py)


def _pages(root: Path) -> list[str]:
    return sorted(
        p.relative_to(root).as_posix()
        for p in root.rglob("*.html")
        if not p.relative_to(root).parts[0].startswith(("_", "mathjax", ZH))
        and p.name not in ("genindex.html", "search.html", "py-modindex.html")
    )


PAGES = _pages(HTML)  # the English edition
CHAPTERS = [p for p in PAGES if p.startswith("chapters/")]
ZH_PAGES = [f"{ZH}/{p}" for p in _pages(HTML / ZH)] if (HTML / ZH).is_dir() else []


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


class _Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return  # a page closed while a file was still on its way to it: not a fault
        super().handle_error(request, client_address)


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    if not (HTML / "index.html").exists():
        pytest.fail("no built book: run `make book` first")
    handler = functools.partial(_QuietHandler, directory=str(HTML))
    server = _Server(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"],
        )
        yield b
        b.close()


class PageReport:
    """What went wrong while one page loaded."""

    def __init__(self) -> None:
        self.console_errors: list[str] = []
        self.failed: list[str] = []
        self.external: list[str] = []


def _open(browser: Browser, site: str, path: str, *, dark: bool = False) -> tuple[Page, PageReport]:
    context = browser.new_context(
        color_scheme="dark" if dark else "light", viewport={"width": 1280, "height": 900}
    )
    page = context.new_page()
    report = PageReport()
    page.on("console", lambda m: m.type == "error" and report.console_errors.append(m.text))
    page.on("pageerror", lambda e: report.console_errors.append(str(e)))
    page.on("requestfailed", lambda r: report.failed.append(f"{r.url} ({r.failure})"))

    def route(r: Route) -> None:
        url = r.request.url
        if urlparse(url).hostname not in ("127.0.0.1", None) and not url.startswith("data:"):
            report.external.append(url)
            r.abort()
        else:
            r.continue_()

    page.route("**/*", route)
    page.goto(urljoin(site, path), wait_until="networkidle")
    return page, report


def test_the_book_has_pages() -> None:
    assert "index.html" in PAGES and CHAPTERS, PAGES
    assert "zh/index.html" in ZH_PAGES and len(ZH_PAGES) >= 5, ZH_PAGES


@pytest.mark.parametrize("path", PAGES + ZH_PAGES)
def test_page_loads_cleanly_offline(browser: Browser, site: str, path: str) -> None:
    """Every page of both editions, each opened once: a Chinese page is checked for its Chinese
    here too (_check_chinese_page), and a chapter page, of either edition, for its explorables
    (_check_explorables) and its "Checked on this page" box (_check_claims_box)."""
    page, report = _open(browser, site, path)
    assert report.external == [], f"{path} needs the internet for {report.external}"
    assert report.console_errors == [], f"{path}: console errors {report.console_errors}"
    assert report.failed == [], f"{path}: failed requests {report.failed}"
    broken = page.evaluate(
        "[...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)"
    )
    assert broken == [], f"{path}: images that did not load {broken}"
    source = (HTML / path).read_text(encoding="utf-8")
    # A cell ending in a Matplotlib call must end with ';', or the book shows its repr.
    stray = re.findall(r"(?:&lt;|<)(?:matplotlib\.|Axes:|Figure size)|\bText\(\d", source)
    assert stray == [], f"{path}: stray Matplotlib reprs in cell outputs {stray}"
    if re.search(r'class="math[ "]', source):
        # "attached": the first formula may sit in a collapsed solution, rendered but not visible.
        page.wait_for_selector("mjx-container", state="attached", timeout=20_000)
        raw = page.evaluate(
            "[...document.querySelectorAll('.math')].filter(e => !e.querySelector('mjx-container'))"
            ".length"
        )
        assert raw == 0, f"{path}: {raw} formulas were left as raw TeX"
    raw_myst = [t for t in page.evaluate(_PROSE, False) if _RAW_MYST.search(t)]
    assert raw_myst == [], f"{path}: MyST markup shown as text: {raw_myst}"
    # the sidebar: every link leads to a page of the build (test_sidebar_links_navigate clicks)
    nav = page.eval_on_selector_all("nav.bd-links a.reference.internal",
                                    "els => els.map(e => e.href)")
    missing = [u for u in nav if not (HTML / urlparse(u).path.lstrip("/")).is_file()]
    assert nav and missing == [], f"{path}: sidebar links to no page: {missing}"
    if path in ZH_PAGES:
        _check_chinese_page(page, path)
    if path in CHAPTERS:  # as the page opens, before the checks below move its sliders
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{Path(path).stem}.png"), full_page=True)
    if "chapters/" in path:  # a chapter of either edition, in the same page load
        _check_explorables(page, path)
        _check_claims_box(page, path)
        assert report.external == [], f"{path}: requests that left the page {report.external}"
        assert report.console_errors == [], f"{path}: {report.console_errors}"
    page.context.close()


# The article's text outside code, math and cell outputs: what a translator translates. With
# `true`, links into the English edition are left out too: on a Chinese page, they name pages not
# translated yet ("{ref}`chap-cnn`" shows the English chapter's title). A glossary entry's term
# (its <dt>) stays English in both editions: it is the anchor of every {term} link, and its Chinese
# name opens the definition below it.
_PROSE = """(leaveOutEnglishLinks) => [...document.querySelectorAll(
    'article :is(p, li, td, th, h1, h2, h3, h4, dt, dd, figcaption, .admonition-title)')]
  .filter(e => !e.closest('.cell_output, .output, pre, .highlight, details.checked-claims, '
                          + '[role=doc-biblioentry], .citation, .edition-link, dl.glossary > dt'))
  // the API reference's docstrings and signatures are code, English in both editions
  .filter(e => !(leaveOutEnglishLinks && e.closest('dl.py, .docstring')))
  .map(e => {
    const c = e.cloneNode(true);
    c.querySelectorAll('code, pre, .math, mjx-container, .headerlink, a.claim-ref')
      .forEach(x => x.remove());
    if (leaveOutEnglishLinks) c.querySelectorAll('a[href]').forEach(a => {
      if (!new URL(a.getAttribute('href'), location.href).pathname.includes('/zh/')) a.remove();
    });
    return c.textContent.replace(/\\s+/g, ' ').trim();
  })"""
_RAW_MYST = re.compile(r"```\{|:::\{|\{(?:term|ref|numref|doc|cite[:\w]*|claim|eq|py:\w+)\}`")


def _check_chinese_page(page: Page, path: str) -> None:
    """A page of the Chinese edition: in Chinese, drawn with a CJK font, with no English
    paragraph left untranslated (code, math, outputs and references excepted)."""
    assert page.evaluate("document.documentElement.lang").startswith("zh"), path
    prose = page.evaluate(_PROSE, True)
    english = [t for t in prose if len(re.findall(r"[A-Za-z]", t)) >= 20 and not _CJK.search(t)]
    assert english == [], f"{path}: English left where a translation is due: {english[:5]}"
    # CommonMark takes "的*{term}`张量 <tensor>`*来" for two asterisks, not emphasis: a '*' or '_'
    # delimiter between a Chinese character and punctuation does not open or close
    stars = [t for t in prose if re.search(r"\*\S|\S\*", t)]
    assert stars == [], f"{path}: emphasis shown as asterisks: {stars[:5]}"
    sample = sorted(set(_CJK.findall(page.inner_text("article h1"))))[:8]
    assert len(sample) >= 2, f"{path}: the title has no Chinese"
    result = page.evaluate(_GLYPH_PICTURES, ["article h1", sample])
    assert len(set(result["chars"])) == len(sample), (
        f"{path}: Chinese characters render as identical boxes in {result['font']!r}: "
        "install a CJK font (fonts-noto-cjk)")
    assert result["missing"] not in result["chars"], f"{path}: missing-glyph boxes"


def test_internal_links_resolve() -> None:
    broken = []
    for path in PAGES + ZH_PAGES:
        source = (HTML / path).read_text(encoding="utf-8")
        for href in re.findall(r'href="([^"#:?]+\.html)(?:#[^"]*)?"', source):
            target = (HTML / path).parent / href
            if not target.resolve().is_file():
                broken.append(f"{path} -> {href}")
    assert broken == []


def test_sidebar_links_navigate(browser: Browser, site: str) -> None:
    page, _ = _open(browser, site, "index.html")
    links = page.eval_on_selector_all(
        "nav.bd-links a.reference.internal", "els => els.map(e => e.getAttribute('href'))"
    )
    assert len(links) >= len(CHAPTERS)
    # click a link of every part from the page the previous click opened (one load per link; the
    # sidebar's hrefs are relative to the page they are on). That every page's sidebar leads to
    # pages that exist, test_page_loads_cleanly_offline checks in its page load.
    for href in links[:: max(1, len(links) // 6)]:
        target = urljoin(urljoin(site, "index.html"), href).split("#")[0]
        here = page.eval_on_selector_all(
            "nav.bd-links a.reference.internal",
            "els => els.map(e => [e.getAttribute('href'), e.href])")
        relative = next(h for h, absolute in here if absolute.split("#")[0] == target)
        link = page.locator(f'nav.bd-links a.reference.internal[href="{relative}"]')
        if not link.is_visible():  # a section inside a collapsed chapter: open it, as a reader does
            # the arrow at the right of the chapter's entry (the summary itself has no height)
            link.locator("xpath=ancestor::details[1]/summary").locator(".toctree-toggle").click()
        link.click()
        page.wait_for_load_state()
        assert page.url.split("#")[0] == target
        assert page.title()


@pytest.mark.parametrize(("edition", "query", "chapter"), [
    ("", "perceptron", "chapters/perceptron.html"),
    # Chinese has no spaces: the index needs jieba's segmentation (and the glossary's terms as
    # its words) to hold Chinese words at all; a term and a word of running text are searched
    (f"{ZH}/", "感知机", "chapters/perceptron.html"),
    (f"{ZH}/", "反向传播", "chapters/backprop.html"),
    (f"{ZH}/", "莎士比亚", "chapters/gpt.html"),
])
def test_search_finds_a_chapter(browser: Browser, site: str, edition: str, query: str,
                                chapter: str) -> None:
    page, report = _open(browser, site, f"{edition}search.html?q={query}")
    page.wait_for_selector("#search-results li a", timeout=20_000)
    hits = page.eval_on_selector_all(
        "#search-results li a", "els => els.map(e => e.getAttribute('href'))"
    )
    assert any(chapter in h for h in hits), (query, hits)
    assert report.external == []


def test_chapter_offers_notebook_download_and_launch(site: str) -> None:
    # the buttons are links in the served HTML: read them there, without a browser's page load
    for path in CHAPTERS:
        with urllib.request.urlopen(urljoin(site, path)) as response:
            html = response.read().decode("utf-8")
        hrefs = [h.replace("&amp;", "&") for h in re.findall(r'<a\b[^>]*\bhref="([^"]*)"', html)]
        ipynb = [h for h in hrefs if h.endswith(".ipynb") and "_sources" in h]
        assert ipynb, f"{path}: no executed-notebook download"
        with urllib.request.urlopen(urljoin(urljoin(site, path), ipynb[0])) as response:
            notebook = json.load(response)
        outputs = [o for c in notebook["cells"] for o in c.get("outputs", [])]
        assert outputs, f"{path}: the downloadable notebook has no outputs"
        colab = [h for h in hrefs if "colab.research.google.com" in h]
        stem = Path(path).stem
        assert colab, f"{path}: no Colab button"
        assert all(h.endswith(f"/blob/notebooks/chapters/{stem}.ipynb") for h in colab), colab
        assert any("mybinder.org" in h for h in hrefs), f"{path}: no Binder button"


@pytest.mark.parametrize("mode", ["light", "dark"])
def test_both_colour_modes_are_readable(browser: Browser, site: str, mode: str) -> None:
    page, report = _open(browser, site, CHAPTERS[0], dark=mode == "dark")
    page.evaluate(f"document.documentElement.dataset.theme = '{mode}'")
    colors = page.evaluate(
        "(() => { const s = getComputedStyle(document.querySelector('article') || document.body);"
        " return [s.color, getComputedStyle(document.body).backgroundColor]; })()"
    )

    def luminance(css: str) -> float:
        r, g, b = (int(v) / 255 for v in re.findall(r"\d+", css)[:3])
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    text, background = (luminance(c) for c in colors)
    assert abs(text - background) > 0.5, f"{mode} mode: text {colors[0]} on {colors[1]}"
    assert (text > background) == (mode == "dark"), colors
    assert report.console_errors == []
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{mode}-mode.png"))


# The reference pages: bibliography, bilingual glossary, and the links to them from the chapters.

GLOSSARY = "reference/glossary.html"
BIBLIOGRAPHY = "reference/bibliography.html"
_CJK = re.compile(r"[\u3400-\u9fff]")


def _ids(path: str) -> set[str]:
    return set(re.findall(r'\bid="([^"]+)"', (HTML / path).read_text(encoding="utf-8")))


def _links_into(target: str) -> list[tuple[str, str]]:
    """Every ``(page, fragment)`` of a link from any page to ``target``."""
    found = []
    for path in PAGES:
        source = (HTML / path).read_text(encoding="utf-8")
        for href in re.findall(r'href="([^"#:?]*\.html)#([^"]+)"', source):
            if ((HTML / path).parent / href[0]).resolve() == (HTML / target).resolve():
                found.append((path, href[1]))
    return found


def test_every_captioned_figure_holds_an_image_and_a_chapter_number() -> None:
    """A caption belongs to a picture ("Fig. 2.3"), never to a cell's text output."""
    numbered = 0
    for path in CHAPTERS:
        source = (HTML / path).read_text(encoding="utf-8")
        for attributes, figure in re.findall(r"<figure\b([^>]*)>(.*?)</figure>", source, re.S):
            if 'class="explorable"' in attributes:  # its caption is the live label, checked below
                continue
            caption = re.search(r"<figcaption>(.*?)</figcaption>", figure, re.S)
            if caption is None:
                continue
            text = re.sub(r"<[^>]+>", "", caption.group(1)).strip()
            assert re.search(r"<img\b", figure), f"{path}: caption on no image: {text[:60]}"
            # its alt text is the caption (math as TeX, so compared by letters only)
            alt = html.unescape(re.search(r'<img\b[^>]*\balt="([^"]*)"', figure).group(1))
            words = html.unescape(text).split(maxsplit=2)[-1]  # without "Fig. N"
            letters = functools.partial(re.sub, r"[^a-z]", "")
            assert letters(alt.lower())[:40] == letters(words.lower())[:40], (path, alt[:60])
            # the preliminaries are in the table of contents' unnumbered part: "Fig. 1", not "1.1"
            number = r"\d+" if path == "chapters/preliminaries.html" else r"\d+\.\d+"
            assert re.match(rf"Fig\. {number} ", text), f"{path}: unnumbered caption: {text[:60]}"
            numbered += 1
    assert numbered >= 20, numbered


def test_every_image_of_a_chapter_has_an_alt_text_not_a_file_name() -> None:
    """Both editions: a figure's alt text is its caption (test above), any other image's says what
    it is; a file name, which is what a screen reader would otherwise read out, never is."""
    chapters = CHAPTERS + [p for p in ZH_PAGES if "/chapters/" in p]
    for path in chapters:
        source = (HTML / path).read_text(encoding="utf-8")
        alts = re.findall(r'<img\b[^>]*\balt="([^"]*)"', source)
        bad = [a for a in alts if not a.strip() or re.search(r"\.(svg|png|jpe?g|gif)$", a)]
        assert bad == [], f"{path}: images whose alt text is empty or a file name: {bad[:3]}"
    assert any("/chapters/" in p for p in chapters[len(CHAPTERS):]), "no Chinese chapter"


def test_bibliography_lists_every_cited_work(browser: Browser, site: str) -> None:
    page, report = _open(browser, site, BIBLIOGRAPHY)
    entries = page.eval_on_selector_all(
        "[role=doc-biblioentry]", "els => els.map(e => e.innerText)"
    )
    assert len(entries) >= 20, entries
    # Labelled like the citations in the text, "Xiao et al., 2017", not "[XRV17]" or "[3]".
    assert any(e.startswith("[Xiao et al., 2017]") for e in entries), entries[:5]
    citations = _links_into(BIBLIOGRAPHY)
    uncited = set(CHAPTERS) - {path for path, _ in citations}
    assert uncited == set(), f"chapters that cite nothing: {uncited}"
    targets = _ids(BIBLIOGRAPHY)
    dangling = [c for c in citations if c[1] not in targets]
    assert dangling == [], f"citations to no bibliography entry: {dangling}"
    assert report.console_errors == [] and report.external == []
    page.context.close()


def test_glossary_gives_every_term_chinese_a_definition_and_its_chapter() -> None:
    source = (HTML / GLOSSARY).read_text(encoding="utf-8")
    entries = re.findall(r'<dt id="(term-[^"]+)">(.*?)</dt>\s*<dd>(.*?)</dd>', source, re.S)
    assert len(entries) >= 40, len(entries)
    for term_id, _, definition in entries:
        chinese = re.search(r"<strong>(.*?)</strong>", definition)
        assert chinese and _CJK.search(chinese.group(1)), f"{term_id}: no Chinese name"
        assert re.search(r'href="\.\./chapters/[^"]+\.html#chap-', definition), (
            f"{term_id}: no link to the chapter that introduces it"
        )


def test_every_glossary_link_resolves_and_every_term_is_linked() -> None:
    links = _links_into(GLOSSARY)
    terms = {i for i in _ids(GLOSSARY) if i.startswith("term-")}
    dangling = [(page, fragment) for page, fragment in links if fragment not in _ids(GLOSSARY)]
    assert dangling == [], f"links to no glossary entry: {dangling}"
    linked = {fragment for page, fragment in links if page != GLOSSARY}
    unlinked = sorted(terms - linked)
    assert unlinked == [], f"terms that no chapter links at their first use: {unlinked}"


# Draws characters on a canvas in the element's font; a missing glyph draws the same empty box
# (or nothing) whatever the character, so distinct characters must give distinct pictures.
_GLYPH_PICTURES = """([selector, chars]) => {
  const font = getComputedStyle(document.querySelector(selector)).font;
  const canvas = document.createElement('canvas');
  canvas.width = 64; canvas.height = 64;
  const ctx = canvas.getContext('2d', {willReadFrequently: true});
  const picture = (ch) => {
    ctx.clearRect(0, 0, 64, 64);
    ctx.font = font.replace(/\\d+(\\.\\d+)?px/, '40px');
    ctx.fillText(ch, 4, 48);
    const data = ctx.getImageData(0, 0, 64, 64).data;
    let h = 0, ink = 0;
    for (let i = 3; i < data.length; i += 4) { h = (h * 31 + data[i]) >>> 0; ink += data[i] > 0; }
    return h + ':' + ink;
  };
  return {chars: chars.map(picture), missing: picture('\\uFFFF'), font};
}"""


def test_glossary_renders_chinese(browser: Browser, site: str) -> None:
    page, report = _open(browser, site, GLOSSARY)
    text = page.inner_text("article")
    chars = sorted(set(_CJK.findall(text)))
    assert len(chars) >= 50, chars
    sample = chars[:: max(1, len(chars) // 20)]
    result = page.evaluate(_GLYPH_PICTURES, ["dd strong", sample])
    pictures = result["chars"]
    assert len(set(pictures)) == len(sample), (
        f"Chinese characters render as identical boxes in {result['font']!r}: "
        "install a CJK font (fonts-noto-cjk)"
    )
    assert result["missing"] not in pictures, "Chinese characters render as missing-glyph boxes"
    assert all(int(p.split(":")[1]) > 20 for p in pictures), "Chinese characters draw no ink"
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "glossary.png"))
    assert report.console_errors == []
    page.context.close()


def test_a_term_link_in_a_chapter_opens_its_glossary_entry(browser: Browser, site: str) -> None:
    page, report = _open(browser, site, "chapters/perceptron.html")
    assert report.console_errors == []
    link = page.locator('article a[href$="glossary.html#term-perceptron"]').first
    link.click()
    page.wait_for_load_state()
    assert page.url.endswith(f"{GLOSSARY}#term-perceptron"), page.url
    entry = page.locator("dt#term-perceptron")
    assert entry.is_visible()
    box = entry.bounding_box()
    assert box is not None and 0 <= box["y"] < 900, f"the entry is not scrolled into view: {box}"
    definition = page.locator("dt#term-perceptron + dd").inner_text()
    assert "感知机" in definition, definition
    page.context.close()


# The claims each chapter checks (d2lmini.claims.report) and the prose marks that link to them.


def _check_claims_box(page: Page, path: str) -> None:
    """A chapter page's "Checked on this page" box: one, collapsed, listing claims that all
    passed; every mark in the prose links to a line of it, there is at least one, and following
    it opens the box at its claim. Run in test_page_loads_cleanly_offline's page load."""
    boxes = page.locator("article details.checked-claims")
    assert boxes.count() == 1, f"{path}: {boxes.count()} 'Checked on this page' boxes"
    box = boxes.first
    assert box.get_attribute("open") is None, f"{path}: the box should start collapsed"
    statuses = box.locator("li.claim").evaluate_all("els => els.map(e => e.dataset.status)")
    assert statuses, f"{path}: the box lists no claim"
    assert set(statuses) == {"passed"}, f"{path}: claims that failed in the build: {statuses}"
    summary = box.locator("summary").inner_text()
    title = "本页检验过的论断（{}）" if path.startswith("zh/") else "Checked on this page ({})"  # noqa: RUF001
    assert summary == title.format(len(statuses)), (path, summary)
    ids = set(box.locator("li.claim").evaluate_all("els => els.map(e => e.id)"))
    marks = page.locator("article a.claim-ref")
    targets = marks.evaluate_all("els => els.map(e => e.getAttribute('href'))")
    dangling = [t for t in targets if t.lstrip("#") not in ids]
    assert dangling == [], f"{path}: marks that link to no claim: {dangling}"
    assert targets, f"{path}: no sentence is marked as checked"
    marks.first.click()  # following a mark opens the box at its claim
    line = page.locator(f"[id='{targets[0].lstrip('#')}']")
    line.wait_for(state="visible", timeout=5_000)
    assert box.get_attribute("open") is not None, f"{path}: the mark did not open the box"


# Explorable figures (d2lmini.explore): a slider over frames drawn at build time, with no kernel,
# no library and no network. Every chapter but the preliminaries has at least one.

#: The most a chapter page may weigh, its explorables' frames included (the HTML file alone;
#: the book's shared CSS, JavaScript and fonts are cached across pages).
PAGE_BUDGET_BYTES = 3_000_000


def _explorable_state(figure: Locator) -> tuple[str, str, str]:
    return (figure.locator("img.explorable-frame").get_attribute("src") or "",
            figure.locator(".explorable-label").inner_text(),
            figure.locator("input.explorable-slider").input_value())


def _check_explorables(page: Page, path: str) -> None:
    """Every explorable on the page answers the keyboard, the mouse and its play button."""
    figures = page.locator("article figure.explorable")
    if path.endswith("preliminaries.html"):
        return
    assert figures.count() >= 1, f"{path}: no explorable figure"
    for i in range(figures.count()):
        figure = figures.nth(i)
        slider = figure.locator("input.explorable-slider")
        last = int(slider.get_attribute("max") or 0)
        assert last >= 1, f"{path}: explorable {i} has {last + 1} frame(s)"
        start = _explorable_state(figure)
        # the keyboard: one step towards the middle
        slider.focus()
        page.keyboard.press("ArrowLeft" if int(start[2]) == last else "ArrowRight")
        moved = _explorable_state(figure)
        assert abs(int(moved[2]) - int(start[2])) == 1, (path, i, start[2], moved[2])
        assert moved[0] != start[0], f"{path}: explorable {i}: the arrow key left the image"
        assert moved[1] != start[1], f"{path}: explorable {i}: the arrow key left the label"
        assert slider.get_attribute("aria-valuetext") == moved[1]
        # the mouse: a click at the slider's left end shows the first frame, the right end the last
        slider.scroll_into_view_if_needed()
        box = slider.bounding_box()
        assert box is not None
        ends = {}
        for end, x in (("0", box["x"] + 2), (str(last), box["x"] + box["width"] - 2)):
            page.mouse.click(x, box["y"] + box["height"] / 2)
            ends[end] = _explorable_state(figure)
            assert ends[end][2] == end, f"{path}: explorable {i}: a click at the end gave " \
                f"frame {ends[end][2]}, not {end}"
        assert ends["0"][:2] != ends[str(last)][:2], f"{path}: explorable {i}: same frame"
        button = figure.locator("button.explorable-play")
        if button.count():  # play from the first frame: the frames advance on their own
            page.mouse.click(box["x"] + 2, box["y"] + box["height"] / 2)
            button.click()
            page.wait_for_function(
                "el => Number(el.value) >= 2", arg=slider.element_handle(), timeout=20_000)


def test_every_chapter_page_stays_within_its_weight() -> None:
    weights = {Path(p).stem: (HTML / p).stat().st_size for p in CHAPTERS}
    print("page weights (kB):", {name: round(w / 1000) for name, w in weights.items()})
    heavy = {name: w for name, w in weights.items() if w > PAGE_BUDGET_BYTES}
    assert heavy == {}, f"pages over their budget of {PAGE_BUDGET_BYTES:,} bytes: {heavy}"


def test_no_page_shows_a_library_warning_or_log() -> None:
    """A page's output is the chapter's own: stderr (warnings, log lines with the build machine's
    paths) means a library spoke on the page; silence it at its source or say what it is."""
    shown = {}
    for path in PAGES:
        source = (HTML / path).read_text(encoding="utf-8")
        blocks = re.findall(r'<div class="output stderr[^"]*">(.*?)</div>', source, re.S)
        if blocks:
            shown[path] = [re.sub(r"<[^>]+>", "", b).strip()[:200] for b in blocks]
    assert shown == {}, f"stderr shown on the page: {shown}"


# The two editions: each page links its counterpart; the English glossary links show the Chinese.


def _zh_toc() -> list[str]:
    text = (ROOT / "_toc.zh.yml").read_text(encoding="utf-8")
    return ["index", *re.findall(r"^\s*-?\s*file:\s*(\S+)", text, re.M)]


def test_each_page_links_its_counterpart_in_the_other_edition() -> None:
    translated = {f"{name}.html" for name in _zh_toc()}
    assert {p.removeprefix(f"{ZH}/") for p in ZH_PAGES} == translated, "the Chinese edition " \
        "builds exactly the pages of _toc.zh.yml"
    link = re.compile(r'<p class="edition-link"><a href="([^"]+)" hreflang="([^"]+)"')
    for path in PAGES + ZH_PAGES:
        found = link.findall((HTML / path).read_text(encoding="utf-8"))
        if path in ZH_PAGES:
            expected: str | None = path.removeprefix(f"{ZH}/")
        else:
            expected = f"{ZH}/{path}" if path in translated else None
        if expected is None:
            assert found == [], f"{path} is not translated yet, but links {found}"
            continue
        assert len(found) == 1, f"{path}: {len(found)} links to the other edition"
        href, lang = found[0]
        target = ((HTML / path).parent / href).resolve()
        assert target == (HTML / expected).resolve(), f"{path} links {href}, not {expected}"
        assert lang == ("en" if path in ZH_PAGES else "zh-Hans"), (path, lang)


def test_the_edition_link_is_visible_and_opens_the_other_edition(browser: Browser,
                                                                  site: str) -> None:
    page, report = _open(browser, site, "chapters/preliminaries.html")
    link = page.locator("article p.edition-link a")
    assert link.is_visible() and link.inner_text() == "中文"
    box = link.bounding_box()
    assert box is not None and box["y"] < 300, f"the link is not at the top of the page: {box}"
    link.click()
    page.wait_for_load_state()
    assert page.url.endswith("/zh/chapters/preliminaries.html"), page.url
    assert "预备知识" in page.inner_text("article h1")
    page.locator("article p.edition-link a").click()
    page.wait_for_load_state()
    assert page.url.endswith("/chapters/preliminaries.html") and "/zh/" not in page.url
    assert report.console_errors == [] and report.external == []
    page.context.close()


def test_every_glossary_link_shows_the_chinese_and_pinyin_on_hover(browser: Browser,
                                                                   site: str) -> None:
    """Generated from reference/glossary.md (_ext/glossary_chinese.py): "广播 (guǎngbō)"."""
    links = 0
    for path in PAGES:
        source = (HTML / path).read_text(encoding="utf-8")
        for attributes in re.findall(r'<a ([^>]*)><span class="xref std std-term">', source):
            title = re.search(r'title="([^"]*)"', attributes)
            assert title, f"{path}: a glossary link with no title: {attributes}"
            # the Chinese, then the pinyin in parentheses (with its tone marks)
            assert re.fullmatch(r"[^()]*[\u3400-\u9fff][^()]* \([^()]*[a-zāáǎàēéěèīíǐìōóǒòūúǔùǘǚǜü]"
                                r"[^()]*\)", html.unescape(title.group(1))), (path, title.group(1))
            links += 1
    assert links >= 100, links
    page, report = _open(browser, site, "chapters/preliminaries.html")
    link = page.locator('article a[href$="glossary.html#term-broadcasting"]').first
    link.hover()
    assert link.get_attribute("title") == "广播 (guǎngbō)"
    assert report.console_errors == []
    page.context.close()
