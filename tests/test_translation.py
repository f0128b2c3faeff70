"""The Chinese edition's catalogues (locale/zh_CN/LC_MESSAGES/<page>.po): complete, faithful to the
English's code, math, links and roles, and true to the glossary's Chinese terms.

Only the pages of the Chinese table of contents (``_toc.zh.yml``) are checked: they are the ones
the Chinese edition shows. That the catalogues are *current*, that no English message changed
without ``make locale``, is ``make locale-check`` (CI runs it); the unit test of its comparison
is here. So is the Chinese edition's wording of the box of checked claims (``_ext/claim_marks.py``).
"""

from __future__ import annotations

import html
import re
import sys
from pathlib import Path

import pytest
import torch
from babel.messages.catalog import Message
from babel.messages.pofile import read_po

from d2lmini.claims import ClaimError, Claims, above

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "_ext"))

from bilingual import translated_pages  # noqa: E402
from glossary_chinese import Term, read_glossary  # noqa: E402
from zh_book import CATALOGUES, stale_messages  # noqa: E402

PAGES = translated_pages(ROOT)
GLOSSARY = read_glossary()

# A glossary word that a message uses in another sense: (page, term, words of the English message).
NOT_THE_TERM = {
    ("index", "kernel", "no running kernel"),  # a Jupyter kernel, not a convolution's
    ("reference/glossary", "kernel", "fused kernels"),  # a GPU's compiled kernels
    ("chapters/gradient_descent", "kernel", "without a Python kernel"),  # Jupyter's
    # "rank" as a verb or a word's frequency rank; "margin" as a lead; a benchmark's warm-up
    ("chapters/gradient_descent", "rank", "cannot rank them"),
    ("chapters/gradient_descent", "rank", "not to rank"),
    ("chapters/cnn", "rank", "cannot rank the middle changes"),
    ("chapters/cnn", "margin", "differ by a wide margin"),
    ("chapters/cnn", "warm-up", "5 warm-up steps"),
    ("chapters/rnn", "rank", "with its rank"),
    ("chapters/rnn", "rank", "against its"),
    ("chapters/rnn", "margin", "by a wide margin"),
    ("chapters/rnn", "margin", "Only the margin"),
    # a GPU's compiled kernels
    ("chapters/performance", "kernel", "fused kernels that read memory once"),
    ("chapters/performance", "kernel", "fuses operations into generated kernels"),
    ("chapters/performance", "kernel", "generates fused kernels"),
    ("chapters/gpt", "kernel", "fused attention kernels"),
    ("chapters/performance", "kernel", "launching many small kernels"),
    ("chapters/preliminaries", "kernel", "A GPU computes with other kernels"),
    ("chapters/transformer", "kernel", "attention as kernel regression"),  # 核回归
    ("chapters/transformer", "margin", "The margin is not large"),  # a lead in BLEU points
    ("chapters/transformer", "margin", "Is a margin of 3 points"),
    ("chapters/transformer", "margin", "the margin over the lookup"),
}


def _is_term_line(page: str, message: Message) -> bool:
    """A glossary entry's English term: the anchor of every {term} link, kept in English (its
    Chinese is the definition's first, bold words)."""
    return page == "reference/glossary" and message.id.lower() in GLOSSARY

_ROLE = re.compile(r"\{(?P<name>[\w:.-]+)\}`(?P<text>[^`]*)`")
_CODE = re.compile(r"``.+?``|`[^`\n]+`")
_MATH = re.compile(r"\$\$.+?\$\$|\$[^$]+\$", re.S)
_URL = re.compile(r"\]\((?P<url>[^)\s]+)\)")
_CJK = re.compile(r"[\u3400-\u9fff]")


def _messages(page: str) -> list[Message]:
    path = CATALOGUES / f"{page}.po"
    with path.open("rb") as f:
        return [m for m in read_po(f) if m.id]


_TARGET = re.compile(r"<([^<>]+)>\s*$")  # the target of a role with its own words: `words <target>`


