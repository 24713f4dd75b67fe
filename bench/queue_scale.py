"""Task queues at scale (issue 7, item 3): N cases in the database, then p50/p95 of the queue page and of
GET /api/v1/tasks for several roles, and the query plans (EXPLAIN ANALYZE on PostgreSQL, EXPLAIN QUERY PLAN
on SQLite) saved under bench/results/plans/.

The generator writes what the engine would have written, in bulk (COPY on PostgreSQL, executemany on
SQLite): enterprises and users spread over the six counties, rectification cases with one task each,
a share of them still open (waiting for the enterprise's answer, or for the inspector's check, some
naming candidate users), the rest completed. Open cases carry the task tree of a real case at that
step, so their tasks can be opened and completed like any other; completed cases carry none (nothing
reads it)."""
import json
import random
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import event, func, select, text

from .common import RESULTS, fresh_database, seeded_app, summary_ms, user

PLANS = RESULTS / "plans"
OPEN_SHARE = 0.1  # of the cases, still open: a province's database after years of work is mostly history
ENTERPRISES_PER_COUNTY = 100
INSPECTORS_PER_COUNTY = 8
CHUNK = 20_000
ROLES = ("admin", "keqiao_supervisor", "keqiao_inspector", "kq_bottled_staff")


# ---- the generator ---------------------------------------------------------------
def _template(app):
    """A real rectification case waiting for the enterprise: its state, data and task row."""
    from models import Case, Enterprise, Task
    from web.extensions import case_engine, db

    engine = case_engine(app)
    inspector = user(app, "keqiao_inspector")
    with app.app_context():
        ent = db.session.scalar(select(Enterprise.id).where(Enterprise.name == "柯桥区瓶装液化气供应有限公司"))
    deadline = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    case_id = engine.start_case("rectification", {"enterprise_id": ent, "hazard_description": "报警器失效",
                                                  "hazard_class": "II", "deadline_at": deadline}, inspector,
                                enterprise_id=ent, title="整改 · 模板")
    with engine.sessions() as s:
        case = s.get(Case, case_id)
        task = s.scalar(select(Task).where(Task.case_id == case_id))
        return {"model_id": case.process_model_id, "state": json.dumps(case.state), "data": case.data,
                "spiff_id": task.spiff_id, "title": task.title, "form_key": task.form_key}


class Writer:
    """Bulk rows into one table: COPY on PostgreSQL, executemany on SQLite; ids are given by the caller."""

    def __init__(self, conn):
        self.conn = conn
        self.pg = conn.dialect.name == "postgresql"

    def write(self, table: str, columns: list[str], rows) -> int:
        n = 0
        if self.pg:
            raw = self.conn.connection.driver_connection
            with raw.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
                    n += 1
            return n
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        cur = self.conn.connection.driver_connection.cursor()
        batch = []
        for row in rows:
            batch.append(tuple(_sqlite_value(v) for v in row))
            if len(batch) >= CHUNK:
                cur.executemany(sql, batch)
                n += len(batch)
                batch = []
        if batch:
            cur.executemany(sql, batch)
            n += len(batch)
        return n


def _sqlite_value(v):
    if isinstance(v, datetime):
        return v.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return v


