"""Run the chapters, which are MyST Markdown notebooks, under nbval.

nbval collects only ``.ipynb`` files. With ``--nbval`` or ``--nbval-lax``, this hook hands it
each ``chapters/*.md`` read through jupytext, so nothing is converted or written to disk, and
the kernel runs in the chapter's own folder, as it does in the book build. After the run, a
table gives each notebook's execution time, so that growth shows up in every CI log.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

CHAPTERS = Path(__file__).parent / "chapters"
BUDGET_SECONDS = 90  # a chapter must run in this long on a 2-core laptop

_seconds: dict[str, float] = defaultdict(float)


def _nbval_active(config: pytest.Config) -> bool:
    option = config.option
    return bool(getattr(option, "nbval", False) or getattr(option, "nbval_lax", False))


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if not (_nbval_active(parent.config) and file_path.suffix == ".md"):
        return None
    if file_path.parent != CHAPTERS:
        return None
    import jupytext
    from nbval.plugin import IPyNbFile

    class MystNotebook(IPyNbFile):  # type: ignore[misc]
        def collect(self) -> Iterator[Any]:
            import nbval.plugin

            with mock.patch.object(nbval.plugin.nbformat, "read",
                                   lambda path, as_version: jupytext.read(path)):
                yield from super().collect()

    return MystNotebook.from_parent(parent, path=file_path)  # type: ignore[no-any-return]


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    path = report.nodeid.split("::")[0]
    if path.endswith(".md"):
        _seconds[path] += report.duration


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _seconds:
        return
    terminalreporter.section("notebook execution time")
    for path, seconds in sorted(_seconds.items()):
        flag = f"  OVER the {BUDGET_SECONDS} s budget" if seconds > BUDGET_SECONDS else ""
        terminalreporter.write_line(f"{seconds:7.1f} s  {path}{flag}")
    terminalreporter.write_line(f"{sum(_seconds.values()):7.1f} s  in all")
