# The book's commands. `make book` and `make test` create or update the virtual environment in
# .venv from requirements.txt first, so on a fresh machine they are the only commands needed.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
BUILD  := _build
MATHJAX_VERSION := 3.2.2
MATHJAX_DIR := $(BUILD)/extra/mathjax
MATHJAX := $(MATHJAX_DIR)/tex-chtml.js
# The Python package (import name) that ships MathJax's es5/ files: django-static-mathjax.
MATHJAX_PACKAGE ?= mathjax
MATHJAX_CDN := https://cdn.jsdelivr.net/npm/mathjax@$(MATHJAX_VERSION)/es5/tex-chtml.js
# No progress bars in logs or in the built book.
export D2LMINI_PROGRESS := 0
export PYDEVD_DISABLE_FILE_VALIDATION := 1
# The virtual environment's packages are installed by uv (pinned here, itself installed by pip):
# the same pins of requirements.txt, the same packages as `pip install -r requirements.txt`, in
# 41 s instead of 100 s on a two-core machine (torch alone unpacks to several GB). Neither compiles
# bytecode at install time: Python writes each module's bytecode the first time it is imported,
# only for what the book imports, not every file of torch, Jupyter and Sphinx. Hence bytecode
# writing on, even where the environment turns it off.
UV := uv==0.13.9
unexport PYTHONDONTWRITEBYTECODE

.PHONY: help venv book pdf mathjax locale locale-check test test-lib test-notebooks test-scripts test-latest test-browser notebooks bench lab clean

help:
	@echo "make book          build the HTML book in $(BUILD)/html, its PDF and the Chinese edition in $(BUILD)/html/zh"
	@echo "make locale        update the Chinese catalogues, locale/zh_CN/LC_MESSAGES/*.po, from the sources"
	@echo "make locale-check  fail if the catalogues are stale against the sources (CI runs it)"
	@echo "make pdf           the whole book as one PDF, $(BUILD)/pdf/book.pdf (Chromium prints it)"
	@echo "make test          lint, type-check and unit-test d2lmini, then run every chapter under nbval"
	@echo "make test-scripts  run every chapter as a plain Python script, without Jupyter"
	@echo "make test-latest   the library tests and every chapter at the newest releases (needs PyPI)"
	@echo "make test-browser  open every page of the built book in Chromium and check it"
	@echo "make notebooks     write .ipynb files of the chapters to $(BUILD)/notebooks/chapters"
	@echo "make bench         time d2lmini's training loop against a bare PyTorch loop"
	@echo "make lab           start JupyterLab, with the chapters opening as notebooks, MyST rendered"
	@echo "make mathjax       put MathJax in $(BUILD)/extra for the book (make book does it)"
	@echo "make clean         remove everything generated (not .venv or data/)"

venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet $(UV)
	$(BIN)/uv pip install --python $(BIN)/python --quiet -r requirements.txt
	$(BIN)/uv pip install --python $(BIN)/python --quiet --no-deps --no-build-isolation -e .
	@touch $@

test: test-lib test-notebooks

# The library tests on two workers (pytest-xdist): 40 s instead of 65 s on two cores. None of
# them times anything but the distributed tests' timeouts, with seconds to spare for a busy machine.
test-lib: venv
	$(BIN)/ruff check d2lmini tests benchmarks conftest.py _ext
	$(BIN)/mypy
	$(BIN)/pytest tests --ignore=tests/browser -n 2

test-notebooks: venv
	$(BIN)/pytest --nbval-lax --nbval-current-env chapters

