# Safeguard: the two set-up commands are `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test bench lint venv clean system-deps video-extra

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[dev,spark,nudity]'
	@touch $(STAMP)

venv: $(STAMP)

system-deps:
	bash scripts/system-deps.sh

run: $(STAMP)
	$(VENV)/bin/safeguard demo

test: $(STAMP) system-deps video-extra
	$(PY) -m pytest -q -n 2 --dist loadgroup

# vPDQ needs the libav*-dev packages from system-deps; video stays optional.
video-extra: $(STAMP)
	@$(PY) -c "import vpdq" 2>/dev/null || $(PY) -m pip install --quiet -e '.[video]' \
	  || echo "note: vpdq could not be built; video hashing is disabled (install libav*-dev)"

bench: $(STAMP)
	$(PY) benchmarks/run_all.py

# Layering (import-linter contracts in pyproject.toml), radon complexity on the message path,
# file lengths (scripts/check_structure.py); tests/test_architecture.py runs the same in `make test`.
lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks scripts/check_structure.py
	PYTHONPATH=src $(VENV)/bin/lint-imports
	$(VENV)/bin/radon cc --min D --show-complexity src/safeguard/policy src/safeguard/store \
	  src/safeguard/accounts src/safeguard/cases src/safeguard/service src/safeguard/stream \
	  src/safeguard/api/fastpath.py src/safeguard/api/routes/messages.py
	$(PY) scripts/check_structure.py

clean:
	rm -rf $(VENV) build dist .pytest_cache