def _term_target(text: str) -> str:
    match = _TARGET.search(text)
    return (match.group(1) if match else text).strip().lower()


# Cross-references whose visible words a translation may change: only the target must stay.
_LINK_ROLES = ("ref", "numref", "doc")


def _role_kept(match: re.Match[str]) -> str:
    """A role as a translation must keep it: whole, or for a cross-reference with its own words
    (`` {ref}`the MLP chapter <chap-mlp>` ``) the role and its target only."""
    target = _TARGET.search(match["text"])
    if match["name"] in _LINK_ROLES and target:
        return f"{{{match['name']}}}`<{target.group(1)}>`"
    return match.group(0)


def _literal_parts(text: str) -> dict[str, list[str]]:
    """What a translation must keep as it is: roles (a term's or a cross-reference's target
    only), code, math, URLs."""
    roles = [m for m in _ROLE.finditer(text)]
    rest = _ROLE.sub(" ", text)
    code = _CODE.findall(rest)
    rest = _CODE.sub(" ", rest)
    return {
        "roles": sorted(_role_kept(m) for m in roles if m["name"] != "term"),
        "terms": sorted(_term_target(m["text"]) for m in roles if m["name"] == "term"),
        "code": sorted(code),
        "math": sorted(_MATH.findall(rest)),
        "urls": sorted(_URL.findall(rest)),
    }


_LATEX = re.compile(r"\\[A-Za-z]+")


def _is_display_math(text: str) -> bool:
    """A message that is a whole formula: a display-math block is extracted without its $$, and
    outside code and inline math only a formula has TeX commands such as \\frac."""
    return bool(_LATEX.search(_MATH.sub(" ", _CODE.sub(" ", text))))


def _prose(text: str) -> str:
    """The English words of a message: no code, math or URL, and of the roles only a term's."""
    if _is_display_math(text):
        return ""
    text = _ROLE.sub(lambda m: m["text"] if m["name"] == "term" else " ", text)
    text = _URL.sub("]", _MATH.sub(" ", _CODE.sub(" ", text)))
    return text


def _pattern(form: str) -> re.Pattern[str]:
    plurals = [re.escape(form) + "(?:s|es)?"]
    if form.endswith("y"):
        plurals.append(re.escape(form[:-1]) + "ies")
    return re.compile(rf"(?<![\w-])(?:{'|'.join(plurals)})(?![\w-])", re.I)


_PATTERNS = {key: [_pattern(f) for f in term.english_forms] for key, term in GLOSSARY.items()}


def _uses_term(chinese: str, term: Term, english_form: str) -> bool:
    flat = chinese.replace(" ", "").lower()
    if any(name.replace(" ", "").lower() in flat for name in term.names):
        return True
    # a name that keeps the English word ("Transformer 模型", "Adam 优化算法", "softmax 函数"):
    # the word alone is the term, as d2l-zh writes it
    return any(english_form.lower() in name.lower() for name in term.names) and (
        english_form.lower().replace(" ", "") in flat)


def test_the_chinese_toc_lists_pages_of_the_book() -> None:
    assert PAGES[0] == "index" and len(PAGES) >= 5, PAGES
    english = (ROOT / "_toc.yml").read_text(encoding="utf-8")
    missing = [p for p in PAGES[1:] if f"file: {p}\n" not in english]
    assert missing == [], f"pages of _toc.zh.yml that _toc.yml does not list: {missing}"


@pytest.mark.parametrize("page", PAGES)
def test_every_message_of_a_chinese_page_is_translated(page: str) -> None:
    path = CATALOGUES / f"{page}.po"
    assert path.is_file(), f"{page} is in _toc.zh.yml but has no catalogue: run `make locale`"
    problems = []
    for m in _messages(page):
        if m.fuzzy:
            problems.append(f"fuzzy (the English changed: check the translation, then delete the "
                            f"'#, fuzzy' line): {m.id[:120]!r}")
        elif not m.string:
            problems.append(f"untranslated: {m.id[:120]!r}")
    assert problems == [], (f"{path.relative_to(ROOT)}: {len(problems)} messages to translate:\n"
                            + "\n".join(problems))


