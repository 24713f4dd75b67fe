"""schemathesis against the platform as production runs it: gunicorn on a fresh PostgreSQL database with the
demo data (as `gasflow demo` loads it), a bearer token per role, every /api/v1 operation sent valid and
invalid data.

tests/test_openapi.py fuzzes in-process for server errors only; this run goes over real HTTP (headers,
content types and status lines as a client gets them) and also fails when an answer breaks the document:
an undocumented status code, a body that does not match its schema, an undeclared content type, and
invalid input (by the document) that the platform accepts.

    .venv/bin/python .ci/live_fuzz.py                  # what .ci/run does
    .venv/bin/python .ci/live_fuzz.py --users admin --phases coverage --include-path-regex '^/api/v1/cases'

Options not listed in --help go to every `schemathesis run` unchanged. The checks, phases and the
operations with a check turned off (and why) are in .ci/schemathesis.toml. Accepted findings would go in
.ci/schemathesis-baseline.json, each with a reason and an expiry date; it is empty: every finding fails.
"""
import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

HERE = Path(__file__).resolve().parent
CONFIG = HERE / "schemathesis.toml"
BASELINE = HERE / "schemathesis-baseline.json"
# One account per role: each reaches its own part of the API (an enterprise its records and readings, a
# county its area, the city the model uploads and thresholds), and the document's choices differ per caller.
# Enterprise accounts first, the city last: the authorities' runs may deactivate an enterprise (PATCH
# /enterprises), which signs its accounts out, and cancel or transfer the demo cases.
USERS = ("kq_bottled_staff", "kq_bottled_admin", "keqiao_inspector", "keqiao_supervisor", "admin")
# The coverage phase (each boundary and each invalid type of every parameter and field: thousands of
# requests) runs as an enterprise, the API's main client, and as the city for what only the city may do;
# the city's leaves out the start form of every process, which the enterprise's goes through. Neither
# covers the data batch (see .ci/schemathesis.toml). Every caller gets the random valid and invalid
# requests of the fuzzing phase over every operation.
COVERAGE = {"kq_bottled_admin": ["--exclude-operation-id", "data_api_submit"],
            "admin": ["--exclude-operation-id", "data_api_submit", "--exclude-operation-id", "api_create_case"]}


def _arguments() -> tuple[argparse.Namespace, list[str]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default=os.environ.get("GASFLOW_TEST_DATABASE_URL")
                        or "postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
                        help="a PostgreSQL server to make the scratch database on (any database of it)")
    parser.add_argument("--users", nargs="+", default=USERS, help="demo accounts to run as")
    parser.add_argument("--phases", default=None, help="instead of the plan above: these phases for every user")
    parser.add_argument("-n", "--max-examples", type=int, default=None,
                        help="fuzzing phase: requests per operation (default: .ci/schemathesis.toml's)")
    parser.add_argument("--seed", type=int, default=20261125)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers, and schemathesis' as many")
    parser.add_argument("--report-dir", default=None, help="where the JUnit reports go (default: a temp folder)")
    return parser.parse_known_args()


def _plan(args) -> list[tuple[str, str, list[str]]]:
    """(user, phases, extra arguments) per schemathesis run."""
    if args.phases:
        return [(user, args.phases, []) for user in args.users]
    runs = []
    for user in args.users:  # in order: a user's runs end before the next user's begin
        if user in COVERAGE:
            runs.append((user, "examples,coverage", COVERAGE[user]))
        runs.append((user, "fuzzing", []))
    return runs


def _prepare(url: str, usernames) -> dict[str, str]:
    """Schema, demo data and demo cases as `gasflow demo` loads them, and a bearer token per user (what
    `gasflow token create USER` makes: every scope the user's rights allow)."""
    from sqlalchemy import select

    from models import User
    from web.app import create_app
    from web.common.security import new_token
    from web.demo.cases import seed_demo_cases
    from web.demo.seed import seed
    from web.extensions import case_engine, db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "INPROCESS_TICKER": False})
    with app.app_context():
        seed(db.session)
        seed_demo_cases(case_engine(app), db.session)
        tokens = {name: new_token(db.session, db.session.scalar(select(User).where(User.username == name)),
                                  "schemathesis") for name in usernames}
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return tokens


def _children_cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def main() -> int:
    args, passthrough = _arguments()
    from bench.servers import CpuMeter, gunicorn
    from web.database import scratch_database

    if not BASELINE.exists():  # schemathesis would make one of this run's failures, accepting them all
        sys.exit(f"{BASELINE} is missing")
    started = time.monotonic()
    report_dir = Path(args.report_dir or tempfile.mkdtemp(prefix="gasflow-schemathesis-"))
    report_dir.mkdir(parents=True, exist_ok=True)
    # The server's keys and secret (instance folder) are this run's own, as its database is.
    os.environ["GASFLOW_INSTANCE"] = tempfile.mkdtemp(prefix="gasflow-fuzz-instance-")
    # The document's maxItems follows this limit, and the coverage phase sends a batch one over it per
    # record kind; the limit is checked the same way at 20 as at the default 1000, in less time.
    os.environ.setdefault("GASFLOW_DATA_MAX_RECORDS", "20")
    failed = []
    # Not durable: what is checked is each answer, not what survives a crash of the server, and a commit that
    # waits for the disk stretches every request of the step while the other steps of .ci/run load the disk.
    with scratch_database(args.database, "gasflow_fuzz", durable=False) as url:
        tokens = _prepare(url, args.users)
        with gunicorn(url, workers=args.workers) as (port, pid):
            print(f"gasflow under gunicorn on 127.0.0.1:{port}, demo data ready in {time.monotonic() - started:.0f} s",
                  flush=True)
            for username, phases, extra in _plan(args):
                t0 = time.monotonic()
                cmd = [str(Path(sys.executable).parent / "schemathesis"), "--config-file", str(CONFIG), "run",
                       f"http://127.0.0.1:{port}/api/v1/openapi.json",
                       "-H", f"Authorization: Bearer {tokens[username]}", "--phases", phases,
                       *(["--max-examples", str(args.max_examples)] if args.max_examples else []),
                       "--seed", str(args.seed),
                       # One thread: Hypothesis reads its strategies' lambdas with ast.parse, which is not
                       # safe across threads ("AST constructor recursion depth mismatch" failed a CI run).
                       "--baseline", str(BASELINE), "--workers", "1",
                       "--report", "junit", "--report-junit-path", str(report_dir / f"{username}-{phases}.xml"),
                       *extra, *passthrough]
                print(f"\n== schemathesis as {username}: {phases}", flush=True)
                # CPU, not wall time, says where the step's cost lies on a machine the other steps share.
                server, client = CpuMeter(url, pid), _children_cpu()
                server.start()
                code = subprocess.call(cmd, cwd=ROOT)
                cpu = server.stop()
                print(f"== {username} ({phases}): exit {code} in {time.monotonic() - t0:.0f} s; CPU: schemathesis "
                      f"{_children_cpu() - client:.0f} s, web {cpu['web_cpu_s']:.0f} s, "
                      f"PostgreSQL {cpu['postgres_cpu_s']:.0f} s", flush=True)
                if code:
                    failed.append(f"{username} ({phases})")
    print(f"\nschemathesis: done in {time.monotonic() - started:.0f} s; JUnit reports in {report_dir}")
    if failed:
        print(f"schemathesis found failures as: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
