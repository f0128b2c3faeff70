"""Execute every chapter once; render every edition from that one execution.

``make test`` runs each chapter under nbval (``conftest.py``). When every cell of a chapter passes,
the executed notebook, outputs and all, is stored in the book's jupyter-cache
(``_build/.jupyter_cache``), keyed as myst-nb keys it: by the chapter's code cells. The book
(``execute_notebooks: cache``), the single-page build behind the PDF and any later edition then
render those outputs instead of executing the chapter again; a chapter whose code changed has no
entry and is executed by the build.

A change that is *not* in the chapter's code cells would leave the cache stale: the helper package
``d2lmini``, the pinned versions, the Python. So the cache carries a stamp, a hash of all of them
(:func:`inputs_key`); when the stamp differs, :func:`prepare` empties the cache before anything is
read from it or written to it, and every chapter executes again. Both the nbval session and the
Sphinx build call it.

Set ``D2LMINI_EXECUTION_CACHE=0`` to keep a test run from storing its notebooks (``make
test-latest`` does: its newest releases are not what the book is built with).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import shutil
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "_build" / ".jupyter_cache"
STAMP_NAME = "d2lmini-inputs.sha256"
# The book's Markdown extensions (_config.yml: parse.myst_enable_extensions): the notebook must be
# read exactly as myst-nb reads it, or its cache key would differ.
MYST_EXTENSIONS = ("amsmath", "colon_fence", "deflist", "dollarmath", "substitution")
_PACKAGES = ("torch", "numpy", "matplotlib", "sacrebleu", "ipykernel", "myst-nb")


def storing_enabled() -> bool:
    """Whether test runs store their executed notebooks (``D2LMINI_EXECUTION_CACHE``)."""
    return os.environ.get("D2LMINI_EXECUTION_CACHE", "1") not in ("0", "off", "no", "false")


def inputs_key() -> str:
    """A hash of what the chapters' outputs depend on beyond their own code cells."""
    digest = hashlib.sha256()
    files = [*sorted((ROOT / "d2lmini").glob("*.py")), ROOT / "requirements.txt"]
    for path in files:
        digest.update(path.relative_to(ROOT).as_posix().encode())
        digest.update(path.read_bytes())
    digest.update(sys.version.encode())
    for package in _PACKAGES:
        try:
            version = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            version = "absent"
        digest.update(f"{package}=={version}".encode())
    return digest.hexdigest()


def prepare(cache: Path = CACHE) -> bool:
    """Empty ``cache`` if it was filled with other inputs than today's; return whether it was."""
    stamp = cache / STAMP_NAME
    key = inputs_key()
    if stamp.is_file() and stamp.read_text().strip() == key:
        return False
    stale = cache.exists()
    shutil.rmtree(cache, ignore_errors=True)
    cache.mkdir(parents=True, exist_ok=True)
    stamp.write_text(key + "\n")
    return stale


def read_chapter(path: Path) -> Any:
    """The chapter as myst-nb reads it for the book (the same cells, so the same cache key)."""
    from myst_nb.core.read import read_myst_markdown_notebook
    from myst_parser.config.main import MdParserConfig

    config = MdParserConfig(enable_extensions=set(MYST_EXTENSIONS))
    return read_myst_markdown_notebook(path.read_text(encoding="utf-8"), config=config,
                                       add_source_map=True, path=str(path))


def store(path: Path, notebook: Any, seconds: float, cache: Path = CACHE) -> None:
    """Cache a notebook whose every code cell ran and passed, for the book to render."""
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    get_cache(str(cache)).cache_notebook_bundle(
        CacheBundleIn(notebook, str(path), data={"execution_seconds": seconds}),
        check_validity=True,  # execution counts 1, 2, ...: every cell ran, in order
        overwrite=True,
    )


def _cache_of(app: Any) -> Path:
    """The cache the book reads (_config.yml: execute.cache), relative to the book's folder."""
    path = app.config.nb_execution_cache_path
    cache = Path(path) if path else Path("_build") / ".jupyter_cache"
    return cache if cache.is_absolute() else Path(app.srcdir) / cache


def _builder_inited(app: Any) -> None:
    from sphinx.util import logging

    cache = _cache_of(app)
    app.env.d2lmini_cache_emptied = prepare(cache)
    if app.env.d2lmini_cache_emptied:
        logging.getLogger(__name__).info(
            "d2lmini, the pinned versions or Python changed since the chapters were last "
            "executed: the execution cache was emptied, every chapter executes again"
        )


def _outdated(app: Any, env: Any, added: set[str], changed: set[str],
              removed: set[str]) -> list[str]:
    """After the cache was emptied, read every page again, changed or not: an incremental build
    would otherwise keep the outputs it rendered from the stale runs."""
    return sorted(env.found_docs) if getattr(env, "d2lmini_cache_emptied", False) else []


def _write_cached_notebooks(app: Any, exception: Exception | None) -> None:
    """myst-nb (1.4) writes the downloadable .ipynb of a page rendered from the cache without
    its outputs (it saves the notebook it read, not the one merged with the cached run): write
    the merged one over it, in the executed-notebook folder and in the HTML's _sources."""
    if exception is not None:
        return
    import nbformat
    from jupyter_cache import get_cache

    cache = _cache_of(app)
    outdir = Path(app.outdir)
    for chapter in sorted((Path(app.srcdir) / "chapters").glob("*.md")):
        try:
            _, merged = get_cache(str(cache)).merge_match_into_notebook(read_chapter(chapter))
        except KeyError:
            continue  # not in the cache: executed by this build, written with its outputs
        text = nbformat.writes(merged)
        for target in (outdir / "_sources" / "chapters" / f"{chapter.stem}.ipynb",
                       outdir.parent / "jupyter_execute" / "chapters" / f"{chapter.stem}.ipynb"):
            if target.is_file():
                target.write_text(text, encoding="utf-8")


def setup(app: Any) -> dict[str, Any]:
    app.connect("builder-inited", _builder_inited, priority=100)  # before myst-nb reads a page
    app.connect("env-get-outdated", _outdated)
    app.connect("build-finished", _write_cached_notebooks)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
