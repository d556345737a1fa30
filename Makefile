# Mirrors the README.
.PHONY: run test lint bench eval triage scale load
run:
	pip install -e . && python app.py
test:
	apt-get update -qq && apt-get install -y -qq chromium chromium-driver && pip install -e ".[test]" && HF_HUB_OFFLINE=1 python -m pytest
lint:
	ruff check .
bench:
	python eval/bench_speed.py
eval:
	python eval/run_dev.py --failures
triage:
	python eval/run_triage.py --failures && python eval/bench_triage.py
scale:
	python eval/bench_scale.py
load:
	python eval/load_test.py --report load-report.json
