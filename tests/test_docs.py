"""The examples in the README and in d2lmini's docstrings run and print what they show."""

from __future__ import annotations

import doctest
from pathlib import Path

import pytest

import d2lmini.bpe
import d2lmini.data
import d2lmini.distributed
import d2lmini.explore
import d2lmini.text

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_examples() -> None:
    result = doctest.testfile(str(README), module_relative=False, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 3 and result.failed == 0


@pytest.mark.parametrize("module", [
    d2lmini.bpe, d2lmini.data, d2lmini.text, d2lmini.distributed, d2lmini.explore,
])
def test_docstring_examples(module: object) -> None:
    result = doctest.testmod(module)  # type: ignore[arg-type]
    assert result.attempted >= 1 and result.failed == 0
