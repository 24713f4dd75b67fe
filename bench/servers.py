"""The platform as production runs it, for the HTTP benchmarks: gunicorn with several workers on a free
loopback port, an RQ worker, bearer tokens, a small HTTP client, and the peak memory of each process."""
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from .common import ROOT

PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024 if hasattr(os, "sysconf") else 4


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def redis_url() -> str | None:
    """Redis for the RQ worker: BENCH_REDIS_URL, else REDIS_URL; None (no worker measured) if it does not answer."""
    url = os.environ.get("BENCH_REDIS_URL") or os.environ.get("REDIS_URL")
    if not url:
        return None
    try:
        from redis import Redis

        Redis.from_url(url, socket_connect_timeout=1).ping()
    except Exception:
        return None
    return url


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def _rss_kb(pid: int, field: str = "VmRSS") -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class MemoryWatch:
    """Peak resident memory per process group, sampled from /proc every 0.2 s (Linux). A group is a
    root process and, separately, its descendants (gunicorn's workers, RQ's work horses); the kernel's
    own high-water mark (VmHWM) is read as well for the processes still alive at the end."""

    def __init__(self):
        self.roots: dict[str, int] = {}
        self.peak_kb: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def watch(self, name: str, pid: int) -> None:
        self.roots[name] = pid

    def _sample(self, use_hwm: bool = False) -> None:
        field = "VmHWM" if use_hwm else "VmRSS"
        for name, root in list(self.roots.items()):
            stack, descendants = [root], []
            while stack:
                kids = _children(stack.pop())
                descendants += kids
                stack += kids
            for key, pids in ((f"{name}_main", [root]), (f"{name}_child", descendants)):
                for pid in pids:
                    self.peak_kb[key] = max(self.peak_kb.get(key, 0), _rss_kb(pid, field))

    def _loop(self):
        while not self._stop.wait(0.2):
            self._sample()

    def __enter__(self):
        if Path("/proc/self/status").exists():
            self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
            self._sample(use_hwm=True)

    def peaks_mb(self) -> dict[str, float]:
        return {k: round(v / 1024, 1) for k, v in sorted(self.peak_kb.items()) if v}


def descendants(pid: int) -> list[int]:
    out, stack = [], [pid]
    while stack:
        kids = _children(stack.pop())
        out += kids
        stack += kids
    return out


def cpu_seconds(pids) -> dict[int, float]:
    """User + system CPU time of each process (/proc/<pid>/stat, Linux)."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            out[pid] = (int(fields[11]) + int(fields[12])) / tick
        except (OSError, IndexError, ValueError):
            continue
    return out


def postgres_pids(url: str) -> list[int]:
    """The server processes of the connections to the database of ``url`` (none on SQLite)."""
    if not url.startswith("postgresql"):
        return []
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                                          "AND pid <> pg_backend_pid()")).scalars())
    finally:
        engine.dispose()


class CpuMeter:
    """CPU seconds spent by the web workers and by PostgreSQL's backends between start() and stop(): what a
    request costs the server, which a busy shared machine does not inflate the way it inflates wall time."""

    def __init__(self, url: str, gunicorn_pid: int):
        self.url, self.root = url, gunicorn_pid

    def _snapshot(self) -> tuple[dict, dict]:
        return cpu_seconds(descendants(self.root)), cpu_seconds(postgres_pids(self.url))

    def start(self):
        self.before = self._snapshot()

    def stop(self) -> dict:
        after = self._snapshot()
        web, db = (sum(v - b.get(pid, 0.0) for pid, v in a.items()) for a, b in zip(after, self.before, strict=True))
        return {"web_cpu_s": round(web, 2), "postgres_cpu_s": round(db, 2)}


def _env(url: str, extra: dict | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "PROMETHEUS_MULTIPROC_DIR")}
    env.update({"DATABASE_URL": url, "GASFLOW_TICKER": "0", "PYTHONPATH": str(ROOT)})
    env.update(extra or {})
    return env


def _wait_http(port: int, proc: subprocess.Popen, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}")
        try:
            status, _ = request(port, "GET", "/healthz")
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError("the server did not answer on /healthz")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def gunicorn(url: str, workers: int = 4, memory: MemoryWatch | None = None, redis: str | None = None):
    """gunicorn (sync workers, as in production) serving ``create_app()`` on ``url``; yields the port.
    The schema and demo data must exist already: every worker builds its own app (no --preload, so no
    database connection crosses a fork)."""
    port = free_port()
    extra = {"REDIS_URL": redis} if redis else {}
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", str(workers), "-b", f"127.0.0.1:{port}",
                             "--backlog", "2048", "--timeout", "120", "--log-level", "warning",
                             "web:create_app()"], cwd=ROOT, env=_env(url, extra))
    try:
        _wait_http(port, proc)
        if memory is not None:
            memory.watch("gunicorn", proc.pid)
        yield port, proc.pid
    finally:
        _stop(proc)


@contextmanager
def rq_worker(url: str, redis: str | None, memory: MemoryWatch | None = None, interval: int = 1):
    """``gasflow worker`` (the RQ worker and its timer ticker, every ``interval`` seconds) while the load
    runs; nothing when Redis does not answer."""
    if not redis:
        yield None
        return
    proc = subprocess.Popen([sys.executable, "-c", "from web.cli import main; main()", "worker"], cwd=ROOT,
                            env=_env(url, {"REDIS_URL": redis, "GASFLOW_TIMER_INTERVAL": str(interval)}),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if memory is not None:
        memory.watch("rq_worker", proc.pid)
    try:
        yield proc
    finally:
        _stop(proc)


def request(port: int, method: str, path: str, body=None, token: str | None = None,
            timeout: float = 60) -> tuple[int, object]:
    """One HTTP request on a new connection (gunicorn's sync workers close each one); JSON in and out."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    payload = None
    if body is not None:
        # Bytes are a body encoded before the timed run: a load generator's own JSON encoding would
        # otherwise take the server's cores (it runs on the same machine).
        payload = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    try:
        conn.request(method, path, body=payload, headers=headers)
        resp = conn.getresponse()
        raw = resp.read()
    finally:
        conn.close()
    ctype = resp.getheader("Content-Type", "")
    return resp.status, (json.loads(raw) if raw and ctype.startswith("application/json") else raw)


def tokens(app, usernames) -> dict[str, str]:
    from sqlalchemy import select

    from models import User
    from web.common.security import new_token
    from web.extensions import db

    out = {}
    with app.app_context():
        for name in usernames:
            out[name] = new_token(db.session, db.session.scalar(select(User).where(User.username == name)), "bench")
        db.session.commit()
    return out
