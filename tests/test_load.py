"""A short run of the load test (eval/load_test.py) against the real `python app.py`: no errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.integration]

REPO = Path(__file__).resolve().parents[1]


def test_three_sessions_for_five_seconds_without_errors(settings, assistant, tmp_path):
    report = tmp_path / "load.json"
    env = {**os.environ, "ASSISTANT_INDEX_DIR": str(settings.index_dir),
           "ASSISTANT_CORPUS_DIR": str(settings.corpus_dir), "HF_HUB_OFFLINE": "1"}
    result = subprocess.run(
        [sys.executable, str(REPO / "eval" / "load_test.py"), "--sessions", "3", "--duration", "5",
         "--report", str(report)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    figures = json.loads(report.read_text(encoding="utf-8"))
    assert figures["errors"] == 0 and figures["requests"] >= 10
    assert figures["rss_peak_mb"] >= figures["rss_start_mb"] > 100
    assert "| latency p50 / p95 / max |" in result.stdout
