"""Real processes for fault tests: a private Redis that can be stopped and started again, Celery
workers and beats, gunicorn. Each runs in its own process group so a test can SIGKILL all of it,
against the test database and a private Redis (never the shared servers)."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
WORKER_SETTINGS = "tests.reliability.worker_settings"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout: float = 60, every: float = 0.1):
    """The time it took for `predicate` to hold (seconds), or None on timeout."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if predicate():
            return time.monotonic() - start
        time.sleep(every)
    return None


def database_url() -> str:
    s = connection.settings_dict
    return f"postgres://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


class PrivateRedis:
    """A redis-server on a free port in a temporary directory; without persistence unless asked, so
    a restart loses every queued message (the worst case)."""

    def __init__(self, persistence: bool = False):
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="fault-redis-")
        self.persistence = persistence
        self.process = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        args = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.dir, "--save", ""]
        args += ["--appendonly", "yes" if self.persistence else "no"]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        assert wait_for(self._answers, timeout=10) is not None, "private redis did not start"

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.kill()  # as a crash: nothing is saved
            self.process.wait(timeout=10)


def process_env(redis_url: str, **extra) -> dict:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": WORKER_SETTINGS,
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": database_url(),
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": redis_url,
    }
    env.update({k: str(v) for k, v in extra.items()})
    return env


class Group:
    """A process in its own process group, killed whole."""

    def __init__(self, args, env, log_name):
        self.log = open(Path(tempfile.gettempdir()) / f"fault-{log_name}-{os.getpid()}-{time.time_ns()}.log", "w+")  # noqa: SIM115
        self.process = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self, sig=signal.SIGKILL):
        if self.alive:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, sig)
            self.process.wait(timeout=30)

    def stop(self):
        if self.alive:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()

    def output(self) -> str:
        self.log.flush()
        self.log.seek(0)
        return self.log.read()


def celery_worker(env, *, concurrency: int = 1, name: str = "w1") -> Group:
    args = [sys.executable, "-m", "celery", "-A", "platform_core", "worker", "-P", "prefork", "-c", str(concurrency)]
    args += ["-n", f"{name}@%h", "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "INFO"]
    return Group(args, env, f"worker-{name}")


def celery_beat(env, *, name: str = "beat") -> Group:
    schedule = Path(tempfile.mkdtemp(prefix="fault-beat-")) / "schedule"
    args = [sys.executable, "-m", "celery", "-A", "platform_core", "beat", "-s", str(schedule), "-l", "INFO"]
    return Group(args, env, name)


def worker_ready(redis_url: str, name: str = "w1") -> bool:
    """A worker that answers a ping over the broker is consuming."""
    from celery import Celery

    probe = Celery(broker=redis_url)
    try:
        return bool(probe.control.ping(destination=[f"{name}@{socket.gethostname()}"], timeout=0.5))
    except Exception:
        return False
    finally:
        probe.close()


def gunicorn(env, *, port: int, workers: int = 2) -> Group:
    args = [sys.executable, "-m", "gunicorn", "platform_core.wsgi", "--workers", str(workers), "--bind", f"127.0.0.1:{port}"]
    args += ["--access-logfile", "-", "--log-level", "warning"]
    return Group(args, env, "gunicorn")


def http_ready(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False
