# Two entry points for a fresh machine: `make demo` and `make test`.
# Both create the virtual environment in .venv on first use and reuse it afterwards.
SHELL := /bin/bash
PYTHON ?= python3
VENV := $(CURDIR)/.venv
STAMP := $(VENV)/.installed
RECIPE := egs2/visualsinger/svs1

.PHONY: demo test lint install clean-demo

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
	cd $(RECIPE) && ./run.sh --stage 9 --stop_stage 9
	@echo "Demo finished: results in $(RECIPE)/exp (see $(RECIPE)/exp/RESULTS.md)"
	@# Sing onto one held-out demo video (test_ood; the first whose phones the token list has) with the
	@# packed model, from outside the recipe dir: perform takes the video, the reference recording, the
	@# lyrics and the notes from the data dir (espnet2_ext/api/data_utt.py)
	mkdir -p demo_perform && cd demo_perform && \
	$(VENV)/bin/python -m espnet2_ext.bin.perform --model ../$(RECIPE)/exp/svs_performsinger/packed/performsinger.zip \
	    --from_utt ../$(RECIPE)/data/test_ood --out . --overwrite

# Lint first (ruff: pyflakes, syntax and bugbear errors, ruff.toml; shellcheck on the recipe's shell),
# then the tests.
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	cd $(RECIPE) && $(VENV)/bin/shellcheck -x -S warning svs.sh run.sh cmd.sh path.sh db.sh local/*.sh

test: lint
	$(VENV)/bin/python -m pytest -q tests

clean-demo:
	cd $(RECIPE) && rm -rf data dump exp downloads
	rm -rf demo_perform
