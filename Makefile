# Two commands do everything on a fresh machine with Python 3.11:
#   make run    set up .venv, build the index if the KB changed, start the chat on http://localhost:8501
#   make test   set up .venv and run every test
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8501
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: run test lint build validate eval bench clean

$(BIN)/.installed: requirements.txt requirements-dev.txt
	@# bubblewrap isolates snippets (no network, no files outside the sandbox); without it only the rlimits apply
	@command -v bwrap >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null) \
		|| echo "note: bubblewrap not installed; snippets run with resource limits only (apt-get install bubblewrap)"; }
	@command -v $(PY) >/dev/null || { echo "Error: $(PY) not found; install Python 3.11 or run make PY=/path/to/python3.11"; exit 1; }
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	@# torch first and pinned: left to the resolver, it pulls a multi-GB CUDA build
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

run: $(BIN)/.installed
	$(BIN)/python -m bot validate
	$(BIN)/python -m bot build --if-stale
	BOT_TORCH_THREADS=1 $(BIN)/streamlit run app.py --server.address 127.0.0.1 --server.port $(PORT) \
		--server.headless true --browser.gatherUsageStats false

test: $(BIN)/.installed lint
	$(BIN)/python -m pytest -q

lint: $(BIN)/.installed
	$(BIN)/ruff check bot app.py pages bench tests kb/snippets
	$(BIN)/mypy bot app.py pages

build: $(BIN)/.installed
	$(BIN)/python -m bot build

validate: $(BIN)/.installed
	$(BIN)/python -m bot validate

eval: $(BIN)/.installed
	$(BIN)/python -m bot eval ../shared/eval/dev.jsonl

bench: $(BIN)/.installed
	$(BIN)/python bench/bench_ask.py
	$(BIN)/python bench/loo.py

clean:
	rm -rf $(VENV) .cache .pytest_cache
