# Two entry points for a fresh machine. Each runs the idempotent set-up first.
.PHONY: serve test setup lint

setup:
	bash scripts/setup.sh

serve: setup
	.venv/bin/fitroom serve

test: setup
	bash scripts/test.sh

lint: setup
	.venv/bin/ruff check . && .venv/bin/mypy avatar sizing api
