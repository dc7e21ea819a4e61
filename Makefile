# Two entry points for a fresh machine: `make demo` and `make test`.
# Both create the virtual environment in .venv on first use and reuse it afterwards.
SHELL := /bin/bash
PYTHON ?= python3
VENV := $(CURDIR)/.venv
STAMP := $(VENV)/.installed
RECIPE := egs2/visualsinger/svs1
# make demo's recipe options: the main comparison only (VCFM-T against the no-video baseline and the
# vocoded ground truth on the four test sets). `make demo DEMO_ARGS=` also runs the recipe's
# diagnostics (reference settings 2-4, the lip-timing controls, the duration-predictor decode and
# the fusion control: 1.5-3.5 min more of stages 7-8 on 2 cores, README), as ./run.sh does by default.
DEMO_ARGS ?= --ref_settings "" --lip_controls "" --extra_inference_configs "" --timing_control false
# pip byte-compiles every installed module on one core (about 80 s here for torch, the CUDA wheels
# and espnet); compileall does the same on every core once the packages are in. (Not compiling at
# all is no saving: where PYTHONDONTWRITEBYTECODE is set, every process would compile its imports.)
PIP_INSTALL := $(VENV)/bin/pip install --no-compile

.PHONY: demo test lint install clean-demo

install: $(STAMP)

$(STAMP): requirements.txt requirements-nodeps.txt setup.py
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q -U "pip<26" wheel "setuptools<74"
	$(PIP_INSTALL) -r requirements.txt
	$(PIP_INSTALL) --no-deps -r requirements-nodeps.txt
	$(PIP_INSTALL) --no-deps --no-build-isolation --config-settings editable_mode=compat -e .
	@# as pip does, a file that does not compile (a test fixture, Python 2 code) is skipped, not fatal
	$(VENV)/bin/python -m compileall -q -j 0 "$$($(VENV)/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')" > /dev/null || true
	@touch $(STAMP)

demo: $(STAMP)
	cd $(RECIPE) && ./run.sh --stage 1 --stop_stage 8 $(DEMO_ARGS)
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
