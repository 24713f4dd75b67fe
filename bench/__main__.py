"""`python -m bench all` (or one of: engine, state): run the benchmarks, print the figures and write
bench/results/latest.json. Figures not measured yet are null and listed under "not_measured"."""
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from . import engine_throughput, state_growth
from .common import machine

RESULTS = Path(__file__).resolve().parent / "results"
FIGURES = ("engine_ratio", "api_completions_per_s", "api_completion_p95_ms", "queue_p95_ms_1m", "readings_per_s",
           "readings_copy_ratio", "sendback50_ratio", "web_worker_peak_rss_mb")


def main(argv: list[str]) -> int:
    which = argv[0] if argv else "all"
    if which not in ("all", "engine", "state"):
        print(__doc__)
        return 2
    details, figures = {}, dict.fromkeys(FIGURES)
    if which in ("all", "engine"):
        details["engine"] = engine_throughput.run()
        print(json.dumps(details["engine"], indent=2, ensure_ascii=False))
        pg = details["engine"].get("postgresql", {})
        figures["engine_ratio"] = pg.get("ratio_to_bare") or details["engine"].get("sqlite", {}).get("ratio_to_bare")
    if which in ("all", "state"):
        details["state"] = {b: state_growth.run(b) for b in ("sqlite", "postgresql")}
        print(json.dumps(details["state"], indent=2, ensure_ascii=False))
        figures["sendback50_ratio"] = details["state"]["postgresql"]["sendback50_ratio"]
    out = {"machine": machine(), "date": datetime.now(UTC).isoformat(timespec="seconds"), "figures": figures,
           "not_measured": [k for k, v in figures.items() if v is None], "details": details}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps({"figures": figures}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
