PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DOCS_STAMP := $(VENV)/.installed-docs
DEMO_OUT ?= b2bclient-demo

.PHONY: demo test lint typecheck pytest docs screenshot bench notebooks clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[all,test]"
	touch $(STAMP)

$(DOCS_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[all,test,docs]"
	touch $(DOCS_STAMP)

# The whole analysis on 2,000 synthetic organisations: an SQLite store and a self-contained HTML report.
demo: $(STAMP)
	$(BIN)/b2bclient demo -n 2000 --out $(DEMO_OUT)
	@echo "Open $(abspath $(DEMO_OUT))/report.html in a browser."

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy --strict src

pytest: $(STAMP)
	$(BIN)/python -m pytest -n 2 -q src tests

test: lint typecheck pytest

# The documentation site in docs/_build/html: every notebook executed, warnings are errors.
docs: $(DOCS_STAMP)
	rm -rf docs/_build docs/api/generated
	$(BIN)/python -m sphinx -W --keep-going -b html -j 2 docs docs/_build/html
	@echo "Open $(abspath docs/_build/html)/index.html in a browser."

# The README's screenshot, from the headless-Chromium test of the demo's report.
screenshot: $(STAMP)
	B2BCLIENT_REQUIRE_BROWSER=1 B2BCLIENT_SCREENSHOT=$(abspath docs/_static/report.png) \
		$(BIN)/python -m pytest -q tests/test_report_browser.py

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[all,bench]"
	for f in benchmarks/*.py; do $(BIN)/python $$f || exit 1; done

notebooks: $(DOCS_STAMP)
	for f in notebooks/*.ipynb; do $(BIN)/python -m nbconvert --to notebook --execute --inplace $$f || exit 1; done

clean:
	rm -rf $(VENV) build dist .mypy_cache .pytest_cache .ruff_cache docs/_build docs/api/generated