@pytest.mark.parametrize("page", PAGES)
def test_translations_keep_the_code_math_links_and_roles(page: str) -> None:
    """Every role (but a term's visible words), inline code, formula and URL of the English is in
    the translation, unchanged; the translation adds no role or link of its own. (A formula may
    appear more often in Chinese, which may name a symbol twice where English says "it".)"""
    problems = []
    for m in _messages(page):
        if not m.string:
            continue
        if _is_display_math(m.id):
            if m.string != m.id:
                problems.append(f"a formula must be copied unchanged: {m.id[:80]!r}")
            continue
        english, chinese = _literal_parts(m.id), _literal_parts(m.string)
        for kind, parts in english.items():
            lost = sorted(set(parts) - set(chinese[kind]))
            added = sorted(set(chinese[kind]) - set(parts)) if kind in ("roles", "terms",
                                                                        "urls") else []
            if lost or added:
                problems.append(f"{kind}: missing {lost}, added {added}, in {m.string[:80]!r}")
    assert problems == [], f"{page}:\n" + "\n".join(problems)


_ACRONYM = re.compile(r"[A-Za-z]*[A-Z][a-z]*[A-Z][A-Za-z]*")  # two capitals: MLP, ReLU, AdamW


def _introduced(page_chinese: str, term: Term) -> bool:
    flat = page_chinese.replace(" ", "").lower()
    return any(name.replace(" ", "").lower() in flat for name in term.names)


@pytest.mark.parametrize("page", PAGES)
def test_translations_use_the_glossary_terms(page: str) -> None:
    """Every message that uses a glossary term in English uses its Chinese name, or, for an
    acronym such as MLP, ReLU or AdamW, keeps the acronym on a page that gives the Chinese name
    somewhere (as Chinese books write 多层感知机 (MLP) once, then MLP)."""
    problems = []
    page_chinese = " ".join(m.string for m in _messages(page) if m.string)
    for m in _messages(page):
        if not m.string or m.fuzzy or _is_term_line(page, m):
            continue
        prose = _prose(m.id)
        for key, term in GLOSSARY.items():
            for form, pattern in zip(term.english_forms, _PATTERNS[key], strict=True):
                if not pattern.search(prose):
                    continue
                if any(p == page and t == key and words in m.id for p, t, words in NOT_THE_TERM):
                    continue
                if _ACRONYM.fullmatch(form) and form in m.string and _introduced(page_chinese,
                                                                              term):
                    continue
                if not _uses_term(m.string, term, form):
                    problems.append(f"{term.english!r} should be {' or '.join(term.names)!r} in: "
                                    f"{m.string[:100]!r}")
    assert problems == [], f"{page}: glossary terms not used:\n" + "\n".join(problems)


def test_a_translation_is_chinese() -> None:
    """A message copied untranslated would pass the other tests: every message with English
    words outside its code and math has Chinese in its translation."""
    problems = []
    for page in PAGES:
        for m in _messages(page):
            words = re.findall(r"[A-Za-z]{3,}", _prose(m.id))
            if _is_term_line(page, m):
                if m.string != m.id:
                    problems.append(f"{page}: a term's anchor must stay {m.id!r}")
            elif m.string and len(words) >= 2 and not _CJK.search(m.string):
                problems.append(f"{page}: {m.string[:100]!r}")
    assert problems == [], "translations with no Chinese:\n" + "\n".join(problems)


