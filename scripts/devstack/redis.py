"""Redis: redis-server (from PATH, installed by scripts/_bootstrap.sh) in the foreground."""

from __future__ import annotations

from pathlib import Path

from .probes import redis_ping
from .processes import ManagedProcess, child_env, find_executable


def start_redis(
    *,
    port: int,
    data_dir: Path,
    log_path: Path,
    pid_path: Path,
    host: str = "127.0.0.1",
    persist: bool = True,
    timeout: float = 30.0,
) -> ManagedProcess:
    """redis-server in the foreground; with ``persist`` RDB (60 1) + AOF under ``data_dir``."""
    data_dir.mkdir(parents=True, exist_ok=True)
    argv = [
        find_executable("redis-server"),
        "--bind", host,
        "--port", str(port),
        "--dir", str(data_dir),
        "--daemonize", "no",
        "--logfile", "",
        "--protected-mode", "yes",
    ]  # fmt: skip
    if persist:
        argv += ["--save", "60 1", "--appendonly", "yes"]
    else:
        argv += ["--save", "", "--appendonly", "no"]
    proc = ManagedProcess("redis", argv, log_path=log_path, pid_path=pid_path, env=child_env())
    proc.start()
    url = f"redis://{host}:{port}/0"
    try:
        proc.wait_ready(lambda: redis_ping(url), timeout, f"answering PING at {url}")
    except BaseException:
        proc.stop()
        raise
    proc.url = url  # type: ignore[attr-defined]
    return proc
