# GRU Memory Lab: two commands on a fresh Debian machine.
#   make run    set up (.venv, Debian Qt libraries, CPU torch) and launch the app
#   make test   the same set-up plus the dev extra, then `make lint` (ruff, import contracts, mypy) and the suite
#   (make test-fast skips the tests marked slow, for the edit-run loop; make test-random shuffles the order;
#   make mutation: docs/testing.md)
# CUDA is opt-in: `make run GML_TORCH=cuda` installs PyPI's CUDA build of torch instead of the CPU one.
PY ?= python3
VENV ?= .venv
GML_TORCH ?= cpu
VPY := $(VENV)/bin/python

.PHONY: run test test-fast test-random mutation setup setup-dev sysdeps lint bench clean

run: setup
	$(VPY) main.py $(ARGS)

test: setup-dev lint
	QT_QPA_PLATFORM=offscreen $(VPY) -m pytest -q -ra $(PYTEST_ARGS)

# the edit-run loop: everything but the tests marked slow (training to convergence, real windows, subprocesses)
test-fast: setup-dev
	QT_QPA_PLATFORM=offscreen $(VPY) -m pytest -q -ra -m "not slow" $(PYTEST_ARGS)

# every test in a shuffled order (pytest-randomly; SEED=N repeats an order, the seed is printed at the top)
SEED ?=
test-random: setup-dev
	QT_QPA_PLATFORM=offscreen $(VPY) -m pytest -ra -p randomly $(if $(SEED),--randomly-seed=$(SEED)) $(PYTEST_ARGS)

# mutmut over what the app tells the user (the verdict, hints, sweep summaries, claims, atomic writes, sessions),
# each module against its own tests, in copies under $TMPDIR; not in `make test` (minutes per module).
# MUTATION=verdict,sweep picks groups; the score and every survivor: docs/testing.md, out/mutation/
MUTATION ?=
comma := ,
mutation: setup-dev
	$(VPY) scripts/mutation.py $(subst $(comma), ,$(MUTATION))

sysdeps:
	@bash scripts/sysdeps.sh

setup: sysdeps
	@GML_TORCH=$(GML_TORCH) PY=$(PY) VENV=$(VENV) bash scripts/setup_venv.sh

setup-dev: sysdeps
	@GML_TORCH=$(GML_TORCH) PY=$(PY) VENV=$(VENV) bash scripts/setup_venv.sh dev

# ruff; the import contracts in pyproject.toml (layers, no cycles, core free of Qt); the type check of core/
lint: setup-dev
	$(VPY) -m ruff check .
	$(VENV)/bin/lint-imports
	$(VPY) -m mypy

# Every bench but bench/keras_answer.py, which needs TensorFlow in a venv of its own (see its docstring).
BENCHES := online batch fidelity sweep recording gui launch
bench: setup-dev
	@echo "bench: skipping bench/keras_answer.py (needs TensorFlow: run it in its own venv, see its docstring)"
	@set -e; for b in $(BENCHES); do echo "== bench/$$b.py"; QT_QPA_PLATFORM=offscreen $(VPY) bench/$$b.py; done

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
