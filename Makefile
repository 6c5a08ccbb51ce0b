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

## test: install test dependencies, start PostgreSQL, sshd, RabbitMQ and Keystone (scripts/test-services.sh),
##       run the whole suite, then the server-level tests again with every server on PostgreSQL
TEST_PG  ?= postgresql+psycopg://levante:levante@127.0.0.1:5432
TEST_KEYSTONE ?= http://127.0.0.1:5000/v3
TEST_AMQP ?= rabbit://guest:guest@127.0.0.1:5673/
PG_TESTS ?= tests/api tests/runtime tests/cli/test_sessions.py tests/queues tests/triggers
test: $(VENV)/.installed-test
	scripts/test-services.sh
	LEVANTE_TEST_PG=$(TEST_PG) LEVANTE_TEST_KEYSTONE=$(TEST_KEYSTONE) LEVANTE_TEST_AMQP=$(TEST_AMQP) $(BIN)/python -m pytest $(PYTEST_ARGS)
	LEVANTE_TEST_PG=$(TEST_PG) LEVANTE_TEST_KEYSTONE=$(TEST_KEYSTONE) LEVANTE_TEST_AMQP=$(TEST_AMQP) LEVANTE_TEST_SERVERS_ON_PG=1 $(BIN)/python -m pytest $(PYTEST_ARGS) $(PG_TESTS)

## bench: run the benchmark workloads against a running server (URL=...)
bench: $(VENV)/.installed-test
	$(BIN)/python bench/run.py $(if $(URL),--url $(URL)) $(BENCH_ARGS)

clean:
	rm -rf $(VENV) *.egg-info levante.sqlite levante.sqlite-*
