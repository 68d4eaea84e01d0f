# The two commands a fresh clone needs: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_STAMP := $(VENV)/.installed-demo
# an editable install leaves kotoba's modules uncompiled, and where PYTHONDONTWRITEBYTECODE is set
# every run compiles them again (~0.1 s of a short run): compile them once, as pip does for a wheel
COMPILE := $(BIN)/python -m compileall -q src

.PHONY: demo test lint format install bench clean

# the full development set-up (tests, linters, every extra)
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(COMPILE)
	touch $(STAMP) $(DEMO_STAMP)

# the demo needs less: kotoba, the dump parser and gensim's wheel (the sample dump and evaluation sets)
$(DEMO_STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e '.[demo]'
	$(COMPILE)
	touch $(DEMO_STAMP)

install: $(STAMP)

demo:
	@start=$$(date +%s); $(MAKE) --no-print-directory $(DEMO_STAMP) && $(BIN)/kotoba demo --out demo-out && \
	echo "make demo: $$(( $$(date +%s) - start )) s in all, set-up included"

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

format: $(STAMP)
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

test: lint
	$(BIN)/python -m pytest -q tests

clean:
	rm -rf $(VENV) demo-out build *.egg-info src/*.egg-info
