"""A private PostgreSQL cluster for one test: its own data directory and port, stopped and started at will.

The fault and TLS tests need a server they may take down or start with ``ssl=on``; the shared server at
5432 is left alone. initdb refuses to run as root, so as root the cluster runs as the ``postgres`` user
in a directory it owns.
"""
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path


def server_bin() -> Path | None:
    """The newest installed PostgreSQL server binaries (Debian keeps them out of PATH)."""
    for path in sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name), reverse=True):
        if (path / "initdb").exists() and (path / "pg_ctl").exists():
            return path
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    def __init__(self):
        self.bin = server_bin()
        if self.bin is None:
            raise RuntimeError("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
        self.as_postgres = os.geteuid() == 0
        # Not under pytest's tmp_path: its parents are private to root, and the server runs as postgres.
        self.root = Path(tempfile.mkdtemp(prefix="gasflow-pg-"))
        self.root.chmod(0o755)
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.port = free_port()
        self._own(self.root)
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                  "--locale=C.UTF-8")

    def _own(self, path: Path) -> None:
        if self.as_postgres:
            user = pwd.getpwnam("postgres")
            os.chown(path, user.pw_uid, user.pw_gid)

    def _run(self, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        argv = [str(self.bin / tool), *args]
        if self.as_postgres:
            argv = ["runuser", "-u", "postgres", "--", *argv]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
        if check and done.returncode != 0:
            log = self.log.read_text() if self.log.exists() else ""
            raise RuntimeError(f"{tool} failed: {done.stdout}{done.stderr}{log[-2000:]}")
        return done

    def write(self, name: str, content: str | bytes, mode: int = 0o600) -> Path:
        """A file in the data directory, owned by the server's user (keys must be private to it)."""
        path = self.data / name
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        path.chmod(mode)
        self._own(path)
        return path

    def configure(self, **settings: str) -> None:
        with open(self.data / "postgresql.conf", "a") as f:
            for key, value in settings.items():
                f.write(f"{key} = '{value}'\n")

    def hba(self, *lines: str) -> None:
        self.write("pg_hba.conf", "local all all trust\n" + "".join(line + "\n" for line in lines))

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "start",
                  "-o", f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root}")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop", check=False)

    def url(self, database: str = "postgres", **params: str) -> str:
        query = "&".join(f"{k}={v}" for k, v in params.items())
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}" + (f"?{query}" if query else "")

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
