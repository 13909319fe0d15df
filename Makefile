# The Softmax Book: `make book` builds the book, `make test` runs every test. Both set up .venv first.
# Targets are idempotent: the stamps below redo a step only when its inputs changed.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
PIP    := $(PY) -m pip --disable-pip-version-check -q
# uv (from PyPI, installed into .venv by pip) resolves and installs the same packages several times
# faster than pip: about 1 minute instead of 5 for a fresh .venv on the 2-core machine.
UV     := $(BIN)/uv pip install -q --python $(PY)
# Sources of the compiled extension: a change to any of them rebuilds it.
EXT_SOURCES := $(wildcard cpp/*.cpp cpp/*.h cpp/*/*.cpp cpp/*/*.h) CMakeLists.txt
BOOK_SOURCES := $(shell find book softlib -type f \( -name '*.ipynb' -o -name '*.md' -o -name '*.py' -o -name '*.bib' -o -name '*.css' \) -not -path '*/.ipynb_checkpoints/*' 2>/dev/null) _config.yml _toc.yml

.PHONY: setup book test unit lab bench clean

setup: $(VENV)/.ext-stamp

# The environment: the build tools, then softlib in editable mode with the book's and the tests' extras.
$(VENV)/.deps-stamp: pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install uv
	$(UV) "scikit-build-core>=0.10" "pybind11>=3" cmake ninja
	$(UV) --no-build-isolation -e ".[book,test]"
	touch $@
	test -e $(VENV)/.ext-stamp || touch $(VENV)/.ext-stamp  # a new .venv's extension was just built

# The extension, rebuilt incrementally in build/ when a C++ source changes.
$(VENV)/.ext-stamp: $(VENV)/.deps-stamp $(EXT_SOURCES)
	$(UV) --no-build-isolation --no-deps --reinstall-package softlib -e .
	touch $@

# Executes every chapter (cached: an unchanged chapter is not re-run) and builds the HTML.
book: _build/html/index.html
	@echo "The book is built: open file://$(CURDIR)/_build/html/index.html"

# SOFTLIB_BOOK_BUILD=1 makes softlib.book.viz.explore compute the kernel-free frames of its figures, and
# TQDM_DISABLE=1 keeps progress bars out of the pages (a reader's kernel still shows them).
# First the chapters whose code changed are executed $(JOBS) at a time into the cache that the build
# reads (a chapter that fails there is executed again by the build, which fails with its traceback).
# This is the only execution of the chapters in `make book` and `make test`: a cell that raises fails
# the build, and tests/test_chapters.py checks that the cache holds a successful run of each chapter's
# current source. Then the build: every page is read again (--all: cheap, the outputs come from the
# cache, and no page is left stale), warnings (broken references included) are errors. Last, a table
# of each page's execution time, its interactive figures' redraw times and its weight.
CACHE := _build/.jupyter_cache
JOBS ?= 2
BOOK_ENV := SOFTLIB_BOOK_BUILD=1 TQDM_DISABLE=1

_build/html/index.html: $(VENV)/.ext-stamp $(BOOK_SOURCES)
	$(BOOK_ENV) $(PY) tests/browser/book_build.py execute $(CACHE) --jobs $(JOBS)
	$(BOOK_ENV) $(BIN)/jupyter-book build --all --warningiserror --keep-going --path-output . .
	@$(PY) tests/browser/book_build.py report $(CACHE)
	touch $@

# Every test in one pytest run, so its summary line closes the output: the unit tests and doctests
# (the slow ones included), the checks that the book build executed every chapter's current source
# without an error (SOFTLIB_REQUIRE_BOOK=1: fail, not skip, when it did not), and the browser tests of
# the built book. Tests run $(JOBS) at a time (pytest-xdist). The chapters are not executed again here:
# to run one chapter under nbval by hand, `$(PY) -m pytest --nbval-lax -p no:cacheprovider
# book/<part>/<chapter>.ipynb`.
test: book
	SOFTLIB_REQUIRE_BOOK=1 $(PY) -m pytest tests softlib --doctest-modules \
	  -p no:cacheprovider -n $(JOBS) --dist load

# The unit tests and doctests without the slow ones (marked `slow` in tests/conftest.py) and without
# the browser tests of the built book (make test runs both): about 40 s, what to run while editing.
unit: setup
	$(PY) -m pytest tests softlib --doctest-modules -m "not slow" --ignore=tests/browser -p no:cacheprovider -n $(JOBS)

# JupyterLab on the chapters, with jupyterlab-myst rendering their MyST markup. Notebooks are saved
# with outputs, so first git learns to strip them on commit (tools/nbnormalize.py, .gitattributes).
# As root (containers) JupyterLab refuses to start unless told --allow-root.
lab: setup
	$(UV) --no-build-isolation -e ".[book,test,lab]"
	-$(PY) tools/nbnormalize.py --install
	$(BIN)/jupyter lab $(if $(filter 0,$(shell id -u)),--allow-root) book

bench: setup
	$(PY) -m softlib.book.bench

clean:
	rm -rf _build build $(VENV) .pytest_cache .hypothesis softlib/*.so
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
