"""Stop at once, with a message saying how to start them, when PostgreSQL or Redis is unreachable."""

import os
import socket
import sys
from urllib.parse import urlparse

DATABASE_URL = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/platform")
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15")

HOW = {
    "PostgreSQL": "start it (e.g. `pg_ctlcluster <version> main start`, or your service manager) or point DATABASE_URL at one",
    "Redis": "start it (e.g. `redis-server --daemonize yes --port 6379`) or point REDIS_URL at one",
}


def reachable(url: str, default_port: int) -> tuple[bool, str]:
    parsed = urlparse(url)
    host, port = parsed.hostname or "127.0.0.1", parsed.port or default_port
    try:
        with socket.create_connection((host, port), timeout=3):
            return True, f"{host}:{port}"
    except OSError as exc:
        return False, f"{host}:{port} ({exc.strerror or exc})"


def main() -> int:
    failed = False
    for name, url, port in (("PostgreSQL", DATABASE_URL, 5432), ("Redis", REDIS_URL, 6379)):
        ok, where = reachable(url, port)
        if not ok:
            failed = True
            print(f"{name} is not reachable at {where}: {HOW[name]}.", file=sys.stderr)
    if failed:
        print("The test suite runs against real PostgreSQL and Redis; nothing was run.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
