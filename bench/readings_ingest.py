"""Readings ingest (issue 7, item 4): POST /api/v1/readings batches through gunicorn from concurrent clients,
threshold rules and warnings included, against a bare COPY of the same rows into a scratch table in the
same run (the ceiling; executemany on SQLite). Peak memory of the web workers and an RQ worker (item 6)."""
import json
import random
import threading
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import create_engine, func, select

from .common import fresh_database, seeded_app, summary_ms
from .servers import CpuMeter, MemoryWatch, gunicorn, redis_url, request, rq_worker, tokens

QUANTITIES = (("pressure", "regulator_station", 0.4, 0.05), ("temperature", "storage_station", 25.0, 3.0),
              ("level", "storage_station", 50.0, 10.0), ("gas_concentration", "supply_station", 1.0, 0.8),
              ("flow", "pipeline_point", 300.0, 40.0))
SENSORS_PER_ENTERPRISE = 50
ABNORMAL = 0.002  # of readings beyond a threshold: some warnings open, deepen and close in every run


def batches(enterprise_ids: list[int], n_batches: int, batch_size: int, seed: int = 11) -> list[dict]:
    """What enterprise platforms send: every few minutes, one reading per sensor, in time order per sensor."""
    rng = random.Random(seed)
    start = datetime.now(UTC) - timedelta(days=2)
    out = []
    for b in range(n_batches):
        ent = enterprise_ids[b % len(enterprise_ids)]
        at = start + timedelta(seconds=30 * b)
        readings = []
        for i in range(batch_size):
            quantity, kind, mean, sd = QUANTITIES[i % len(QUANTITIES)]
            value = rng.gauss(mean, sd)
            if rng.random() < ABNORMAL:
                value = {"pressure": 2.0, "temperature": 60.0, "level": 95.0, "gas_concentration": 30.0,
                         "flow": 300.0}[quantity]
            readings.append({"site": f"S{i // SENSORS_PER_ENTERPRISE:03d}", "site_kind": kind,
                             "sensor": f"T{i % SENSORS_PER_ENTERPRISE:03d}-{quantity[:4]}", "quantity": quantity,
                             "value": round(value, 3), "at": (at + timedelta(milliseconds=i)).isoformat()})
        out.append({"enterprise_id": ent, "readings": readings})
    return out


def post_all(port: int, token: str, payloads: list[dict], clients: int) -> dict:
    latencies, errors, accepted = [], [], [0]
    lock = threading.Lock()
    queue = [json.dumps(p).encode() for p in reversed(payloads)]

    def client():
        while True:
            with lock:
                if not queue:
                    return
                payload = queue.pop()
            t = time.perf_counter()
            try:
                status, reply = request(port, "POST", "/api/v1/readings", payload, token)
            except OSError as exc:
                errors.append(str(exc))
                continue
            latencies.append(time.perf_counter() - t)
            if status != 202:
                errors.append(f"{status} {str(reply)[:200]}")
                continue
            with lock:
                accepted[0] += reply["accepted"]

    threads = [threading.Thread(target=client) for _ in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    return {"seconds": round(elapsed, 3), "accepted": accepted[0], "readings_per_s": round(accepted[0] / elapsed),
            "batches_per_s": round(len(payloads) / elapsed, 1), "errors": len(errors), "first_errors": errors[:3],
            "batch_latency": summary_ms(latencies)}


def bare_copy(url: str, payloads: list[dict]) -> dict:
    """The ceiling: the same rows, already parsed, COPYed by one connection into a table shaped like
    ``readings`` without its indexes (executemany on SQLite)."""
    engine = create_engine(url)
    rows = [(p["enterprise_id"], r["site"], r["site_kind"], r["sensor"], r["quantity"], r["value"],
             datetime.fromisoformat(r["at"])) for p in payloads for r in p["readings"]]
    pg = engine.dialect.name == "postgresql"
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE bench_readings_copy (enterprise_id integer, site varchar(64), "
                             "site_kind varchar(32), sensor varchar(64), quantity varchar(32), value float, "
                             "at timestamp with time zone, received_at timestamp with time zone)")
    now = datetime.now(UTC)
    t0 = time.perf_counter()
    with engine.begin() as conn:
        raw = conn.connection.driver_connection
        cols = "enterprise_id, site, site_kind, sensor, quantity, value, at, received_at"
        if pg:
            with raw.cursor() as cur, cur.copy(f"COPY bench_readings_copy ({cols}) FROM STDIN") as copy:
                for r in rows:
                    copy.write_row((*r, now))
        else:
            raw.cursor().executemany(f"INSERT INTO bench_readings_copy ({cols}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                                     [(*r[:6], r[6].isoformat(), now.isoformat()) for r in rows])
    elapsed = time.perf_counter() - t0
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE bench_readings_copy")
    engine.dispose()
    return {"rows": len(rows), "seconds": round(elapsed, 3), "rows_per_s": round(len(rows) / elapsed)}


def run(backend: str = "postgresql", n_batches: int = 40, batch_size: int = 1000, clients: int = 4,
        workers: int = 4) -> dict:
    from models import EarlyWarning, Enterprise, Reading
    from web.extensions import db

    redis = redis_url()
    with fresh_database(backend) as url:
        with seeded_app(url) as app:
            token = tokens(app, ["admin"])["admin"]
            with app.app_context():
                ents = list(db.session.scalars(select(Enterprise.id).order_by(Enterprise.id)))
        payloads = batches(ents, n_batches, batch_size)
        warm = batches(ents, min(len(ents), 2 * workers), 10, seed=3)
        for p in warm:  # late news from two days ago: warms every worker, opens nothing the load depends on
            for r in p["readings"]:
                r["at"] = (datetime.fromisoformat(r["at"]) - timedelta(days=1)).isoformat()
        with MemoryWatch() as memory, gunicorn(url, workers, memory, redis) as (port, pid), \
                rq_worker(url, redis, memory):
            post_all(port, token, warm, clients)
            cpu = CpuMeter(url, pid)
            cpu.start()
            result = post_all(port, token, payloads, clients)
            used = cpu.stop()
            per = (used["web_cpu_s"] + used["postgres_cpu_s"]) / max(result["accepted"], 1)
            # What an otherwise idle 2-core server would ingest at that CPU cost (an estimate, see api_load).
            result["server_cpu"] = {**used, "cpu_us_per_reading": round(per * 1e6, 1),
                                    "estimated_readings_per_s_2_idle_cores": round(2 / per) if per else None}
        ceiling = bare_copy(url, payloads)
        # Two counts need no second app (its migrations checked, the demo seed looked over again).
        counter = create_engine(url)
        with counter.connect() as conn:
            stored = conn.scalar(select(func.count()).select_from(Reading))
            warnings = conn.scalar(select(func.count()).select_from(EarlyWarning))
        counter.dispose()
    result.update({"backend": backend, "batches": n_batches, "batch_size": batch_size, "clients": clients,
                   "gunicorn_workers": workers, "stored": stored, "warnings": warnings, "copy_ceiling": ceiling,
                   "copy_ratio": round(result["readings_per_s"] / ceiling["rows_per_s"], 3),
                   "memory_peak_mb": memory.peaks_mb(),
                   "rq_worker": "measured" if redis else "not run (no Redis answering)"})
    return result


if __name__ == "__main__":

    print(json.dumps(run(), indent=2, ensure_ascii=False))