# Always from a clean output folder: a rebuild after a failure would otherwise report success.
# A chapter renders the run `make test` stored in the execution cache (_ext/execution_cache.py);
# one with no stored run (changed since, or never tested) executes here, so after the English
# build every run is stored. The Chinese edition (_ext/zh_book.py: the pages of _toc.zh.yml,
# translated by locale/) renders the same runs into $(BUILD)/html/zh, after the English, whose
# MathJax and objects.inv it uses; then its PDF, $(BUILD)/pdf/book.zh.pdf, from the doctrees
# its HTML build left. The Chinese edition and the English PDF only read the stored runs and
# write to folders of their own ($(BUILD)/zh and book.zh.pdf; $(BUILD)/singlehtml and
# book.pdf), so they build side by side: on two cores, 121 s for the whole book with both PDFs
# (before, one after the other and with the English PDF alone, 149 s). Each PDF is copied into
# its edition last, where every page's "Whole book (.pdf)" (全书 PDF) link finds it.
book: venv $(MATHJAX)
	rm -rf $(BUILD)/html $(BUILD)/.doctrees $(BUILD)/jupyter_execute $(BUILD)/zh
	$(BIN)/jupyter-book build . --builder html -W -n --keep-going
	@start=$$(date +%s); \
	  { { $(BIN)/python _ext/zh_book.py html && $(BIN)/python _ext/zh_book.py pdf; } \
	    > $(BUILD)/zh.log 2>&1; echo $$? > $(BUILD)/zh.rc; } & \
	  $(MAKE) --no-print-directory pdf; pdf=$$?; wait; \
	  cat $(BUILD)/zh.log; zh=$$(cat $(BUILD)/zh.rc); rm -f $(BUILD)/zh.rc; \
	  echo "the Chinese edition and the PDFs, side by side, took $$(( $$(date +%s) - start )) s"; \
	  [ "$$zh" = 0 ] || { echo "the Chinese edition failed (its log is above)" >&2; exit 1; }; \
	  [ "$$pdf" = 0 ] || { echo "the PDF failed (its log is above)" >&2; exit 1; }
	cp $(BUILD)/pdf/book.pdf $(BUILD)/html/book.pdf
	cp $(BUILD)/pdf/book.zh.pdf $(BUILD)/html/zh/book.pdf
	@echo "open $(BUILD)/html/index.html"

# One page holding the whole book, from the same executed notebooks, printed by Debian's Chromium
# (through the pinned Playwright) after MathJax has typeset every formula; _static/print.css
# drops the sidebars and buttons and prints the solutions open.
pdf: venv $(MATHJAX)
	rm -rf $(BUILD)/singlehtml
	$(BIN)/jupyter-book build . --builder singlehtml -W -n --keep-going
	$(BIN)/python _ext/book_pdf.py $(BUILD)/singlehtml $(BUILD)/pdf/book.pdf

mathjax: $(MATHJAX)

# The Chinese edition's catalogues, one per page of _toc.zh.yml: extract the English messages
# (gettext builder; no notebook executes, code and outputs are never extracted), then merge them
# into locale/zh_CN/LC_MESSAGES/<page>.po. A changed English message comes back fuzzy (with the old
# translation as a hint) or untranslated; translate it, and tests/test_translation.py passes again.
locale: venv
	$(BIN)/python _ext/zh_book.py extract $(BUILD)/gettext
	$(BIN)/sphinx-intl update --pot-dir $(BUILD)/gettext --locale-dir locale --language zh_CN --no-obsolete

locale-check: venv
	$(BIN)/python _ext/zh_book.py check

# MathJax, served with the book so that math renders with no network. First choice: the PyPI
# package django-static-mathjax, pinned in requirements.txt, so no Node is needed; without it,
# npm; with neither, a one-line loader that takes MathJax from a CDN (math then needs the network,
# and this says so). Redone when requirements.txt changes.
$(MATHJAX): $(STAMP)
	@rm -rf $(MATHJAX_DIR) $(BUILD)/npm && mkdir -p $(MATHJAX_DIR)
	@es5=$$($(BIN)/python -c "import importlib.util as u, pathlib; s = u.find_spec('$(MATHJAX_PACKAGE)'); \
	  print(pathlib.Path(s.origin).parent / 'static/mathjax/es5' if s and s.origin else '')" 2>/dev/null); \
	if [ -n "$$es5" ] && [ -f "$$es5/tex-chtml.js" ]; then \
	  (cd "$$es5" && cp -r tex-chtml.js input output ui a11y sre $(abspath $(MATHJAX_DIR))/) && \
	  echo "MathJax $(MATHJAX_VERSION): served with the book, from the Python package django-static-mathjax"; \
	elif command -v npm >/dev/null; then \
	  mkdir -p $(BUILD)/npm && (cd $(BUILD)/npm && npm pack --silent mathjax@$(MATHJAX_VERSION) >/dev/null) && \
	  tar -xzf $(BUILD)/npm/mathjax-$(MATHJAX_VERSION).tgz -C $(BUILD)/npm && \
	  (cd $(BUILD)/npm/package/es5 && cp -r tex-chtml.js input output ui a11y sre $(abspath $(MATHJAX_DIR))/) && \
	  rm -rf $(BUILD)/npm && echo "MathJax $(MATHJAX_VERSION): served with the book, from npm"; \
	else \
	  printf '%s\n' "// No MathJax package and no npm here: MathJax loads from a CDN (see README)." \
	    "(function () { var s = document.createElement('script'); s.async = true;" \
	    "  s.src = '$(MATHJAX_CDN)'; document.head.appendChild(s); })();" > $(MATHJAX); \
	  echo "notice: neither django-static-mathjax nor npm found: the book loads MathJax from a CDN, so math needs the network"; \
	fi
	@test -s $(MATHJAX)

