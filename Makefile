# Two entry points for a fresh machine: `make demo` and `make test`.
# Both create the virtual environment in .venv on first use and reuse it afterwards.
SHELL := /bin/bash
PYTHON ?= python3
VENV := $(CURDIR)/.venv
STAMP := $(VENV)/.installed
RECIPE := egs2/visualsinger/svs1

.PHONY: demo test install clean-demo

install: $(STAMP)

$(STAMP): requirements.txt requirements-nodeps.txt setup.py
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q -U "pip<26" wheel "setuptools<74"
	$(VENV)/bin/pip install -r requirements.txt
	$(VENV)/bin/pip install --no-deps -r requirements-nodeps.txt
	$(VENV)/bin/pip install --no-deps --no-build-isolation --config-settings editable_mode=compat -e .
	@touch $(STAMP)

demo: $(STAMP)
	cd $(RECIPE) && ./run.sh --stage 1 --stop_stage 8
	@echo "Demo finished: results in $(RECIPE)/exp (see $(RECIPE)/exp/RESULTS.md)"

test: $(STAMP)
	$(VENV)/bin/python -m pytest -q tests

clean-demo:
	cd $(RECIPE) && rm -rf data dump exp downloads
