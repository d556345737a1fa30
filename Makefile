# Mirrors the README.
.PHONY: run test lint bench eval
run:
	pip install -e . && assistant ask "ものづくり補助金のグローバル枠の補助上限はいくらですか？"
test:
	pip install -e ".[test]" && HF_HUB_OFFLINE=1 python -m pytest
lint:
	ruff check .
bench:
	python eval/bench_speed.py
eval:
	python eval/run_dev.py --failures
