"""Every chapter runs as a plain Python script, not only inside Jupyter: checked without running it.

A chapter can depend on Jupyter in a few ways only: IPython's magics (``%matplotlib``,
``%timeit``) and shell escapes (``!pip``), the names IPython puts in a kernel's namespace
(``display``, ``get_ipython``, ``In``, ``Out``, ``_``), and ``await`` at the top level of a cell.
This test turns each chapter into the script jupytext writes (``make test-scripts`` runs those
scripts, which takes as long as running the chapters again) and finds each of them statically:
the script must compile, no code cell may hold a magic or a shell escape, and Ruff's
undefined-name check (F821) must pass on the script.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import jupytext
import pytest

CHAPTERS = sorted((Path(__file__).resolve().parents[1] / "chapters").glob("*.md"))
_MAGIC = re.compile(r"^\s*(?:%|!)", re.M)


@pytest.fixture(scope="module")
def scripts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("scripts")
    written = {}
    for chapter in CHAPTERS:
        notebook = jupytext.read(chapter)
        path = folder / f"{chapter.stem}.py"
        path.write_text(jupytext.writes(notebook, fmt="py:percent"), encoding="utf-8")
        written[chapter.stem] = path
    return written


@pytest.mark.parametrize("chapter", CHAPTERS, ids=[c.stem for c in CHAPTERS])
def test_no_code_cell_uses_a_magic_or_a_shell_escape(chapter: Path) -> None:
    cells = [c.source for c in jupytext.read(chapter).cells if c.cell_type == "code"]
    magic = [line for src in cells for line in src.splitlines() if _MAGIC.match(line)]
    assert magic == [], f"{chapter.name}: IPython-only lines {magic}; use plain Python"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=[c.stem for c in CHAPTERS])
def test_the_script_compiles(chapter: Path, scripts: dict[str, Path]) -> None:
    source = scripts[chapter.stem].read_text(encoding="utf-8")
    compile(source, str(scripts[chapter.stem]), "exec")  # top-level await fails here


def test_no_script_uses_a_name_only_a_kernel_defines(scripts: dict[str, Path]) -> None:
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    assert ruff, "ruff is in requirements.txt"
    result = subprocess.run([ruff, "check", "--isolated", "--select", "F821", "--output-format",
                             "concise", *map(str, scripts.values())],
                            capture_output=True, text=True)
    assert result.returncode == 0, f"names no script defines:\n{result.stdout}"


def test_the_check_finds_what_only_jupyter_runs(tmp_path: Path) -> None:
    script = tmp_path / "jupyter_only.py"
    script.write_text("display(1)\n", encoding="utf-8")
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    result = subprocess.run([str(ruff), "check", "--isolated", "--select", "F821", str(script)],
                            capture_output=True, text=True)
    assert result.returncode == 1 and "display" in result.stdout
    assert _MAGIC.match("%timeit f()") and _MAGIC.match("!pip install x")
    with pytest.raises(SyntaxError):
        compile("await something()\n", "cell", "exec")
