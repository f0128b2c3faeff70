"""The chapters' claims, read from their sources: every page reports them, every mark backs a claim,
and no number in a solution goes unchecked.

The book's convention for the numbers in an exercise's solution (a collapsed "Solution" dropdown,
whose code the build does not run): a paragraph that states a measured number either

- ends a sentence with a ``{claim}`KEY``` mark, KEY being a claim that a hidden cell of the chapter
  checks (it re-runs the solution, or reads the number from the chapter's own run), or
- says "in our run": the number is what one run of the solution's code gave, not re-checked.

A table counts as covered when the paragraph just before or after it is. Numbers that are not
measurements are exempt: those in the exercise's own statement (the settings it asks for), those in
the solution's code, in math (``$...$``: a derivation, not a measurement), in inline code, and
references (Fig. 3.1, chapter 5, exercise 2, section 4.2).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

CHAPTERS = sorted((Path(__file__).resolve().parents[1] / "chapters").glob("*.md"))
_IDS = [c.stem for c in CHAPTERS]

_MARK = re.compile(r"\{claim\}`([^`]+)`")
_KEY_ARG = re.compile(r"""\bkey\s*=\s*["']([a-z0-9-]+)["']""")
_NUMBER = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)*(?:e[-+]?\d+)?")
_REFERENCE = re.compile(
    r"\b(?:Fig\.|Figs\.|Figure|Table|[Cc]hapters?|[Ee]xercises?|[Ss]ections?|§|[Ee]quation|"
    r"[Ee]q\.)\s*\(?\d+(?:\.\d+)*(?:\s*(?:and|,|-|\u2013|to)\s*\d+(?:\.\d+)*)*"
)


def _code_cells(source: str) -> str:
    return "\n".join(re.findall(r"```\{code-cell\}[^\n]*\n(.*?)\n```", source, re.S))


def _claim_keys(source: str) -> set[str]:
    return set(_KEY_ARG.findall(_code_cells(source)))


def _strip(text: str) -> str:
    """Prose without math, inline code, roles' targets and references: what a number in it means."""
    text = re.sub(r"\$\$.*?\$\$", " ", text, flags=re.S)
    text = re.sub(r"\$[^$\n]+\$", " ", text)
    text = re.sub(r"\{[a-z:]+\}`[^`]*`", " ", text)  # {cite:p}`...`, {numref}`...`, {claim}`...`
    text = re.sub(r"`[^`]*`", " ", text)
    text = re.sub(r"\]\([^)]*\)", "]", text)  # link targets
    return _REFERENCE.sub(" ", text)


def _numbers(text: str) -> set[str]:
    return {n.rstrip(".,").replace(",", "") for n in _NUMBER.findall(_strip(text))}


def _exercises(source: str) -> list[tuple[int, str, str]]:
    """(number, statement, solution body) of each exercise with a dropdown solution."""
    part = source.split("\n## Exercises", 1)
    if len(part) < 2:
        return []
    found = []
    for item in re.split(r"\n(?=\d+\. )", part[1]):
        head = re.match(r"(\d+)\. ", item)
        solution = re.search(r"\n( *)```\{dropdown\} Solution\n(.*?)\n\1```", item, re.S)
        if head and solution:
            found.append((int(head.group(1)), item[: solution.start()], solution.group(2)))
    return found


def _paragraphs(body: str) -> list[tuple[str, str]]:
    """(prose, code) per paragraph: indented code blocks go to the paragraph before them."""
    lines = body.split("\n")
    indent = min((len(x) - len(x.lstrip()) for x in lines if x.strip()), default=0)
    blocks: list[tuple[list[str], list[str]]] = [([], [])]
    for line in lines:
        if not line.strip():
            blocks.append(([], []))
        elif len(line) - len(line.lstrip()) >= indent + 4:
            blocks[-1][1].append(line)
        else:
            blocks[-1][0].append(line)
    return [("\n".join(p), "\n".join(c)) for p, c in blocks if p or c]


def _covered(prose: str) -> bool:
    return bool(_MARK.search(prose)) or "in our run" in prose.lower()


def unbacked_solution_numbers(source: str) -> list[str]:
    """Every number in a solution that is neither checked, nor "in our run", nor exempt."""
    problems = []
    for number, statement, body in _exercises(source):
        paragraphs = _paragraphs(body)
        exempt = _numbers(statement) | {
            n for _, code in paragraphs for n in _NUMBER.findall(code)
        }
        covered = [_covered(prose) for prose, _ in paragraphs]
        for i, (prose, _) in enumerate(paragraphs):
            is_table = prose.lstrip().startswith("|")
            near = covered[i] or (is_table and any(covered[j] for j in (i - 1, i + 1)
                                                    if 0 <= j < len(covered)))
            loose = sorted(_numbers(prose) - exempt, key=lambda n: prose.find(n))
            if loose and not near:
                words = " ".join(prose.split())[:90]
                problems.append(f"exercise {number}: {', '.join(loose)} in {words!r}")
    return problems


@pytest.mark.parametrize("chapter", CHAPTERS, ids=_IDS)
def test_every_chapter_checks_its_claims_and_reports_them(chapter: Path) -> None:
    source = chapter.read_text(encoding="utf-8")
    assert "from d2lmini.claims import" in source, f"{chapter.name} checks no claim"
    cells = re.findall(r"```\{code-cell\}[^\n]*\n(.*?)\n```", source, re.S)
    assert cells and cells[-1].strip().endswith("report()"), (
        f"{chapter.name}: the last cell must be `report()`, the box of the page's claims"
    )


@pytest.mark.parametrize("chapter", CHAPTERS, ids=_IDS)
def test_every_mark_in_the_prose_names_a_claim_of_its_chapter(chapter: Path) -> None:
    source = chapter.read_text(encoding="utf-8")
    keys = _claim_keys(source)
    dangling = sorted(set(_MARK.findall(source)) - keys)
    assert dangling == [], f"{chapter.name}: marks with no check(..., key=...): {dangling}"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=_IDS)
def test_no_number_in_a_solution_goes_unchecked(chapter: Path) -> None:
    problems = unbacked_solution_numbers(chapter.read_text(encoding="utf-8"))
    assert problems == [], (
        f"{chapter.name}: numbers in solutions with no {{claim}} mark and no 'in our run' "
        "(tests/test_chapter_claims.py explains the convention):\n  " + "\n  ".join(problems)
    )


_SAMPLE = """
## Exercises

1. Train for 20 epochs with 2 and 4 units.

   ```{dropdown} Solution
   With 2 units, 10 of the 20 seeds reach 100%.

   With 4, 19 of 20 do, in our run.

   The loss is $\\log 2 \\approx 0.69$ (Fig. 3.1), as `range(5)` shows:

       for seed in range(5): print(7)

   It ends at 0.25.{claim}`end-loss`

   | a | b |
   |---|---|
   | 13 | 14 |

   Computed as above, in our run.
   ```
"""


def test_the_convention_finds_exactly_the_unbacked_numbers() -> None:
    problems = unbacked_solution_numbers(_SAMPLE)
    assert problems == ["exercise 1: 10, 100 in 'With 2 units, 10 of the 20 seeds reach 100%.'"]