def generate(app, n_cases: int, seed: int = 7) -> dict:
    """Add ``n_cases`` cases (and the enterprises and people they need) to the seeded database."""
    from models import Enterprise, Region, User
    from web.extensions import db

    rng = random.Random(seed)
    tpl = _template(app)
    t0 = time.perf_counter()
    now = datetime.now(UTC)
    with app.app_context():
        conn = db.session.connection()
        w = Writer(conn)
        counties = db.session.execute(select(Region.id, Region.code).where(Region.level == "county")).all()
        if not db.session.scalar(select(func.count()).select_from(Enterprise).where(
                Enterprise.name.like("基准企业%"))):
            _people(w, db.session, counties, now)
        ents_of: dict[int, list[int]] = {cid: [] for cid, _ in counties}
        inspectors_of: dict[int, list[int]] = {cid: [] for cid, _ in counties}
        # The demo users work on the generated load too: their enterprises and county get cases as well.
        for ent_id, county_id in db.session.execute(select(Enterprise.id, Enterprise.county_id)):
            ents_of[county_id].append(ent_id)
        for uid, county_id in db.session.execute(select(User.id, User.county_id).where(User.role == "inspector")):
            inspectors_of[county_id].append(uid)
        first_case = (db.session.scalar(text("SELECT max(id) FROM cases")) or 0) + 1
        first_task = (db.session.scalar(text("SELECT max(id) FROM tasks")) or 0) + 1
        county_ids = [cid for cid, _ in counties]
        plan = []  # per case: (county, enterprise, inspector, open?, step, created, due)
        for i in range(n_cases):
            cid = county_ids[i % len(county_ids)]
            created = now - timedelta(minutes=rng.randrange(0, 60 * 24 * 365))
            due = created + timedelta(days=rng.choice((7, 15, 30)))
            plan.append((cid, rng.choice(ents_of[cid]), rng.choice(inspectors_of[cid]),
                         rng.random() < OPEN_SHARE, "Task_respond" if rng.random() < 0.7 else "Task_verify",
                         created, due))
        data_text = json.dumps(tpl["data"], ensure_ascii=False)

        def cases():
            for k, (cid, eid, insp, is_open, _step, created, _due) in enumerate(plan):
                yield (first_case + k, tpl["model_id"], "rectification", "active" if is_open else "completed",
                       f"整改 · 基准企业 {eid} · II", cid, eid, data_text, tpl["state"] if is_open else "{}", 2,
                       created, insp, None if is_open else created + timedelta(days=3))

        def tasks():
            for k, (cid, eid, insp, is_open, step, created, due) in enumerate(plan):
                respond = step == "Task_respond"
                yield (first_task + k, first_case + k, tpl["spiff_id"], step,
                       tpl["title"] if respond else "核查整改情况",
                       tpl["form_key"] if respond else "rectification_verify", "enterprise" if respond else "inspector",
                       cid, eid, None if respond or _named(k, is_open, step) else insp,
                       "open" if is_open else "completed", due, created,
                       None if is_open else created + timedelta(days=2))

        def candidates():
            # One open inspector task in ten names two inspectors of the county instead of an assignee.
            for k, (cid, _eid, _insp, is_open, step, _c, _d) in enumerate(plan):
                if _named(k, is_open, step):
                    for uid in rng.sample(inspectors_of[cid], 2):
                        yield (first_task + k, uid)

        written = {
            "cases": w.write("cases", ["id", "process_model_id", "process_key", "status", "title", "county_id",
                                       "enterprise_id", "data", "state", "revision", "created_at", "created_by_id",
                                       "completed_at"], cases()),
            "tasks": w.write("tasks", ["id", "case_id", "spiff_id", "spec_name", "title", "form_key", "role",
                                       "county_id", "enterprise_id", "assignee_id", "status", "due_at", "created_at",
                                       "completed_at"], tasks()),
        }
        written["task_candidates"] = w.write("task_candidates", ["task_id", "user_id"], candidates())
        if w.pg:
            for table in ("enterprises", "users", "cases", "tasks"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                  f"(SELECT max(id) FROM {table}))"))
        db.session.commit()
        # A live database has been vacuumed and analysed by now (autovacuum); a bulk load has not.
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.exec_driver_sql("VACUUM ANALYZE" if w.pg else "ANALYZE")
    written.update({"open_tasks": sum(1 for p in plan if p[3]), "seconds": round(time.perf_counter() - t0, 1)})
    return written


def _named(k: int, is_open: bool, step: str) -> bool:
    """One open inspector task in ten names candidate inspectors instead of an assignee."""
    return is_open and step == "Task_verify" and k % 10 == 0


def _people(w: Writer, session, counties, now) -> None:
    """Enterprises (with a member of staff each) and inspectors, in every county."""
    from models import Enterprise, User
    from models.uscc import make_uscc

    pw = session.scalar(select(User.password_hash).limit(1))
    next_ent = (session.scalar(select(func.max(Enterprise.id))) or 0) + 1
    next_user = (session.scalar(select(func.max(User.id))) or 0) + 1
    ent_rows, user_rows = [], []
    for cid, code in counties:
        for i in range(ENTERPRISES_PER_COUNTY):
            eid = next_ent + len(ent_rows)
            ent_rows.append((eid, f"基准企业 {code}-{i:03d}", ("bottled", "pipeline", "vehicle")[i % 3],
                             make_uscc(f"91{code}MB{i:07d}"), cid, f"基准地址 {i}", 120.5, 30.0, now))
            user_rows.append((next_user + len(user_rows), f"bench_staff_{eid}", f"企业员工 {eid}", pw,
                              "enterprise_staff", cid, eid, True, "", now))
        for i in range(INSPECTORS_PER_COUNTY):
            user_rows.append((next_user + len(user_rows), f"bench_inspector_{code}_{i}", f"检查员 {code}-{i}", pw,
                              "inspector", cid, None, True, "", now))
    w.write("enterprises", ["id", "name", "kind", "uscc", "county_id", "address", "lon", "lat", "created_at"],
            ent_rows)
    w.write("users", ["id", "username", "display_name", "password_hash", "role", "county_id", "enterprise_id",
                      "active", "email", "created_at"], user_rows)


# ---- the measurements -----------------------------------------------------------------
def _csrf(page) -> str:
    return re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', page.data).group(1).decode()


