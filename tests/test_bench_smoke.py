"""Every benchmark sub-command at a tiny size on the test database configuration, so the bench code
cannot rot. It asserts that figures came out, never how fast anything was."""
import json
import os

import pytest

from bench.__main__ import main

PG_URL = os.environ.get("GASFLOW_TEST_DATABASE_URL")
BACKEND = "postgresql" if PG_URL else "sqlite"
pytestmark = pytest.mark.slow  # each starts servers or worker processes


@pytest.fixture
def results(tmp_path, monkeypatch):
    import bench.__main__
    import bench.queue_scale

    monkeypatch.setattr(bench.__main__, "RESULTS", tmp_path)
    monkeypatch.setattr(bench.queue_scale, "PLANS", tmp_path / "plans")
    if PG_URL:
        monkeypatch.setenv("BENCH_PG_URL", PG_URL)
    monkeypatch.delenv("BENCH_REDIS_URL", raising=False)
    monkeypatch.setenv("GASFLOW_INSTANCE", str(tmp_path / "instance"))
    return tmp_path


def run(*argv):
    return main([*argv, "--backend", BACKEND])


def test_engine_single_and_several_processes(results):
    out = run("engine", "--cases", "2", "--processes", "2")
    engine = out["details"]["engine"]
    assert engine["bare_spiff"]["cases_per_s"] > 0
    assert engine[BACKEND]["cases"] == 2 and engine[BACKEND]["transitions"]["respond"]["p95_ms"] > 0
    assert engine[BACKEND]["processes_2"]["completions_per_s"] > 0
    assert out["figures"]["engine_ratio"] > 0
    written = json.loads((results / "latest.json").read_text())
    assert written["figures"]["engine_ratio"] == out["figures"]["engine_ratio"]


def test_state_growth(results, monkeypatch):
    import bench.state_growth

    monkeypatch.setattr(bench.state_growth, "ROUNDS", 6)  # first three rounds against last three, as at 50
    out = run("state")
    assert out["details"]["state"][BACKEND]["state_bytes_last"] > 0
    assert out["figures"]["sendback50_ratio"] > 0


def test_api_load_over_gunicorn(results):
    # One gunicorn worker: each builds the whole app (2 s of CPU); two clients still share it.
    out = run("api", "--cases", "3", "--clients", "2", "--workers", "1")
    api = out["details"]["api"][BACKEND]
    assert api["errors"] == 0, api["first_errors"]
    assert len(api["latency"]["complete"]) and api["completions_per_s"] > 0
    assert out["figures"]["api_completion_p95_ms"] > 0
    assert out["figures"]["web_worker_peak_rss_mb"] > 0


def test_queue_at_scale(results):
    out = run("queue", "--sizes", "150", "--repeats", "2")
    queue = out["details"]["queue"][BACKEND]
    size = queue["sizes"]["150"]
    assert size["generated"]["cases"] == 150 and size["generated"]["tasks"] == 150
    assert size["roles"]["kq_bottled_staff"]["api_group"]["p95_ms"] > 0
    assert size["roles"]["admin"]["page_all"]["p95_ms"] > 0
    plans = list((results / "plans").glob(f"{BACKEND}_150_*.txt"))
    assert plans and all(p.read_text().strip() for p in plans)
    assert out["figures"]["queue_p95_ms_1m"] is None  # not measured at a million here, and said so


def test_readings_ingest_against_copy(results):
    out = run("readings", "--batches", "3", "--batch-size", "50", "--workers", "1")
    readings = out["details"]["readings"][BACKEND]
    assert readings["errors"] == 0, readings["first_errors"]
    assert readings["accepted"] == 150 and readings["stored"] >= 150
    assert readings["copy_ceiling"]["rows"] == 150
    assert out["figures"]["readings_per_s"] > 0 and out["figures"]["readings_copy_ratio"] > 0
