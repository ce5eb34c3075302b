# Shared recipes for `sam build` (BuildMethod: makefile). Each layer installs its pinned
# requirements as arm64 / CPython 3.12 wheels (manylinux up to glibc 2.34, as on the python3.12
# runtime) into $(ARTIFACTS_DIR)/python, without bytecode, and drops what the Lambda runtime
# already provides (boto3, botocore and their dependencies).
LAYERS_DIR := $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))
PIP ?= $(shell command -v python3.12 >/dev/null 2>&1 && echo python3.12 || echo python3) -m pip
WHEELS = --quiet --disable-pip-version-check --no-compile --upgrade --only-binary=:all: \
	--platform manylinux2014_aarch64 --platform manylinux_2_28_aarch64 --platform manylinux_2_34_aarch64 \
	--implementation cp --python-version 3.12
RUNTIME_PROVIDED = boto3 botocore s3transfer jmespath dateutil python_dateutil urllib3 six

# $(1): extra pip arguments
define install_layer
	$(PIP) install $(WHEELS) --target "$(ARTIFACTS_DIR)/python" -r requirements.txt $(1)
	cd "$(ARTIFACTS_DIR)/python" && for p in $(RUNTIME_PROVIDED); do rm -rf $$p $$p-*.dist-info; done
	find "$(ARTIFACTS_DIR)/python" -name __pycache__ -type d -prune -exec rm -rf {} +
endef

# A layer stacked on the core layer installs shared dependencies at the core layer's versions
# (constraints) and then leaves them out, so no function carries two copies of pydantic.
define install_on_core
	sed 's/\[.*\]//' "$(LAYERS_DIR)/core/requirements.txt" > "$(ARTIFACTS_DIR)/core-constraints.txt"
	$(call install_layer,-c "$(ARTIFACTS_DIR)/core-constraints.txt")
	core=$$(mktemp -d) && $(PIP) install $(WHEELS) --target "$$core" -r "$(LAYERS_DIR)/core/requirements.txt" \
		&& for entry in $$(ls "$$core"); do rm -rf "$(ARTIFACTS_DIR)/python/$$entry"; done; rm -rf "$$core"
	rm -f "$(ARTIFACTS_DIR)/core-constraints.txt"
endef