def _second_factor_code(app, username) -> str:
    """The demo account's current TOTP code, as its authenticator app shows it. The bench signs the
    same account in more than once per 30-second code, so the last accepted step is forgotten first."""
    from models import User
    from web.common.dataflow import cipher
    from web.extensions import db
    from workflows.services import totp

    with app.app_context():
        account = db.session.scalar(select(User).where(User.username == username))
        account.totp_last_step = None
        db.session.commit()
        return totp.current_code(account, cipher(), datetime.now(UTC))


def _login(app, username):
    """A test client signed in through the form: the password, then the second factor authority
    accounts are asked for."""
    from web.demo.seed import DEMO_PASSWORD

    client = app.test_client()
    resp = client.post("/login", data={"username": username, "password": DEMO_PASSWORD,
                                       "csrf_token": _csrf(client.get("/login"))})
    if resp.status_code == 302 and resp.headers["Location"].endswith("/login/code"):
        resp = client.post("/login/code", data={"code": _second_factor_code(app, username),
                                                "csrf_token": _csrf(client.get("/login/code"))})
    if resp.status_code != 302 or "/login" in resp.headers["Location"]:
        raise RuntimeError(f"login of {username} failed: {resp.status_code} {resp.headers.get('Location')}")
    return client


def _explain(app, statements: list[tuple[str, object]], path: Path) -> None:
    """The plans of the statements one request ran, with their real parameters."""
    from web.extensions import db

    out = []
    with app.app_context():
        conn = db.session.connection()
        pg = conn.dialect.name == "postgresql"
        for sql, params in statements:
            if not sql.lstrip().upper().startswith("SELECT"):
                continue
            prefix = "EXPLAIN (ANALYZE, BUFFERS) " if pg else "EXPLAIN QUERY PLAN "
            rows = conn.exec_driver_sql(prefix + sql, params).all()
            plan = "\n".join(str(r[0]) if pg else f"{r[0]}|{r[1]}|{r[3]}" for r in rows)
            out.append(f"{' '.join(sql.split())}\n{params}\n{plan}\n")
        db.session.rollback()
    path.write_text("\n".join(out))


def measure(app, repeats: int, label: str, save_plans: bool = True) -> dict:
    from web.common.security import new_token
    from web.extensions import db

    results = {}
    with app.app_context():
        engine = db.engine
    captured: list[tuple[str, object]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        captured.append((statement, parameters))

    for username in ROLES:
        u = user(app, username)
        with app.app_context():
            from models import User

            token = new_token(db.session, db.session.get(User, u.id), "bench")
            db.session.commit()
        api, page = app.test_client(), _login(app, username)
        headers = {"Authorization": f"Bearer {token}"}
        targets = {"api_group": (api, "/api/v1/tasks", headers), "api_all": (api, "/api/v1/tasks?scope=all", headers),
                   "api_overdue": (api, "/api/v1/tasks?scope=all&due=overdue&sort=due", headers),
                   "page_group": (page, "/", None), "page_all": (page, "/?scope=all", None)}
        per = {}
        for name, (client, path, hdrs) in targets.items():
            def call(client=client, path=path, hdrs=hdrs):
                return client.get(path, headers=hdrs)

            resp = call()  # warm: the first request of a client pays for caches and the session
            if resp.status_code != 200:
                raise RuntimeError(f"{username} {name}: {resp.status_code}")
            times = []
            for _ in range(repeats):
                t = time.perf_counter()
                call()
                times.append(time.perf_counter() - t)
            per[name] = summary_ms(times)
            if name == "api_group":
                per["total_in_queue"] = resp.get_json()["total"]
            if save_plans and name in ("api_group", "api_all"):
                captured.clear()
                event.listen(engine, "before_cursor_execute", capture)
                try:
                    call()
                finally:
                    event.remove(engine, "before_cursor_execute", capture)
                PLANS.mkdir(parents=True, exist_ok=True)
                _explain(app, list(captured), PLANS / f"{label}_{username}_{name}.txt")
        results[username] = per
    return results


def run(backend: str = "sqlite", sizes=(2_000,), repeats: int = 20) -> dict:
    """The queues measured at each size in ``sizes`` (the database grows from one size to the next)."""
    out = {"backend": backend, "sizes": {}}
    with fresh_database(backend) as url, seeded_app(url) as app:
        have = 0
        for size in sorted(sizes):
            gen = generate(app, size - have)
            have = size
            label = f"{backend}_{size}"
            figures = measure(app, repeats, label)
            worst = max(v["p95_ms"] for per in figures.values() for k, v in per.items() if isinstance(v, dict))
            out["sizes"][str(size)] = {"generated": gen, "p95_ms_worst": worst, "roles": figures}
            print(f"queue {backend} {size}: generated in {gen['seconds']} s, worst p95 {worst} ms", flush=True)
    return out


if __name__ == "__main__":
    print(json.dumps(run(), indent=2, ensure_ascii=False))