def test_the_terminology_check_catches_a_wrong_term() -> None:
    term = GLOSSARY["overfitting"]
    assert _pattern("overfitting").search(_prose("Early stopping limits {term}`overfitting`."))
    assert _uses_term("早停可以限制过拟合。", term, "overfitting")
    assert not _uses_term("早停可以限制欠拟合。", term, "overfitting")  # d2l-zh's old swap
    assert _uses_term("Transformer 的残差连接", GLOSSARY["transformer"], "Transformer")
    assert _pattern("query").search("queries, keys and values")
    assert _ACRONYM.fullmatch("MLP") and _ACRONYM.fullmatch("AdamW") and _ACRONYM.fullmatch("ReLU")
    assert not _ACRONYM.fullmatch("Adam") and not _ACRONYM.fullmatch("Transformer")
    assert _introduced("多层感知机 (MLP) 有两层。", GLOSSARY["multilayer perceptron (mlp)"])
    assert not _introduced("MLP 有两层。", GLOSSARY["multilayer perceptron (mlp)"])
    assert not _pattern("kernel").search("`kernel_size`".replace("`kernel_size`", " "))


def test_a_cross_reference_keeps_its_target_not_its_words() -> None:
    english = _literal_parts("See {ref}`the MLP chapter <chap-mlp>` and {ref}`sec-x`.")
    assert _literal_parts("见{ref}`多层感知机一章 <chap-mlp>`和{ref}`sec-x`。") == english
    assert _literal_parts("见{ref}`多层感知机一章 <chap-cnn>`和{ref}`sec-x`。") != english
    assert _literal_parts("见{ref}`多层感知机一章 <chap-mlp>`。") != english


def test_a_formula_is_not_prose() -> None:
    formula = r"\mathbf{H} = \operatorname{ReLU}(\mathbf{X}\mathbf{W})"
    assert _is_display_math(formula) and _prose(formula) == ""
    assert not _is_display_math(r"The ReLU $\max(0, z)$ and `re.sub(r'\d', ...)` are prose.")


def test_the_staleness_check_names_new_and_removed_messages(tmp_path: Path) -> None:
    def catalogue(path: Path, *ids: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text('msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
                        + "".join(f'msgid "{i}"\nmsgstr ""\n\n' for i in ids), encoding="utf-8")

    pots, pos = tmp_path / "pot", tmp_path / "po"
    catalogue(pots / "chapters" / "x.pot", "Same.", "Changed, new wording.")
    catalogue(pos / "chapters" / "x.po", "Same.", "Changed, old wording.")
    catalogue(pots / "y.pot", "A page with no catalogue.")
    stale = stale_messages(pots, pos)
    assert len(stale) == 3, stale
    assert any("not in the catalogue: 'Changed, new wording.'" in s for s in stale)
    assert any("no longer in the sources: 'Changed, old wording.'" in s for s in stale)
    assert any(s.startswith("y: no catalogue") for s in stale)
    catalogue(pos / "chapters" / "x.po", "Same.", "Changed, new wording.")
    catalogue(pos / "y.po", "A page with no catalogue.")
    assert stale_messages(pots, pos) == []


def test_the_chinese_edition_gives_the_box_its_own_words_in_chinese(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from claim_marks import box_in_chinese  # _ext, on the path above

    claims = Claims()
    claims.check("a < b (checked)", 3, above(2), key="amp")
    with pytest.raises(ClaimError):
        claims.check("fails", 1, above(2))
    claims.measured("a time", 2.5)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)  # as on a GPU
    claims.check("trained", 1, above(2), kind="trained")  # marked, not raised
    box = box_in_chinese(claims.report()._repr_html_())
    words = re.sub(r'<span class="claim-(?:words|value)">.*?</span>', "", box)  # the run's own
    words = html.unescape(re.sub(r"<[^>]+>", "", words))
    english = set(re.findall(r"[A-Za-z]{2,}", words)) - {"CPU", "GPU"}  # as Chinese writes them
    assert english == set(), words  # no English left but the claims
    assert "本页检验过的论断（3，2 个未通过）" in box and "（要求：&gt; 2）" in box  # noqa: RUF001
    assert "a &lt; b (checked)" in box and "在此测得" in box
    assert box_in_chinese("<p>Checked on this page</p>") == "<p>Checked on this page</p>"
