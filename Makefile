# Two commands do everything on a fresh machine with Python 3.11:
#   make run    set up .venv, build the index if the KB changed, start the chat on http://localhost:8501
#   make test   set up .venv and run every test
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8501
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: run test lint build validate eval bench clean system-deps

# Debian packages the tests use: bubblewrap isolates snippets (no network, no files outside the sandbox), Chromium
# runs the browser test, and the PostgreSQL server runs the store tests on their own throwaway cluster (Debian keeps
# its binaries in /usr/lib/postgresql/<version>/bin). Installed when we are root with apt-get; otherwise those tests
# say what they skip and why.
system-deps:
	@missing=""; command -v bwrap >/dev/null || missing=" bubblewrap"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	{ command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; } || missing="$$missing postgresql"; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "installing $$missing (apt-get) ..."; apt-get update -qq && \
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
		else echo "note: $$missing not installed (apt-get install$$missing); the tests that need it are skipped"; fi; \
	fi

$(BIN)/.installed: requirements.txt requirements-dev.txt
	@command -v $(PY) >/dev/null || { echo "Error: $(PY) not found; install Python 3.11 or run make PY=/path/to/python3.11"; exit 1; }
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	@# torch first and pinned: left to the resolver, it pulls a multi-GB CUDA build
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

run: $(BIN)/.installed
	@command -v bwrap >/dev/null || echo "note: bubblewrap is not installed; snippets run with resource limits only"
	$(BIN)/python -m bot validate
	$(BIN)/python -m bot build --if-stale
	BOT_EMBED_THREADS=1 $(BIN)/streamlit run app.py --server.address 127.0.0.1 --server.port $(PORT) \
		--server.headless true --browser.gatherUsageStats false

test: $(BIN)/.installed system-deps lint
	@# the browser test starts the chat on the default index, as `make run` does after this same step
	$(BIN)/python -m bot build --if-stale
	$(BIN)/python -m pytest -q

lint: $(BIN)/.installed
	$(BIN)/ruff check bot app.py pages bench tests kb/snippets examples
	$(BIN)/mypy bot app.py pages

build: $(BIN)/.installed
	$(BIN)/python -m bot build

validate: $(BIN)/.installed
	$(BIN)/python -m bot validate

EVAL_SETS ?= ../shared/eval/dev.jsonl ../shared/eval/forum.jsonl
eval: $(BIN)/.installed
	$(BIN)/python -m bot eval $(EVAL_SETS)

bench: $(BIN)/.installed
	$(BIN)/python bench/bench_ask.py
	$(BIN)/python bench/loo.py

clean:
	rm -rf $(VENV) .cache .pytest_cache
