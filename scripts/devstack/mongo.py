"""MongoDB wire protocol: nx-27017 (a pip package), one SQLite file per database."""

from __future__ import annotations

from pathlib import Path

from .probes import mongo_ping
from .processes import (
    ManagedProcess,
    child_env,
    find_executable,
    pid_alive,
    pid_cmdline,
    port_open,
    read_pid,
)


def start_mongo(
    *,
    port: int,
    data_dir: Path,
    log_path: Path,
    pid_path: Path,
    host: str = "127.0.0.1",
    timeout: float = 30.0,
    console_log_path: Path | None = None,
) -> ManagedProcess:
    """nx-27017 in the foreground, one SQLite file per database under ``data_dir``."""
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    pid_path.parent.mkdir(parents=True, exist_ok=True)
    argv = [
        find_executable("nx-27017"),
        "--host", host,
        "-p", str(port),
        "--data-dir", str(data_dir),
        "--pid-file", str(pid_path),
        "--log-file", str(log_path),
    ]  # fmt: skip
    # nx-27017 writes its log to --log-file *and* to the console: keep the console copy
    # (tracebacks) apart so the log is not doubled.
    console = console_log_path or log_path.with_name(log_path.stem + ".console.log")
    # nx-27017 writes (and removes) the pid file itself, and refuses to start when the file
    # names a live process: so we must not write it first.
    stale = read_pid(pid_path)
    if stale is not None and not (pid_alive(stale) and "nx-27017" in pid_cmdline(stale)):
        pid_path.unlink(missing_ok=True)
    proc = ManagedProcess(
        "mongo", argv, log_path=console, pid_path=pid_path, env=child_env(), write_pid=False
    )
    proc.start()
    url = f"mongodb://{host}:{port}"
    try:
        proc.wait_ready(
            lambda: port_open(host, port) and mongo_ping(url), timeout, f"answering ping at {url}"
        )
    except BaseException:
        proc.stop()
        raise
    proc.url = url  # type: ignore[attr-defined]
    return proc
