"""For ``up``: use the service answering at each .env address, or start an embedded one there.

Pid files go to var/run/<name>.pid, logs to var/log/<name>.log, data to var/<name>/.
"""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Mapping
from pathlib import Path

from .mongo import start_mongo
from .probes import ensure_bucket, mongo_ping, redis_ping, s3_answers, s3_client, smtp_ping
from .processes import ManagedProcess, StackError, pid_alive, pid_cmdline, port_open, read_pid
from .redis import start_redis
from .s3 import start_s3
from .smtp import start_smtp_maildir

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
SERVICE_NAMES = ("mongo", "redis", "s3", "smtp")


def var_dir(root: Path) -> Path:
    """Where data, pids and logs live: `var/`, or DEVSTACK_VAR_DIR (the tests' own)."""
    return Path(os.environ.get("DEVSTACK_VAR_DIR") or root / "var")


class Stack:
    """What `up` found or started; stops only what it started, newest first."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.var = var_dir(root)
        self.run_dir = self.var / "run"
        self.log_dir = self.var / "log"
        self.started: list[ManagedProcess] = []
        for d in (self.run_dir, self.log_dir):
            d.mkdir(parents=True, exist_ok=True)

    def pid_path(self, name: str) -> Path:
        return self.run_dir / f"{name}.pid"

    def log_path(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    def check_stale_pid(self, name: str) -> None:
        pid_path = self.pid_path(name)
        pid = read_pid(pid_path)
        if pid is None:
            return
        if pid_alive(pid):
            raise StackError(
                f"var/run/{name}.pid names a live process {pid} ({pid_cmdline(pid)[:120]!r}) "
                f"that does not answer at the configured address; stop it "
                f"(python -m scripts.devstack down) or remove the pid file."
            )
        pid_path.unlink(missing_ok=True)

    def shutdown(self) -> None:
        for proc in reversed(self.started):
            print(f"stopping {proc.name} (pid {proc.pid}) ...", flush=True)
            try:
                proc.stop()
            except Exception as exc:  # noqa: BLE001
                print(f"  could not stop {proc.name}: {exc}", flush=True)
        self.started.clear()


def _local_bind_host(host: str | None, what: str, value: str) -> str:
    if host not in LOCAL_HOSTS:
        raise StackError(
            f"{what}={value} does not answer, and it is not a local address, "
            f"so no embedded server can be started there."
        )
    return "127.0.0.1" if host in ("localhost", None) else host


def ensure_mongo(stack: Stack, config: Mapping[str, str]) -> str:
    url = config["MONGODB_URL"]
    if mongo_ping(url, timeout=1.5):
        return f"found at {url}"
    from pymongo.uri_parser import parse_uri

    nodes = parse_uri(url).get("nodelist") or []
    if len(nodes) != 1:
        raise StackError(f"MONGODB_URL={url} does not answer (and is not a single local host)")
    host, port = nodes[0]
    bind = _local_bind_host(host, "MONGODB_URL", url)
    if port_open(bind, port):
        raise StackError(f"port {port} is in use by something that is not MongoDB ({url})")
    stack.check_stale_pid("mongo")
    proc = start_mongo(
        port=port,
        data_dir=stack.var / "mongo",
        log_path=stack.log_path("mongo"),
        pid_path=stack.pid_path("mongo"),
        host=bind,
    )
    stack.started.append(proc)
    return f"started nx-27017 at {url} (pid {proc.pid}, data var/mongo)"


def ensure_redis(stack: Stack, config: Mapping[str, str]) -> str:
    url = config["REDIS_URL"]
    if redis_ping(url, timeout=1.5):
        return f"found at {url}"
    parsed = urllib.parse.urlparse(url)
    port = parsed.port or 6379
    bind = _local_bind_host(parsed.hostname, "REDIS_URL", url)
    if port_open(bind, port):
        raise StackError(f"port {port} is in use by something that does not answer PING ({url})")
    if parsed.password:
        raise StackError(f"REDIS_URL={url} has a password; the embedded redis has none")
    stack.check_stale_pid("redis")
    proc = start_redis(
        port=port,
        data_dir=stack.var / "redis",
        log_path=stack.log_path("redis"),
        pid_path=stack.pid_path("redis"),
        host=bind,
        persist=True,
    )
    stack.started.append(proc)
    return f"started redis-server at {url} (pid {proc.pid}, data var/redis)"


def ensure_s3(stack: Stack, config: Mapping[str, str]) -> str:
    endpoint = config["S3_ENDPOINT_URL"].rstrip("/")
    bucket = config["S3_BUCKET"]
    creds = (config["S3_ACCESS_KEY"], config["S3_SECRET_KEY"], config.get("S3_REGION", "us-east-1"))
    parsed = urllib.parse.urlparse(endpoint)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    if s3_answers(endpoint, timeout=1.5):
        try:
            ensure_bucket(s3_client(endpoint, *creds), bucket)
        except Exception as exc:  # noqa: BLE001
            raise StackError(
                f"S3_ENDPOINT_URL={endpoint} answers but bucket {bucket!r} is not usable with "
                f"S3_ACCESS_KEY/S3_SECRET_KEY: {exc}"
            ) from exc
        return f"found at {endpoint} (bucket {bucket} ok)"
    bind = _local_bind_host(parsed.hostname, "S3_ENDPOINT_URL", endpoint)
    if port_open(bind, port):
        raise StackError(f"port {port} is in use by something that does not speak HTTP")
    stack.check_stale_pid("s3")
    proc = start_s3(
        port=port,
        data_dir=stack.var / "s3",
        log_path=stack.log_path("s3"),
        pid_path=stack.pid_path("s3"),
        access_key=creds[0],
        secret_key=creds[1],
        region=creds[2],
        bucket=bucket,
        host=bind,
    )
    stack.started.append(proc)
    return f"started weed mini at {endpoint} (pid {proc.pid}, data var/s3, bucket {bucket})"


def ensure_smtp(stack: Stack, config: Mapping[str, str]) -> str:
    host, port = config["SMTP_HOST"], int(config["SMTP_PORT"])
    if smtp_ping(host, port, timeout=1.5):
        return f"found at {host}:{port}"
    bind = _local_bind_host(host, "SMTP_HOST", host)
    if port_open(bind, port):
        raise StackError(f"port {port} is in use by something that is not an SMTP server")
    stack.check_stale_pid("smtp")
    proc = start_smtp_maildir(
        port=port,
        mail_dir=stack.var / "mail",
        log_path=stack.log_path("smtp"),
        pid_path=stack.pid_path("smtp"),
        host=bind,
    )
    stack.started.append(proc)
    return f"started aiosmtpd at {host}:{port} (pid {proc.pid}, Maildir var/mail)"
