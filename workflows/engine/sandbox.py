"""Model code whose cost its form does not bound, run in worker processes with OS limits.

A script with a loop can run forever in a single line, or fill memory in a single C call that no
check between bytecodes can interrupt. So such code runs in a child process of this one that
has nothing but RestrictedPython loaded, and limits set by the kernel:

- CPU time: an ITIMER_PROF timer raises in the script when its step's CPU time is up (a second
  expiry, if the script swallowed the first, ends the process), and RLIMIT_CPU kills the process
  one to two seconds later if a C call never returns to the interpreter;
- memory: RLIMIT_AS, the process's address space at start plus the step's allowance;
  MemoryError is the script's own failure;
- output: a script's variables go back to the engine only if they are at most a fixed number of
  values counted as JSON would write them (a list holding itself a thousand times over is small
  in memory, and huge once stored).

A worker serves one step at a time and stays up for the next, so a step costs a round trip over
a pipe, not a process start. A worker that hit a limit is replaced. Workers hold no database
connection, no secret (they start with an empty environment) and no file the parent has open.
"""
import io
import os
import pickle
import select
import signal
import struct
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

from . import restricted
from .restricted import ScriptLimitExceeded, ScriptRejected

_HEADER = struct.Struct("!I")
_EXIT_CPU = 71  # the worker's exit status when a script swallowed the CPU time signal
_IDLE_WORKERS = 4  # kept per process between steps; more start when more threads need one at once
_SAFE_CLASSES = {("datetime", "datetime"), ("datetime", "date"), ("datetime", "time"), ("datetime", "timedelta"),
                 ("datetime", "timezone"), ("decimal", "Decimal"), ("builtins", "complex"),
                 ("builtins", "set"), ("builtins", "frozenset")}


class _Unpickler(pickle.Unpickler):
    """What comes back from a worker is data: a class other than these is refused, not imported."""

    def find_class(self, module, name):
        if (module, name) in _SAFE_CLASSES:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"a value of type {module}.{name} cannot be kept in case data")


def _send(stream, payload) -> None:
    data = pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


# ---- the parent's side ------------------------------------------------------------------------------
class _Worker:
    def __init__(self, limits: restricted.Limits):
        self.limits = limits
        root = str(Path(__file__).resolve().parent.parent.parent)
        self.proc = subprocess.Popen(
            [sys.executable, "-I", "-c", "import sys; sys.path.insert(0, sys.argv[1]); "
             "from workflows.engine.sandbox import serve; serve(float(sys.argv[2]), int(sys.argv[3]))",
             root, repr(limits.cpu_seconds), str(limits.memory_bytes)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env={"PATH": os.environ.get("PATH", "")},
            cwd=root, close_fds=True)

    def call(self, request) -> tuple:
        """Send one step and wait for its answer; a worker that does not answer in time is killed."""
        try:
            _send(self.proc.stdin, request)
        except (BrokenPipeError, OSError):
            return self._died()
        # The kernel stops the worker within two seconds past its CPU limit whatever it runs, so the
        # wall clock is only a backstop, generous for a machine whose cores are busy elsewhere.
        deadline = time.monotonic() + 5 * self.limits.cpu_seconds + 10
        header = self._read(_HEADER.size, deadline)
        if header is None:
            return self._died()
        (size,) = _HEADER.unpack(header)
        body = self._read(size, deadline)
        if body is None:
            return self._died()
        return _Unpickler(io.BytesIO(body)).load()

    def _read(self, size: int, deadline: float) -> bytes | None:
        fd, chunks, got = self.proc.stdout.fileno(), [], 0
        while got < size:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                self.kill()
                return None
            chunk = os.read(fd, min(size - got, 1 << 20))
            if not chunk:
                return None
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)

    def _died(self) -> tuple:
        self.kill()
        status = self.proc.returncode
        if status in (_EXIT_CPU, -signal.SIGXCPU, -signal.SIGKILL, None):
            return ("limit", f"the step ran longer than its CPU time limit of {self.limits.cpu_seconds:g} s")
        return ("limit", f"the step was stopped (status {status}), probably at its memory limit of "
                         f"{self.limits.memory_bytes // 2**20} MB")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            pass
        self.forget()

    def forget(self) -> None:
        """Close this process's ends of the pipes (a forked child's copies), leaving the worker be."""
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except OSError:
                pass


class _Pool:
    def __init__(self):
        self._idle: list[_Worker] = []
        self._lock = threading.Lock()
        self._pid = os.getpid()

    def take(self) -> _Worker:
        limits = restricted.limits
        with self._lock:
            if self._pid != os.getpid():  # forked (an RQ work horse): the parent's workers are not ours
                for inherited in self._idle:
                    inherited.forget()
                self._idle, self._pid = [], os.getpid()
            while self._idle:
                worker = self._idle.pop()
                if worker.alive() and worker.limits == limits:
                    return worker
                worker.kill()
        return _Worker(limits)

    def give_back(self, worker: _Worker) -> None:
        with self._lock:
            if worker.alive() and len(self._idle) < _IDLE_WORKERS and self._pid == os.getpid():
                self._idle.append(worker)
                return
        worker.kill()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.kill()


