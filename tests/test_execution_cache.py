"""The book renders the run that `make test` made, and never a stale one (_ext/execution_cache.py).

The end-to-end test builds a one-chapter copy of the book: first from a cached run whose output
carries a marker (so the page can only show it if the build rendered the cache, not its own
execution), then after a change to ``d2lmini`` alone, when the build must execute the chapter
itself and the marker must be gone.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "_ext"))

import execution_cache  # noqa: E402

CHAPTER = "chapters/preliminaries.md"
MARKER = "rendered-from-the-test-run-cache"


def _fake_run(notebook: object) -> object:
    """Give every code cell an execution count and the last one an output with the marker."""
    cells = [c for c in notebook.cells if c.cell_type == "code"]  # type: ignore[attr-defined]
    for count, cell in enumerate(cells, start=1):
        cell.execution_count = count
        cell.outputs = []
    from nbformat.v4 import new_output

    cells[-1].outputs = [new_output("stream", name="stdout", text=MARKER + "\n")]
    return notebook


def test_the_stamp_changes_with_d2lmini_and_the_pins(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "d2lmini").mkdir()
    (tmp_path / "d2lmini" / "data.py").write_text("x = 1\n")
    (tmp_path / "requirements.txt").write_text("torch==2.14.1\n")
    monkeypatch.setattr(execution_cache, "ROOT", tmp_path)
    before = execution_cache.inputs_key()
    assert execution_cache.inputs_key() == before  # deterministic
    (tmp_path / "d2lmini" / "data.py").write_text("x = 2\n")
    after_code = execution_cache.inputs_key()
    (tmp_path / "requirements.txt").write_text("torch==2.15.0\n")
    assert len({before, after_code, execution_cache.inputs_key()}) == 3


def test_prepare_empties_a_cache_filled_with_other_inputs(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    assert execution_cache.prepare(cache) is False  # a new cache: nothing to drop
    (cache / "entry").write_text("a run")
    assert execution_cache.prepare(cache) is False and (cache / "entry").exists()
    (cache / execution_cache.STAMP_NAME).write_text("another d2lmini\n")
    assert execution_cache.prepare(cache) is True
    assert not (cache / "entry").exists()
    assert (cache / execution_cache.STAMP_NAME).read_text().strip() == \
        execution_cache.inputs_key()


def test_a_stored_run_matches_the_chapter_as_the_book_reads_it(tmp_path: Path) -> None:
    from jupyter_cache import get_cache

    notebook = _fake_run(execution_cache.read_chapter(ROOT / CHAPTER))
    execution_cache.store(ROOT / CHAPTER, notebook, 1.0, cache=tmp_path)
    record = get_cache(str(tmp_path)).match_cache_notebook(
        execution_cache.read_chapter(ROOT / CHAPTER))
    assert record.uri == str(ROOT / CHAPTER)


def _book_copy(tmp_path: Path) -> Path:
    book = tmp_path / "book"
    for name in ("_config.yml", "index.md", "references.bib", "_ext", "_static", "d2lmini",
                 "requirements.txt", CHAPTER):
        source, target = ROOT / name, book / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, target)
    (book / "_toc.yml").write_text(f"format: jb-book\nroot: index\nchapters:\n  - file: "
                                   f"{CHAPTER.removesuffix('.md')}\n")
    (book / "_build" / "extra").mkdir(parents=True)
    return book


def _build(book: Path) -> str:
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    result = subprocess.run([str(jupyter_book), "build", str(book), "--builder", "html"],
                            capture_output=True, text=True, cwd=book)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    page = book / "_build" / "html" / CHAPTER.replace(".md", ".html")
    return page.read_text(encoding="utf-8")


def test_the_book_renders_the_test_run_until_d2lmini_changes(tmp_path: Path) -> None:
    book = _book_copy(tmp_path)
    cache = book / "_build" / ".jupyter_cache"
    original_root = execution_cache.ROOT
    try:
        execution_cache.ROOT = book  # the copy's d2lmini and pins make the stamp
        execution_cache.prepare(cache)
        chapter = book / CHAPTER
        execution_cache.store(chapter, _fake_run(execution_cache.read_chapter(chapter)), 1.0,
                              cache=cache)
    finally:
        execution_cache.ROOT = original_root
    assert MARKER in _build(book), "the build executed the chapter instead of using the cache"

    with (book / "d2lmini" / "plot.py").open("a") as f:
        f.write("\n# a change to d2lmini alone\n")
    page = _build(book)
    assert MARKER not in page, "after a change to d2lmini, the build rendered the stale run"
    assert "Checked on this page" in page  # ... because it executed the chapter again
