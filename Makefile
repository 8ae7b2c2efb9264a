# Syncline developer tasks. `make test` is what CI runs (through .ci/run).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# Touched after a successful install, so pip only runs again when pyproject.toml changes.
STAMP  := $(VENV)/.installed

.PHONY: venv services browser test lint demo clean

venv: $(STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -e '.[test]'
	touch $(STAMP)

# Start local PostgreSQL and Redis when they are installed but not answering. Never fails:
# the test suite decides whether a missing service means skip (locally) or fail (CI=true).
services:
	@if command -v pg_isready >/dev/null 2>&1; then \
	  if pg_isready -q -h 127.0.0.1 -p 5432; then \
	    echo "services: PostgreSQL is up"; \
	  else \
	    echo "services: starting PostgreSQL"; \
	    pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql 2>/dev/null | tail -n 1) main start \
	      || echo "services: could not start PostgreSQL"; \
	  fi; \
	else \
	  echo "services: pg_isready not found, PostgreSQL tests will not run here"; \
	fi
	@if command -v redis-cli >/dev/null 2>&1; then \
	  if redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then \
	    echo "services: Redis is up"; \
	  elif command -v redis-server >/dev/null 2>&1; then \
	    echo "services: starting Redis"; \
	    mkdir -p /var/lib/redis /var/log/redis 2>/dev/null; \
	    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" \
	      --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log \
	      || echo "services: could not start Redis"; \
	  else \
	    echo "services: redis-server not found, Redis tests will not run here"; \
	  fi; \
	else \
	  echo "services: redis-cli not found, Redis tests will not run here"; \
	fi

# Debian's chromium for the dashboard's browser tests: Playwright drives /usr/bin/chromium, so
# no browser is downloaded. Never fails: under CI=true the browser tests fail without it.
browser:
	@if [ -x /usr/bin/chromium ]; then \
	  echo "browser: chromium is installed"; \
	else \
	  echo "browser: installing Debian's chromium"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO="sudo"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  $$SUDO apt-get install -y -q chromium >/dev/null 2>&1 \
	    || { $$SUDO apt-get update -q >/dev/null 2>&1 \
	         && $$SUDO apt-get install -y -q chromium >/dev/null 2>&1; } \
	    || echo "browser: could not install chromium"; \
	fi

# Two workers (`-n 2`): CI's machine has two cores, and much of the suite waits on processes.
test: venv services browser
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q -n 2

lint: venv
	$(BIN)/ruff check .

demo: venv
	$(BIN)/syncline init
	$(BIN)/syncline demo

# Build and tool caches only: the virtualenv and instance/ (your database) stay.
clean:
	rm -rf build dist .pytest_cache .ruff_cache .hypothesis *.egg-info
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +
