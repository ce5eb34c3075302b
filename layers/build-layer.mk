# Shared recipes for `sam build` (BuildMethod: makefile). Each layer installs its pinned
# requirements as arm64 (WHEEL_ARCH) / CPython 3.12 wheels (manylinux up to glibc 2.34, as on the python3.12
# runtime) into $(ARTIFACTS_DIR)/python and drops what the Lambda runtime already provides (boto3,
# botocore and their dependencies, whether packages or single-file modules such as six.py). It
# then compiles the bytecode with python3.12, hash-checked rather than timestamp-checked: /opt is
# read-only in Lambda, so without it every cold start would compile FastAPI, pydantic and the rest
# from source (measured: 1.1 s instead of 0.35 s).
LAYERS_DIR := $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))
PYTHON ?= $(shell command -v python3.12 >/dev/null 2>&1 && echo python3.12 || echo python3)
PIP ?= $(PYTHON) -m pip
# WHEEL_ARCH: the template's arm64 (aarch64) for `sam build`; the Lambda twin of the tests builds the
# same layers for the test machine's x86_64 (tests/integration/test_lambda_twin.py).
WHEEL_ARCH ?= aarch64
WHEELS = --quiet --disable-pip-version-check --upgrade --only-binary=:all: \
	--platform manylinux2014_$(WHEEL_ARCH) --platform manylinux_2_28_$(WHEEL_ARCH) --platform manylinux_2_34_$(WHEEL_ARCH) \
	--implementation cp --python-version 3.12
RUNTIME_PROVIDED = boto3 botocore s3transfer jmespath dateutil python_dateutil urllib3 six

# $(1): extra pip arguments
define install_layer
	$(PIP) install $(WHEELS) --no-compile --target "$(ARTIFACTS_DIR)/python" -r requirements.txt $(1)
	cd "$(ARTIFACTS_DIR)/python" && for p in $(RUNTIME_PROVIDED); do rm -rf $$p $$p.py $$p-*.dist-info; done
	rm -rf "$(ARTIFACTS_DIR)/python/bin"  # console scripts: never run in Lambda, their #! is this machine's python
	find "$(ARTIFACTS_DIR)/python" -name __pycache__ -type d -prune -exec rm -rf {} +
endef

define compile_bytecode
	if command -v python3.12 >/dev/null 2>&1; then \
		python3.12 -m compileall -q -j 0 --invalidation-mode unchecked-hash "$(ARTIFACTS_DIR)/python" >/dev/null || true; \
	else echo "warning: no python3.12 on PATH: layer built without bytecode (slower cold starts)"; fi
endef

# A layer stacked on other layers ($(1): their directories, e.g. "core ai") installs the
# dependencies it shares with them at their versions (constraints) and then leaves them out, so no
# function carries two copies of a package: pip resolves the base layers without installing them
# (--dry-run --report; pip 23 wants a --target even then) and drop_base_packages.py deletes the
# distributions it names, each by its RECORD.
define install_on
	for base in $(1); do sed 's/\[.*\]//' "$(LAYERS_DIR)/$$base/requirements.txt"; done > "$(ARTIFACTS_DIR)/base-constraints.txt"
	$(call install_layer,-c "$(ARTIFACTS_DIR)/base-constraints.txt")
	scratch=$$(mktemp -d) && $(PIP) install $(WHEELS) --dry-run --ignore-installed --target "$$scratch" \
		--report "$(ARTIFACTS_DIR)/base-report.json" -c "$(ARTIFACTS_DIR)/base-constraints.txt" \
		$(foreach base,$(1),-r "$(LAYERS_DIR)/$(base)/requirements.txt"); status=$$?; rm -rf "$$scratch"; exit $$status
	$(PYTHON) "$(LAYERS_DIR)/drop_base_packages.py" "$(ARTIFACTS_DIR)/base-report.json" "$(ARTIFACTS_DIR)/python"
	rm -f "$(ARTIFACTS_DIR)/base-constraints.txt" "$(ARTIFACTS_DIR)/base-report.json"
	$(compile_bytecode)
endef
