"""The glossary's Chinese names as _ext/glossary_chinese.py reads them from reference/glossary.md:
the source of the English edition's hover text and of the Chinese edition's terminology test."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "_ext"))

from glossary_chinese import Term, read_glossary  # noqa: E402

_CJK = re.compile(r"[\u3400-\u9fff]")


def test_every_term_has_a_chinese_name_and_its_pinyin() -> None:
    terms = read_glossary()
    assert len(terms) >= 100, len(terms)
    for term in terms.values():
        assert _CJK.search(term.chinese), term
        assert term.pinyin and not _CJK.search(term.pinyin), term
        assert all(_CJK.search(name) or name.isascii() for name in term.names), term


def test_alternatives_and_english_forms() -> None:
    terms = read_glossary()
    assert terms["broadcasting"].names == ("广播", "广播机制")
    assert terms["logit"].names == ("logits", "未规范化的预测")
    assert terms["one-cycle schedule"].names == ("单周期调度", "1cycle 策略")
    assert terms["multilayer perceptron (mlp)"].english_forms == ("multilayer perceptron", "MLP")
    assert terms["tensor"].english_forms == ("tensor",)
    assert terms["broadcasting"].tooltip == "广播 (guǎngbō)"


def test_an_entry_without_chinese_is_an_error(tmp_path: Path) -> None:
    glossary = tmp_path / "glossary.md"
    glossary.write_text(":::{glossary}\ntensor\n  An array of numbers.\n:::\n", encoding="utf-8")
    with pytest.raises(ValueError, match="'tensor' does not open with its Chinese name"):
        read_glossary(glossary)
    glossary.write_text(":::{glossary}\ntensor\n  **张量** (zhāngliàng). An array.\n:::\n",
                        encoding="utf-8")
    assert read_glossary(glossary) == {"tensor": Term("tensor", "张量", "zhāngliàng")}
