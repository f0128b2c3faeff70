"""The glossary's Chinese names, read from ``reference/glossary.md``, shown on every term link.

Every entry of the glossary opens its definition with the term's Chinese in bold, its pinyin in
parentheses and, where usage varies, "also" and a second name::

    broadcasting
      **广播** (guǎngbō), also 广播机制 (guǎngbō jīzhì). PyTorch's rule for ...

:func:`read_glossary` parses that into :class:`Term` records, the one source of the terms'
Chinese: this extension and the Chinese edition's terminology test
(``tests/test_translation.py``) both read it. As a Sphinx extension, it gives every glossary link
of the English edition (a ``{term}`` role, class ``std-term``) a ``title``, so that hovering over
"broadcasting" shows "广播 (guǎngbō)".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from docutils import nodes

GLOSSARY = Path(__file__).resolve().parents[1] / "reference" / "glossary.md"

_BLOCK = re.compile(r"^:::\{glossary\}\n(.*?)^:::$", re.M | re.S)
_ENTRY = re.compile(r"^(?P<term>\S[^\n]*)\n(?P<definition>(?:[ \t]+[^\n]*\n?)+)", re.M)
_CHINESE = re.compile(r"\*\*(?P<name>[^*]+)\*\*\s*(?:\((?P<pinyin>[^)]*)\))?")
_ALSO = re.compile(r"\balso (?P<name>[^(.;,]+?)\s*[(.;,]")
_CJK = re.compile(r"[\u3400-\u9fff]")


@dataclass(frozen=True)
class Term:
    """One glossary entry: the English term, its Chinese name(s) and pinyin."""

    english: str  # as the glossary writes it, e.g. "multilayer perceptron (MLP)"
    chinese: str  # the bold name, e.g. "多层感知机"; "logits / 未规范化的预测" gives two
    pinyin: str  # the bold name's pinyin, "" where the glossary gives none
    also: tuple[str, ...] = field(default=())  # the alternatives after "also"

    @property
    def names(self) -> tuple[str, ...]:
        """Every Chinese name a translation may use: the bold ones, then the alternatives."""
        return (*(n.strip() for n in self.chinese.split(" / ")), *self.also)

    @property
    def english_forms(self) -> tuple[str, ...]:
        """How English prose names the term: "multilayer perceptron (MLP)" is named by
        "multilayer perceptron" or by "MLP"."""
        match = re.fullmatch(r"(?P<long>.+?) \((?P<short>[^)]+)\)", self.english)
        if match:
            return match["long"], match["short"]
        return (self.english,)

    @property
    def tooltip(self) -> str:
        """The hover text of a link to the term: its Chinese and pinyin, "广播 (guǎngbō)"."""
        return f"{self.chinese} ({self.pinyin})" if self.pinyin else self.chinese


def read_glossary(path: Path = GLOSSARY) -> dict[str, Term]:
    """Every term of the glossary, keyed by its English name in lower case."""
    text = path.read_text(encoding="utf-8")
    terms: dict[str, Term] = {}
    for block in _BLOCK.findall(text):
        for entry in _ENTRY.finditer(block):
            english = entry["term"].strip()
            definition = " ".join(entry["definition"].split())
            chinese = _CHINESE.match(definition)
            if chinese is None:
                raise ValueError(f"{path}: the glossary entry {english!r} does not open with its "
                                 "Chinese name in bold, e.g. **张量** (zhāngliàng)")
            # the alternatives are in the first sentence, before the English definition
            first = definition[: chinese.end()] + definition[chinese.end():].split(". ")[0] + "."
            also = tuple(a["name"].strip() for a in _ALSO.finditer(first)
                         if _CJK.search(a["name"]))
            terms[english.lower()] = Term(english, chinese["name"].strip(),
                                          (chinese["pinyin"] or "").strip(), also)
    if not terms:
        raise ValueError(f"{path}: no glossary entries found")
    return terms


def _add_tooltips(app: Any, doctree: nodes.document, docname: str) -> None:
    """Give every link to a glossary term its Chinese name and pinyin as a ``title``."""
    if (app.config.language or "en").startswith("zh"):
        return  # the Chinese edition's pages already name every term in Chinese
    glossary = app.env.d2lmini_glossary
    std = app.env.get_domain("std")
    ids = {labelid: name for (kind, name), (_, labelid) in std.objects.items() if kind == "term"}
    for ref in doctree.findall(nodes.reference):
        inner = ref.children[0] if ref.children else None
        if not (isinstance(inner, nodes.Element) and "std-term" in inner["classes"]):
            continue
        name = ids.get(ref.get("refuri", "").rpartition("#")[2] or ref.get("refid", ""))
        term = glossary.get(name.lower()) if name else None
        if term is not None:
            ref["reftitle"] = term.tooltip


def _load(app: Any) -> None:
    path = Path(app.srcdir) / "reference" / "glossary.md"
    app.env.d2lmini_glossary = read_glossary(path) if path.is_file() else {}


def setup(app: Any) -> dict[str, Any]:
    app.connect("builder-inited", _load)
    app.connect("doctree-resolved", _add_tooltips)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
