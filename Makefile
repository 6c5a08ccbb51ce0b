# Levante developer commands. Both targets create .venv and install what they need.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin

.PHONY: serve test bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -U pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml tests/plugins/levante_sample_actions/pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'
	$(BIN)/pip install -q -e tests/plugins/levante_sample_actions
	touch $@ $(VENV)/.installed

## serve: install Levante and run the server (SQLite file levante.sqlite, http://127.0.0.1:8989/v2)
serve: $(VENV)/.installed
	$(BIN)/levante server $(ARGS)

## test: install test dependencies and run the whole test suite
test: $(VENV)/.installed-test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## bench: run the benchmark workloads against a running server (URL=...)
bench: $(VENV)/.installed-test
	$(BIN)/python bench/run.py $(if $(URL),--url $(URL)) $(BENCH_ARGS)

clean:
	rm -rf $(VENV) *.egg-info levante.sqlite levante.sqlite-*
