# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PYTEST_WORKERS ?= 2

.PHONY: setup demo test bench clean

$(STAMP): pyproject.toml viewer/package-lock.json
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,dev]'
	@if [ -f viewer/package-lock.json ]; then cd viewer && npm ci --no-audit --no-fund && npm run build; fi
	touch $@

setup: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/stadstwin demo demo

# one numba thread per test worker: the workers already fill the cores (no oversubscription)
test: $(STAMP)
	NUMBA_NUM_THREADS=1 $(PY) -m pytest -n $(PYTEST_WORKERS) -q

bench: $(STAMP)
	@set -e; for b in benchmarks/bench_*.py; do echo "== $$b"; $(PY) $$b; done

clean:
	rm -rf $(VENV) demo .pytest_cache .hypothesis
