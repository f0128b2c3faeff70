"""`make lab`, opened in a real browser: the chapters open as notebooks with their MyST rendered.

Starts `make lab` (which installs JupyterLab, jupytext and jupyterlab-myst into .venv) on a free
port, opens chapters/mlp.md in Chromium and checks that every Markdown cell went through the MyST
renderer: no raw roles or directives left (`{ref}`, `{term}`, `{cite:p}`, `{py:func}`, labels,
fences), and one rendered dropdown per exercise solution. As root (CI, containers) it also checks
that `make lab` said it passes --allow-root. Screenshots go to `_build/screenshots/lab-mlp*.png`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "_build" / "screenshots"
CHAPTER = ROOT / "chapters" / "mlp.md"
# "(chap-mlp)=" is the chapter's label line (a cross-reference shows as "chap-backprop" in Lab).
RAW_MYST = (
    "{ref}`", "{term}`", "{cite", "{py:", "{doc}`", ":::", "```", "(chap-mlp)=", "{dropdown}"
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    port, state = _free_port(), tmp_path_factory.mktemp("lab")
    # Render every cell at once, not only those scrolled into view, so that all can be checked.
    settings = state / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings"
    settings.parent.mkdir(parents=True)
    settings.write_text('{"windowingMode": "none"}')
    log = state / "make-lab.log"
    args = (f"--no-browser --port={port} --IdentityProvider.token= --ServerApp.password= "
            f"--LabApp.workspaces_dir={state} --LabApp.user_settings_dir={state}")
    with log.open("w") as out:
        proc = subprocess.Popen(["make", "lab", f"LAB_ARGS={args}"], cwd=ROOT, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 300  # the first run installs JupyterLab
        while True:
            if proc.poll() is not None:
                pytest.fail(f"make lab exited with {proc.returncode}:\n{log.read_text()}")
            try:
                with urllib.request.urlopen(url + "api/status", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"JupyterLab did not start:\n{log.read_text()}")
                time.sleep(1)
        yield url, log
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def test_make_lab_opens_a_chapter_with_its_myst_rendered(lab: tuple[str, Path]) -> None:
    url, log = lab
    if os.getuid() == 0:
        assert "running as root" in log.read_text() and "--allow-root" in log.read_text()
    before = hashlib.sha256(CHAPTER.read_bytes()).hexdigest()
    source = CHAPTER.read_text(encoding="utf-8")
    dropdowns = len(re.findall(r"\{dropdown\}", source))
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                    args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url + "lab/tree/mlp.md?reset", wait_until="domcontentloaded")
        page.wait_for_function(
            "() => [...document.querySelectorAll('.jp-MarkdownCell .myst')]"
            ".some(c => c.textContent.includes('Fashion-MNIST'))",
            timeout=120_000,
        )
        # The other cells render a moment later; if some never do, the assertion below says so.
        with contextlib.suppress(PlaywrightTimeout):
            page.wait_for_function(
                "() => [...document.querySelectorAll('.jp-MarkdownCell')]"
                ".every(c => c.querySelector('.myst'))",
                timeout=30_000,
            )
        cells, rendered, texts, details = page.evaluate(
            """() => {
              const cells = document.querySelectorAll('.jp-MarkdownCell');
              const myst = [...document.querySelectorAll('.jp-MarkdownCell .myst')];
              return [cells.length, myst.length, myst.map(m => m.textContent),
                      document.querySelectorAll('.jp-MarkdownCell details.myst-dropdown').length];
            }"""
        )
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "lab-mlp.png"))
        if details:  # an exercise with its solution opened, for people to look at
            page.evaluate(
                "() => { const d = document.querySelector('.jp-MarkdownCell details');"
                " d.open = true; d.closest('.jp-MarkdownCell').scrollIntoView(); }"
            )
            time.sleep(1)
            page.screenshot(path=str(SHOTS / "lab-mlp-exercises.png"))
        browser.close()
    assert cells > 10 and rendered == cells, f"{rendered} of {cells} Markdown cells rendered"
    raw = {needle: sum(t.count(needle) for t in texts) for needle in RAW_MYST}
    assert not any(raw.values()), f"MyST syntax left as raw text: {raw}"
    assert details == dropdowns, f"{details} rendered dropdowns, the chapter has {dropdowns}"
    assert hashlib.sha256(CHAPTER.read_bytes()).hexdigest() == before, "opening changed the chapter"


EXPLORABLE_CELL = '''from d2lmini.explore import explorable

def draw(fig, rate):
    ax = fig.subplots()
    ax.plot([0, 1], [0, rate])
    ax.set_ylim(0, 3)
    return f"slope {rate}"

explorable(draw, [0.5, 1.0, 2.0, 3.0], name="slope", play=True)
'''


def test_an_explorable_runs_in_lab(lab: tuple[str, Path]) -> None:
    """A reader runs a cell that makes an explorable: its slider works in JupyterLab too."""
    url, _ = lab
    name = "_explorable_check.ipynb"
    notebook = CHAPTER.parent / name  # the Lab's root folder is chapters/
    notebook.write_text(json.dumps({
        "cells": [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
                   "source": EXPLORABLE_CELL}],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                    "language": "python"}},
        "nbformat": 4, "nbformat_minor": 5}), encoding="utf-8")
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                        args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(url + f"lab/tree/{name}?reset", wait_until="domcontentloaded")
            page.wait_for_selector(".jp-Notebook .jp-CodeCell", timeout=120_000)
            # Shift+Enter before the kernel is up moves on without running the cell
            page.wait_for_function(
                "() => /\\|\\s*Idle/.test("
                "document.querySelector('#jp-main-statusbar')?.innerText || '')",
                timeout=120_000)
            page.locator(".jp-Notebook .jp-CodeCell .jp-InputPrompt").first.click()
            page.keyboard.press("Shift+Enter")
            figure = page.locator(".jp-OutputArea figure.explorable")
            figure.wait_for(timeout=120_000)
            label = figure.locator(".explorable-label")
            assert label.inner_text() == "slope 0.5"
            image = figure.locator("img.explorable-frame")
            first = image.get_attribute("src")
            slider = figure.locator("input.explorable-slider")
            slider.focus()
            page.keyboard.press("ArrowRight")  # JupyterLab takes arrow keys unless we do
            assert label.inner_text() == "slope 1.0", "the arrow key did not move the slider"
            assert image.get_attribute("src") != first
            page.keyboard.press("End")
            assert label.inner_text() == "slope 3.0"
            box = slider.bounding_box()
            assert box is not None
            page.mouse.click(box["x"] + 2, box["y"] + box["height"] / 2)  # the mouse, too
            assert label.inner_text() == "slope 0.5" and image.get_attribute("src") == first
            SHOTS.mkdir(parents=True, exist_ok=True)
            figure.screenshot(path=str(SHOTS / "lab-explorable.png"))
            browser.close()
    finally:
        notebook.unlink(missing_ok=True)
        shutil.rmtree(CHAPTER.parent / ".ipynb_checkpoints", ignore_errors=True)
