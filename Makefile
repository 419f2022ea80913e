# PUPNS: two commands. `make run` starts the platform; `make test` runs every test.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test bench lint venv clean rabbit browser

$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	@site=$$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])'); \
	  printf '%s\n' $(CURDIR)/libs $(CURDIR)/services/identity $(CURDIR)/services/forms \
	    $(CURDIR)/services/verification $(CURDIR)/services/documents \
	    $(CURDIR)/services/notifications $(CURDIR)/services/edge $(CURDIR)/services/console $(CURDIR) > $$site/pupns-local.pth
	@printf '#!/usr/bin/env bash\nexec "%s" -m pupns_cli "$$@"\n' $(CURDIR)/$(PY) > $(VENV)/bin/pupns && chmod +x $(VENV)/bin/pupns
	@touch $(STAMP)

venv: $(STAMP)

rabbit:
	@bash scripts/ensure_rabbitmq.sh

# `make run REPLICAS=2` runs two processes of every nameko service (as two Kubernetes replicas would).
run: venv rabbit
	PUPNS_REPLICAS=$(or $(REPLICAS),$${PUPNS_REPLICAS:-1}) $(PY) -m pupns_dev.run

test: venv rabbit browser
	$(PY) -m ruff check .
	bash scripts/test_side_by_side.sh $(PY)

browser:
	@test -x /usr/bin/chromium || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)

bench: venv rabbit
	$(PY) -m bench.run_all

lint: venv
	$(PY) -m ruff check .

clean:
	rm -rf $(VENV) var .pytest_cache
