"""`python -m bench all` (or one of: engine, state, api, queue, readings): run the benchmarks, print the
figures and write bench/results/latest.json. Each sub-command's defaults are quick; `all` uses the issue's
sizes. Figures not measured in a run are null and listed under "not_measured"; a sub-command run alone
keeps the other figures of the previous latest.json."""
import argparse
import json
import sys
from datetime import UTC, datetime

from . import api_load, engine_throughput, queue_scale, readings_ingest, state_growth
from .common import RESULTS, machine

FIGURES = ("engine_ratio", "api_completions_per_s", "api_completion_p95_ms", "queue_p95_ms_1m", "readings_per_s",
           "readings_copy_ratio", "sendback50_ratio", "web_worker_peak_rss_mb")
COMMANDS = ("all", "engine", "state", "api", "queue", "readings")
# What `all` runs: the sizes the issue names.
FULL = {"cases": 300, "api_cases": 600, "sizes": "10000,100000,1000000", "sqlite_sizes": "10000,100000",
        "batches": 200, "batch_size": 1000}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("command", nargs="?", default="all", choices=COMMANDS)
    p.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default=None,
                   help="default: both for all/engine/state/queue, postgresql for api/readings")
    p.add_argument("--cases", type=int, help="engine: cases per backend (100); api: cases over HTTP (100); "
                                             "queue: one size, same as --sizes N")
    p.add_argument("--processes", type=int, default=2, help="engine: worker processes of the multi-process run")
    p.add_argument("--sizes", help="queue: comma-separated case counts, measured in turn (default 2000)")
    p.add_argument("--repeats", type=int, default=20, help="queue: requests per page and role")
    p.add_argument("--clients", type=int, default=8, help="api/readings: concurrent client threads")
    p.add_argument("--workers", type=int, default=4, help="api/readings: gunicorn worker processes")
    p.add_argument("--off-hours", action="store_true",
                   help="api: every write outside working hours (the off-hours audit rule extends an alert on each); "
                        "default: every hour a working hour, whatever the clock says")
    p.add_argument("--batches", type=int, default=40, help="readings: batches posted")
    p.add_argument("--batch-size", type=int, default=1000, help="readings: readings per batch (at most 10,000)")
    return p


def _backends(args, default) -> tuple[str, ...]:
    chosen = args.backend or default
    return ("sqlite", "postgresql") if chosen == "both" else (chosen,)


def _safe(fn, *a, **kw) -> dict:
    try:
        return fn(*a, **kw)
    except Exception as exc:  # a backend or server that is not there is reported, not fatal
        return {"error": f"{type(exc).__name__}: {str(exc)[:300]}"}


def _show(name: str, value) -> None:
    print(f"== {name}\n" + json.dumps(value, indent=2, ensure_ascii=False), flush=True)


def run(args) -> dict:
    which, full = args.command, args.command == "all"
    previous = {}
    if which != "all" and (RESULTS / "latest.json").exists():
        previous = json.loads((RESULTS / "latest.json").read_text())
    details, figures = dict(previous.get("details", {})), dict(previous.get("figures") or dict.fromkeys(FIGURES))
    if which in ("all", "engine"):
        n = args.cases or (FULL["cases"] if full else 100)
        details["engine"] = _merge(details, "engine", engine_throughput.run(n, _backends(args, "both"),
                                                                           args.processes))
        _show("engine", details["engine"])
        eng = details["engine"]
        figures["engine_ratio"] = eng.get("postgresql", {}).get("ratio_to_bare") or \
            eng.get("sqlite", {}).get("ratio_to_bare")
    if which in ("all", "state"):
        details["state"] = _merge(details, "state", {b: _safe(state_growth.run, b) for b in _backends(args, "both")})
        _show("state", details["state"])
        figures["sendback50_ratio"] = next((details["state"][b].get("sendback50_ratio") for b in
                                            ("postgresql", "sqlite") if b in details["state"]), None)
    if which in ("all", "api"):
        n = args.cases or (FULL["api_cases"] if full else 100)
        details["api"] = _merge(details, "api", {b: _safe(api_load.run, b, n, args.clients, args.workers,
                                                        "off" if args.off_hours else "working")
                                                 for b in _backends(args, "both" if full else "postgresql")})
        _show("api", details["api"])
        main = _primary(details["api"])
        figures["api_completions_per_s"] = main.get("completions_per_s")
        figures["api_completion_p95_ms"] = main.get("latency", {}).get("complete", {}).get("p95_ms")
        figures["web_worker_peak_rss_mb"] = main.get("memory_peak_mb", {}).get("gunicorn_child")
    if which in ("all", "queue"):
        queue = {}
        for b in _backends(args, "both"):
            sizes = args.sizes or (str(args.cases) if args.cases else None) or \
                ((FULL["sizes"] if b == "postgresql" else FULL["sqlite_sizes"]) if full else "2000")
            queue[b] = _safe(queue_scale.run, b, [int(x) for x in sizes.split(",")], args.repeats)
        details["queue"] = _merge(details, "queue", queue)
        _show("queue", details["queue"])
        main = _primary(details["queue"]).get("sizes", {})
        figures["queue_p95_ms_1m"] = main.get("1000000", {}).get("p95_ms_worst")
        if main and "1000000" not in main:
            details["queue"]["note"] = "queue_p95_ms_1m is null: no run at 1,000,000 cases"
    if which in ("all", "readings"):
        batches = FULL["batches"] if full else args.batches
        size = FULL["batch_size"] if full else args.batch_size
        details["readings"] = _merge(details, "readings", {
            b: _safe(readings_ingest.run, b, batches, size, min(args.clients, 4), args.workers)
            for b in _backends(args, "both" if full else "postgresql")})
        _show("readings", details["readings"])
        main = _primary(details["readings"])
        figures["readings_per_s"] = main.get("readings_per_s")
        figures["readings_copy_ratio"] = main.get("copy_ratio")
    out = {"machine": machine(), "date": datetime.now(UTC).isoformat(timespec="seconds"), "figures": figures,
           "not_measured": [k for k, v in figures.items() if v is None], "details": details}
    return out


def _merge(details: dict, name: str, new: dict) -> dict:
    """A run of one backend keeps the other backend's figures from the previous run."""
    return {**{k: v for k, v in details.get(name, {}).items() if k != "note"}, **new}


def _primary(per_backend: dict) -> dict:
    """The figure of record comes from PostgreSQL (production); SQLite's when PostgreSQL was not run."""
    for b in ("postgresql", "sqlite"):
        if isinstance(per_backend.get(b), dict) and "error" not in per_backend[b]:
            return per_backend[b]
    return {}


def main(argv: list[str]) -> dict:
    args = parser().parse_args(argv)
    out = run(args)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps({"figures": out["figures"]}, indent=2))
    return out


if __name__ == "__main__":
    main(sys.argv[1:])
    sys.exit(0)
