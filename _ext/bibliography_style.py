"""A pybtex style whose bibliography labels read like the book's citations: "Xiao et al., 2017".

The chapters cite author-year (``bibtex_reference_style: author_year``): a citation reads
"(Minsky and Papert, 1969)". sphinxcontrib-bibtex's own styles label the bibliography entries
"[MP69]" or "[1]", which a reader cannot match with the text; this one labels them with the same
words, with a, b, ... appended when two works share authors and year. Selected in ``_config.yml``
by ``bibtex_default_style: authoryear``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any

from pybtex.database import Entry
from pybtex.plugin import register_plugin
from pybtex.style.formatting.plain import Style as PlainStyle
from pybtex.style.labels import BaseLabelStyle
from sphinx.application import Sphinx


def _names(entry: Entry) -> str:
    persons = entry.persons.get("author") or entry.persons.get("editor") or []
    last = [" ".join(p.rich_last_names and [n.render_as("text") for n in p.rich_last_names])
            for p in persons]
    if not last:
        return entry.fields.get("title", "Anonymous")
    if len(last) == 1:
        return last[0]
    if len(last) == 2:
        return f"{last[0]} and {last[1]}"
    return f"{last[0]} et al."


class AuthorYearLabels(BaseLabelStyle):  # type: ignore[misc]
    """Labels "Rosenblatt, 1958", "Minsky and Papert, 1969", "Xiao et al., 2017"."""

    def format_labels(self, sorted_entries: Iterable[Entry]) -> Iterator[str]:
        entries = list(sorted_entries)
        labels = [f"{_names(e)}, {e.fields.get('year', 'n.d.')}" for e in entries]
        counts, seen = Counter(labels), Counter[str]()
        for label in labels:
            if counts[label] > 1:
                seen[label] += 1
                yield label + "abcdefghijklmnopqrstuvwxyz"[seen[label] - 1]
            else:
                yield label


class AuthorYearStyle(PlainStyle):  # type: ignore[misc]
    """pybtex's plain style (sorted by author, year, title) with author-year labels."""

    default_label_style = AuthorYearLabels


def _read_entry_points_once() -> None:
    """pybtex and sphinxcontrib-bibtex look each plugin up among the installed packages' entry
    points every time they use it, and every look-up reads the metadata of every installed
    distribution: about a thousand look-ups a build, 25 s of a 50 s single-page build of the
    book on two cores. Read the entry points once and answer the look-ups from them."""
    import importlib.metadata

    import pybtex.plugin
    import sphinxcontrib.bibtex.plugin

    every = importlib.metadata.entry_points()

    def entry_points(*, group: str, name: str) -> importlib.metadata.EntryPoints:
        return every.select(group=group, name=name)

    pybtex.plugin.entry_points = entry_points  # type: ignore[assignment]
    sphinxcontrib.bibtex.plugin.entry_points = entry_points  # type: ignore[assignment]


def setup(app: Sphinx) -> dict[str, Any]:
    _read_entry_points_once()
    register_plugin("pybtex.style.labels", "authoryear", AuthorYearLabels)
    register_plugin("pybtex.style.formatting", "authoryear", AuthorYearStyle)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
