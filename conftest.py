"""Run the chapters, which are MyST Markdown notebooks, under nbval.

nbval collects only ``.ipynb`` files. With ``--nbval`` or ``--nbval-lax``, this hook hands it
each ``chapters/*.md`` read as myst-nb reads it for the book, so nothing is converted or written
to disk, and the kernel runs in the chapter's own folder, as it does in the book build. After the
run, a table gives each notebook's execution time, so that growth shows up in every CI log.

A chapter whose every cell passed is stored, outputs and all, in the book's execution cache
(``_ext/execution_cache.py``): the book and the PDF render that run instead of executing the
chapter a second time.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

ROOT = Path(__file__).parent
CHAPTERS = ROOT / "chapters"
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
    from nbval.plugin import IPyNbFile

    class MystNotebook(IPyNbFile):  # type: ignore[misc]
        def collect(self) -> Iterator[Any]:
            import nbval.plugin

            self.cells_passed = 0
            self.seconds = 0.0
            with mock.patch.object(nbval.plugin.nbformat, "read",
                                   lambda path, as_version: _read(Path(path))):
                yield from super().collect()

        def teardown(self) -> None:
            super().teardown()
            code_cells = [c for c in self.nb.cells if c.cell_type == "code"]
            if _cache().storing_enabled() and self.cells_passed == len(code_cells):
                _cache().store(self.path, self.nb, self.seconds)

    return MystNotebook.from_parent(parent, path=file_path)  # type: ignore[no-any-return]


def _read(path: Path) -> Any:
    """The chapter as the book reads it, so that its run can be cached for the book; where
    nothing is cached (``make test-latest``, without the book's tools), as jupytext reads it."""
    if _cache().storing_enabled():
        return _cache().read_chapter(path)
    import jupytext

    return jupytext.read(path)


def _cache() -> Any:
    import sys

    if str(ROOT / "_ext") not in sys.path:
        sys.path.insert(0, str(ROOT / "_ext"))
    import execution_cache

    return execution_cache


def pytest_sessionstart(session: pytest.Session) -> None:
    if _nbval_active(session.config) and _cache().storing_enabled():
        _cache().prepare()  # outputs made with another d2lmini or other versions are dropped


def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> None:
    """Keep each passing cell's outputs in its notebook, for the execution cache."""
    notebook = item.parent
    if call.when != "call" or not hasattr(notebook, "cells_passed"):
        return
    if call.excinfo is None and notebook.cells_passed == item.cell_num:
        notebook.cells_passed += 1
        item.cell.outputs = _as_jupyter_shows(item.cell.source, item.test_outputs,
                                              notebook.cells_passed)
        item.cell.execution_count = notebook.cells_passed
        notebook.seconds += call.duration


def _as_jupyter_shows(source: str, outputs: list[Any], count: int) -> list[Any]:
    """The outputs as Jupyter (and the book's own execution) records them. nbval runs a cell
    without storing it in IPython's history, where IPython looks for a final ';' to hide the
    cell's value, so its runs keep the value (``<matplotlib.legend.Legend at 0x...>``) that a
    trailing ';' hides: drop it here, and number the value's output as its cell."""
    from IPython.core.displayhook import DisplayHook

    quiet = DisplayHook.semicolon_at_end_of_expression(source)
    kept = [o for o in outputs if not (quiet and o.get("output_type") == "execute_result")]
    for output in kept:
        if output.get("output_type") == "execute_result":
            output["execution_count"] = count
    return kept


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