# Every chapter as a plain Python script, with a non-interactive Matplotlib backend: the figures
# are plain Matplotlib and must not need Jupyter. The hidden checks (remove-cell) run here too.
test-scripts: venv
	@mkdir -p $(BUILD)/scripts
	@for f in chapters/*.md; do \
	  name=$$(basename $$f .md); start=$$(date +%s); \
	  $(BIN)/jupytext --quiet --to py:percent --output $(BUILD)/scripts/$$name.py $$f || exit 1; \
	  (cd chapters && MPLBACKEND=Agg $(CURDIR)/$(BIN)/python $(CURDIR)/$(BUILD)/scripts/$$name.py \
	    > $(CURDIR)/$(BUILD)/scripts/$$name.log) \
	    || { echo "$$f failed as a script (its output: $(BUILD)/scripts/$$name.log)"; exit 1; }; \
	  printf '%5d s  %s as a script\n' $$(( $$(date +%s) - start )) $$f; \
	done

# The newest releases that pyproject.toml's loose bounds allow, as `pip install` gives them to a Colab
# or laptop reader, instead of requirements.txt's pins: a fresh virtual environment each time, then
# the library tests and every chapter under nbval. Not part of `make test` or CI: it needs the
# package registry, and its result changes as new releases come out (README, "Newest releases").
LATEST_VENV := $(BUILD)/venv-latest
test-latest:
	rm -rf $(LATEST_VENV)
	$(PYTHON) -m venv $(LATEST_VENV)
	$(LATEST_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(LATEST_VENV)/bin/python -m pip install --quiet --upgrade --upgrade-strategy eager -e ".[test,book]"
	@$(LATEST_VENV)/bin/python -c "import importlib.metadata as m; print('newest releases:', \
	  ', '.join(f'{p} {m.version(p)}' for p in ('torch', 'numpy', 'matplotlib', \
	  'sacrebleu', 'jupytext', 'nbval', 'ipykernel', 'pytest')))"
	@# Not the tests of the book's own build (Jupyter Book, pinned below 2; the Chinese edition's
	@# catalogues and glossary extension), which no reader installs.
	$(LATEST_VENV)/bin/pytest tests --ignore=tests/browser --ignore=tests/test_execution_cache.py \
	  --ignore=tests/test_translation.py --ignore=tests/test_glossary_chinese.py
	D2LMINI_EXECUTION_CACHE=0 $(LATEST_VENV)/bin/pytest --nbval-lax --nbval-current-env chapters

test-browser: venv
	@test -f $(BUILD)/html/index.html || { echo "build the book first: make book"; exit 1; }
	$(BIN)/pytest tests/browser -n 2 --durations=8

# Unexecuted .ipynb copies of the chapters, in the repository's layout, for Jupyter, VS Code and
# Colab (README: "Releasing the notebooks"). Never committed to main.
notebooks: venv
	@mkdir -p $(BUILD)/notebooks/chapters
	for f in chapters/*.md; do \
	  $(BIN)/jupytext --quiet --to ipynb --output $(BUILD)/notebooks/chapters/$$(basename $$f .md).ipynb $$f || exit 1; \
	done
	@echo "notebooks written to $(BUILD)/notebooks/chapters"

bench: venv
	$(BIN)/python benchmarks/bench_fit.py

# JupyterLab with jupytext (chapters open as notebooks) and jupyterlab-myst (their MyST roles,
# directives, labels, dropdowns and glossary links render in Markdown cells). Jupyter refuses to
# run as root, the usual user in containers and cloud notebooks: there it gets --allow-root, and
# says so. LAB_ARGS passes more options, e.g. `make lab LAB_ARGS="--no-browser --port 8899"`.
LAB_ARGS ?=
lab: venv
	$(BIN)/python -m pip install --quiet --no-compile jupyterlab==4.6.6 jupyterlab-myst==2.7.0
	@export JUPYTER_CONFIG_DIR=$(CURDIR)/.jupyter; \
	  $(BIN)/jupyter labextension list 2>&1 | grep -q "jupyterlab-myst.*enabled" \
	  || $(BIN)/jupyter labextension enable jupyterlab-myst
	@if [ "$$(id -u)" = 0 ]; then \
	  echo "make lab: running as root (common in containers): starting JupyterLab with --allow-root"; \
	  root=--allow-root; \
	fi; \
	JUPYTER_CONFIG_DIR=$(CURDIR)/.jupyter exec $(BIN)/jupyter lab $$root $(LAB_ARGS) chapters

clean:
	rm -rf $(BUILD) .pytest_cache .mypy_cache .ruff_cache
	find . -name __pycache__ -not -path './$(VENV)/*' -prune -exec rm -rf {} +
