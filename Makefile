# The README's two commands:  `make book`  and  `make test`.
# Both start from nothing: they create the virtual environment, install the
# project and fetch MNIST when those are missing.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
JB     := $(VENV)/bin/jupyter-book
STAMP  := $(VENV)/.installed
# Extra flags for jupyter-book, e.g. JBFLAGS=--all to re-execute everything.
JBFLAGS ?=
# Extra flags for the benchmark, e.g. BENCHFLAGS=--save to update benchmarks/results.
BENCHFLAGS ?=
# Hash of the package source: when it changes, the execution cache and Sphinx's
# saved pages are dropped, so every chapter runs again: jupyter-cache only
# notices changes to the chapters' code cells, and Sphinx only re-reads
# chapters whose files changed. Computed in Python, so it needs no GNU sha256sum
# (macOS, BSD) and covers subpackages. The chapters' device ($$MNIST_LESSONS_DEVICE,
# default cpu) and $$OMP_NUM_THREADS are part of the hash: switching either re-executes every chapter.
PKG_HASH = $(shell $(PYTHON) -c 'import hashlib, os, pathlib; h = hashlib.sha256(); [h.update(p.read_bytes()) for p in sorted(pathlib.Path("mnist_lessons").rglob("*.py"))]; h.update(("device=" + os.environ.get("MNIST_LESSONS_DEVICE", "") + " threads=" + os.environ.get("OMP_NUM_THREADS", "")).encode()); print(h.hexdigest()[:16])')

.PHONY: book test install data clean bench

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 10), "Python 3.10 or newer is needed"'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade --quiet pip
	$(PY) -m pip install --quiet -e '.[book,test]'
	touch $@

data: install
	$(PY) -m mnist_lessons data

book: install data
	@mkdir -p _build
	@if [ "$$(cat _build/.package-hash 2>/dev/null)" != "$(PKG_HASH)" ]; then \
	  echo "mnist_lessons changed: dropping the execution cache"; \
	  rm -rf _build/.jupyter_cache _build/.doctrees _build/ledger; echo "$(PKG_HASH)" > _build/.package-hash; fi
	$(JB) build . -W -n --keep-going $(JBFLAGS)

test: install
	$(PY) -m pytest -m "" --doctest-modules $(PYTEST_ARGS)

bench: install data
	$(PY) -m benchmarks.bench $(BENCHFLAGS)

clean:
	rm -rf _build