_pool = _Pool()


def run(kind: str, source: str, context: dict, external: dict | None, now: datetime):
    """Evaluate (``kind`` "eval": the value) or execute ("exec": the variables the script left) model
    code in a worker, at the engine's instant ``now``. Raises ScriptLimitExceeded at a limit, and
    the script's own exception (re-created as ``SandboxError``) when it fails."""
    worker = _pool.take()
    reply = worker.call((kind, source, context, external or {}, now.isoformat()))
    if reply[0] == "limit":
        worker.kill()
        raise ScriptLimitExceeded(reply[1])
    _pool.give_back(worker)
    if reply[0] == "error":
        raise SandboxError(reply[1], reply[2])
    return reply[1]


class SandboxError(Exception):
    """A script failed in the sandbox (the message names its own exception type)."""

    def __init__(self, kind: str, message: str):
        super().__init__(f"{kind}: {message}" if message else kind)


def shutdown() -> None:
    _pool.close()


# ---- the worker's side ------------------------------------------------------------------------------
class _CpuTimeUp(BaseException):
    pass


_expired = [0]


def _on_cpu_timer(_signum, _frame):
    _expired[0] += 1
    if _expired[0] > 1:  # the script caught the first one and carried on
        os._exit(_EXIT_CPU)
    raise _CpuTimeUp


def _address_space() -> int:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 64 * 2**20


def _run_step(kind, source, context, external, now_iso):
    scope = restricted.base_globals(lambda: now_iso)
    base = set(scope)
    scope.update(external)
    scope.update(context)
    if kind == "eval":
        result = eval(restricted.compile_expression(source), scope)  # noqa: S307 - restricted bytecode
    else:
        exec(restricted.compile_script(source), scope)  # noqa: S102 - restricted bytecode
        result = {key: value for key, value in scope.items()
                  if key not in base and not key.startswith("_") and not callable(value) and key not in external}
    cap = restricted.limits.max_values
    if restricted._nodes(result, cap) > cap:
        raise ScriptLimitExceeded(f"the step made more than {cap} values")
    return result


def _no_calendar(_instant: datetime, _amount, _unit: str) -> datetime:
    """A worker has no database, so not the city's working-day calendar: a period asked for here (by a
    model stored before uploads were checked for this, loader._calendar_in_sandbox) fails its step
    clearly instead of ending on other dates than the same call in a plain script."""
    raise ScriptRejected("add_working_days and add_period count on the working-day calendar, which a script "
                         "run in the sandbox (one with loops, try or functions) does not have: count the "
                         "period in a plain script")


def serve(cpu_seconds: float, memory_bytes: int) -> None:
    """The worker's loop: one step per request on stdin, its answer on stdout."""
    import resource

    restricted.configure(cpu_seconds, memory_bytes / 2**20)
    restricted.set_period_provider(_no_calendar)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    allowance = _address_space() + memory_bytes
    resource.setrlimit(resource.RLIMIT_AS, (allowance, allowance))
    signal.signal(signal.SIGPROF, _on_cpu_timer)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C in a terminal is for the parent to handle
    requests, replies = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr
    while True:
        header = requests.read(_HEADER.size)
        if len(header) < _HEADER.size:
            return
        request = pickle.loads(requests.read(_HEADER.unpack(header)[0]))  # noqa: S301 - from our parent
        usage = resource.getrusage(resource.RUSAGE_SELF)
        hard_stop = int(usage.ru_utime + usage.ru_stime + cpu_seconds) + 2
        resource.setrlimit(resource.RLIMIT_CPU, (hard_stop, resource.RLIM_INFINITY))
        _expired[0] = 0
        signal.setitimer(signal.ITIMER_PROF, cpu_seconds, 0.05)
        try:
            try:
                reply = ("ok", _run_step(*request))
            finally:
                signal.setitimer(signal.ITIMER_PROF, 0, 0)
            data = pickle.dumps(reply, protocol=pickle.HIGHEST_PROTOCOL)
        except _CpuTimeUp:
            reply, data = ("limit", f"the step ran longer than its CPU time limit of {cpu_seconds:g} s"), None
        except MemoryError:
            reply, data = ("limit", f"the step needed more than its memory limit of {memory_bytes // 2**20} MB"), None
        except ScriptLimitExceeded as exc:
            reply, data = ("limit", str(exc)), None
        except Exception as exc:  # the script's own failure, reported to the engine
            reply, data = ("error", type(exc).__name__, str(exc)), None
        if data is None:
            data = pickle.dumps(reply)
        replies.write(_HEADER.pack(len(data)) + data)
        replies.flush()
        if reply[0] == "limit":
            return  # a fresh worker for the next step: this one's heap may be left full or fragmented
