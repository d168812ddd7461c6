# Cascade: `make demo` runs the pipeline on the bundled data; `make test` runs the suite.
# Both create the Python 3.10 virtualenv in .venv first if it is missing or stale.

VENV := .venv
STAMP := $(VENV)/.installed
# The optional extras (Airflow, Vertex AI specs) on top: the tests use them.
EXTRAS_STAMP := $(VENV)/.installed-extras
PIP_VERSION := 26.3
UV_VERSION := 0.13.9

# TFX 1.16 supports Python 3.9-3.10 only. Use PYTHON=... to point at another 3.10.
PYTHON ?= $(shell for p in python3.10 $$HOME/.pyenv/versions/3.10*/bin/python3.10 \
	/usr/local/bin/python3.10 /usr/bin/python3.10; do \
	"$$p" -c 'import sys; assert sys.version_info[:2] == (3, 10)' >/dev/null 2>&1 && { echo "$$p"; break; }; done)

.PHONY: demo demo-growth demo-production airflow test lint venv lock clean system-deps

demo: $(STAMP)
	$(VENV)/bin/cascade run

# The demo on 10%, 30% and 100% of its data, then `cascade history --plot`.
demo-growth: $(STAMP)
	$(VENV)/bin/python data/demo/grow.py

# The production loop on four days of arriving demo data (data/demo/production.py):
# pushed, pushed, stopped at the data gate, not pushed; then `cascade lineage runs`.
demo-production: $(STAMP)
	$(VENV)/bin/python data/demo/production.py

# The suite on two pytest-xdist workers (one per core here); each test file
# stays on one worker (see tests/conftest.py). TEST_WORKERS=0 runs it serially.
TEST_WORKERS ?= 2
test: $(EXTRAS_STAMP) system-deps lint
	$(VENV)/bin/python -m pytest -n $(TEST_WORKERS) --dist loadscope --no-loadscope-reorder tests

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# Debian packages the tests use: MariaDB (the shared metadata store tests) and
# Graphviz (lineage pictures). Installed with apt-get when running as root;
# otherwise a note says which tests will be skipped.
SYSTEM_PACKAGES := mariadb-server graphviz
system-deps:
	@missing=""; \
	command -v dot >/dev/null 2>&1 || missing="$$missing graphviz"; \
	{ command -v mariadbd || test -x /usr/sbin/mariadbd; } >/dev/null 2>&1 || missing="$$missing mariadb-server"; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "Installing Debian packages:$$missing"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
		else \
			echo "note: Debian packages$$missing are missing; the MariaDB and SVG lineage tests will be skipped" >&2; \
		fi; \
	fi

venv: $(STAMP)

# Airflow and the Vertex AI spec compiler (`pip install .[airflow,vertex]`), then the
# demo pipeline as an Airflow DAG, run once by `airflow dags test` (scheduling/).
airflow: $(EXTRAS_STAMP)
	$(VENV)/bin/python data/demo/airflow_demo.py

$(EXTRAS_STAMP): $(STAMP)
	$(VENV)/bin/python -m pip install --quiet -c requirements.lock -e '.[airflow,vertex]'
	@touch $(EXTRAS_STAMP)

$(STAMP): requirements.lock setup.py
	@if [ -z "$(PYTHON)" ]; then \
		echo "error: Python 3.10 not found. TFX 1.16 needs Python 3.9-3.10: install 3.10 (e.g. 'pyenv install 3.10') or run 'make PYTHON=/path/to/python3.10 ...'" >&2; \
		exit 1; fi
	@echo "Creating $(VENV) with $(PYTHON) (a few minutes the first time) ..."
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip==$(PIP_VERSION)
	$(VENV)/bin/python -m pip install --quiet -c requirements.lock -r requirements-dev.txt -e .
	@rm -f $(EXTRAS_STAMP)
	@touch $(STAMP)

# Re-resolve every dependency from setup.py (with its extras) + requirements-dev.txt
# and pin the result. uv keeps the current pins where they still fit, so a new
# dependency moves as few others as possible.
lock:
	rm -rf /tmp/cascade-lock-venv
	$(PYTHON) -m venv /tmp/cascade-lock-venv
	/tmp/cascade-lock-venv/bin/python -m pip install --quiet uv==$(UV_VERSION)
	cp requirements.lock /tmp/cascade-lock.txt
	/tmp/cascade-lock-venv/bin/uv pip compile --quiet --python-version 3.10 \
	  --python-platform x86_64-manylinux_2_36 --no-header --no-annotate \
	  setup.py --extra airflow --extra vertex requirements-dev.txt -o /tmp/cascade-lock.txt
	{ echo "# The full resolved dependency set for Python 3.10 on Linux x86-64: the package, its extras"; \
	  echo "# (airflow, vertex) and the test tools. Installs use it as constraints (-c), so each"; \
	  echo "# takes only what it needs, at these versions. Regenerate with: make lock"; \
	  grep -v -E '^(setuptools|wheel)==' /tmp/cascade-lock.txt; } > requirements.lock
	rm -rf /tmp/cascade-lock-venv /tmp/cascade-lock.txt

clean:
	rm -rf $(VENV) outputs
