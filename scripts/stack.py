#!/usr/bin/env python3
"""Start, probe and stop the embedded services the gift-card service needs.

Used two ways:

* as a CLI by ``scripts/dev`` / ``scripts/worker``::

      python scripts/stack.py up [--services-only]   # services + seed + API + worker 1
      python scripts/stack.py worker                 # one more arq worker (foreground)
      python scripts/stack.py down                   # stop leftovers listed in var/run/*.pid

* as a library by the pytest fixtures (tests/fixtures), which import this file with
  importlib and start throwaway servers on free ports in pytest's tmp dir.

Services: MongoDB wire protocol (nx-27017), Redis (redis-server), S3 (SeaweedFS ``weed mini``)
and SMTP (aiosmtpd, writing to a Maildir: mails carry card numbers, so never to a log).

Only the standard library at import time; pymongo, redis, boto3 (all in the venv) are imported
lazily by the probes.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN_DIR = Path(sys.executable).parent
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
SERVICE_NAMES = ("mongo", "redis", "s3", "smtp")


class StackError(RuntimeError):
    """A service could not be started or does not answer."""


# --------------------------------------------------------------------------- helpers


def free_port(host: str = "127.0.0.1", exclude: Iterable[int] = ()) -> int:
    """A TCP port that is free right now on ``host`` (not in ``exclude``)."""
    excluded = set(exclude)
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind((host, 0))
            port = s.getsockname()[1]
        if port not in excluded:
            return port
    raise StackError("could not find a free port")


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    """True when something accepts TCP connections at host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def find_executable(name: str) -> str:
    """``name`` from the venv's bin dir, else from PATH."""
    candidate = BIN_DIR / name
    if candidate.exists():
        return str(candidate)
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        path = Path(directory) / name
        if path.is_file() and os.access(path, os.X_OK):
            return str(path)
    raise StackError(f"{name!r} not found (looked in {BIN_DIR} and PATH)")


def tail(path: Path | None, lines: int = 40) -> str:
    if path is None or not path.exists():
        return "(no log)"
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError as exc:
        return f"(cannot read {path}: {exc})"
    return "\n".join(text[-lines:])


def _set_pdeathsig() -> None:  # runs in the child between fork and exec
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG: die with the parent
    except Exception:  # noqa: BLE001 - best effort, never break the exec
        pass


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie still "exists": treat it as dead.
    with contextlib.suppress(OSError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat.rsplit(")", 1)[1].split()[0] == "Z":
            return False
    return True


def pid_cmdline(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    return raw.replace(b"\0", b" ").decode(errors="replace")


def read_pid(pid_path: Path) -> int | None:
    try:
        return int(pid_path.read_text().strip())
    except (OSError, ValueError):
        return None


# --------------------------------------------------------------------------- processes

_LIVE: list[ManagedProcess] = []
_LIVE_LOCK = threading.Lock()


class ManagedProcess:
    """A child process we own: its pid file, its log, and how to stop it.

    Children get their own session (Ctrl-C in the terminal reaches only the supervisor, which
    stops them in order) and, when started from the main thread, PR_SET_PDEATHSIG so that they
    die with the supervisor even if it is SIGKILLed. Every instance is also stopped at
    interpreter exit (atexit).
    """

    def __init__(
        self,
        name: str,
        argv: list[str],
        *,
        log_path: Path,
        pid_path: Path | None = None,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        tee: bool = False,
        stop_timeout: float = 20.0,
        write_pid: bool = True,
    ) -> None:
        self.name = name
        self.argv = argv
        self.log_path = Path(log_path)
        self.pid_path = Path(pid_path) if pid_path else None
        self.env = dict(env) if env is not None else None
        self.cwd = cwd
        self.tee = tee
        self.stop_timeout = stop_timeout
        self.write_pid = write_pid
        self.proc: subprocess.Popen[bytes] | None = None
        self._log_file = None
        self._tee_thread: threading.Thread | None = None
        self.on_stop: list[Callable[[], None]] = []

    # -- lifecycle
    def start(self) -> ManagedProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log_file = open(self.log_path, "ab", buffering=0)  # noqa: SIM115
        in_main = threading.current_thread() is threading.main_thread()
        self.proc = subprocess.Popen(
            self.argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if self.tee else self._log_file,
            stderr=subprocess.STDOUT,
            env=self.env,
            cwd=self.cwd,
            start_new_session=True,
            preexec_fn=_set_pdeathsig if (in_main and sys.platform == "linux") else None,
        )
        if self.tee:
            self._tee_thread = threading.Thread(
                target=self._pump, name=f"tee-{self.name}", daemon=True
            )
            self._tee_thread.start()
        if self.pid_path and self.write_pid:
            self.pid_path.parent.mkdir(parents=True, exist_ok=True)
            self.pid_path.write_text(f"{self.proc.pid}\n")
        with _LIVE_LOCK:
            _LIVE.append(self)
        return self

    def _pump(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        prefix = f"[{self.name}] ".encode()
        for line in iter(self.proc.stdout.readline, b""):
            if self._log_file is not None:
                with contextlib.suppress(ValueError, OSError):
                    self._log_file.write(line)
            with contextlib.suppress(ValueError, OSError):
                sys.stdout.buffer.write(prefix + line)
                sys.stdout.buffer.flush()

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def poll(self) -> int | None:
        return self.proc.poll() if self.proc else None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig: int) -> None:
        """Send ``sig`` to the process group (e.g. SIGKILL to simulate a crash)."""
        if self.alive():
            assert self.proc is not None
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, sig)

    def kill(self) -> None:
        """SIGKILL, wait, and clean up (pid file, log handle)."""
        self.signal(signal.SIGKILL)
        if self.proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=10)
        self._cleanup()

    def stop(self, timeout: float | None = None) -> int | None:
        """SIGTERM, wait up to ``timeout`` seconds, then SIGKILL. Idempotent."""
        if self.proc is None:
            return None
        timeout = self.stop_timeout if timeout is None else timeout
        if self.proc.poll() is None:
            self.signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.signal(signal.SIGKILL)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.proc.wait(timeout=10)
        # Stray grandchildren in the group, if any.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self._cleanup()
        return self.proc.returncode

    def _cleanup(self) -> None:
        while self.on_stop:
            with contextlib.suppress(Exception):
                self.on_stop.pop()()
        if self._tee_thread is not None:
            self._tee_thread.join(timeout=5)
            self._tee_thread = None
        if self.pid_path is not None and self.proc is not None:
            if read_pid(self.pid_path) == self.proc.pid:
                with contextlib.suppress(FileNotFoundError):
                    self.pid_path.unlink()
        if self._log_file is not None:
            with contextlib.suppress(OSError):
                self._log_file.close()
            self._log_file = None
        with _LIVE_LOCK:
            if self in _LIVE:
                _LIVE.remove(self)

    def wait_ready(self, check: Callable[[], bool], timeout: float, what: str) -> None:
        """Poll ``check`` until true; fail fast (with the log tail) if the process exits."""
        deadline = time.monotonic() + timeout
        while True:
            if self.poll() is not None:
                raise StackError(
                    f"{self.name} exited with code {self.poll()} before {what}.\n"
                    f"--- {self.log_path} ---\n{tail(self.log_path)}"
                )
            try:
                if check():
                    return
            except Exception:  # noqa: BLE001 - not ready yet
                pass
            if time.monotonic() > deadline:
                raise StackError(
                    f"{self.name} not ready after {timeout:.0f}s ({what}).\n"
                    f"--- {self.log_path} ---\n{tail(self.log_path)}"
                )
            time.sleep(0.1)

    def __enter__(self) -> ManagedProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<ManagedProcess {self.name} pid={self.pid} rc={self.poll()}>"


def stop_all() -> None:
    """Stop every process started by this interpreter, newest first."""
    with _LIVE_LOCK:
        procs = list(reversed(_LIVE))
    for proc in procs:
        with contextlib.suppress(Exception):
            proc.stop(timeout=10)


atexit.register(stop_all)


def child_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    if extra:
        env.update({k: str(v) for k, v in extra.items()})
    return env


# --------------------------------------------------------------------------- probes


def mongo_ping(url: str, timeout: float = 1.0) -> bool:
    from pymongo import MongoClient

    ms = int(timeout * 1000)
    client: MongoClient = MongoClient(
        url, serverSelectionTimeoutMS=ms, connectTimeoutMS=ms, socketTimeoutMS=ms
    )
    try:
        return client.admin.command("ping").get("ok") == 1
    except Exception:  # noqa: BLE001
        return False
    finally:
        client.close()


def redis_ping(url: str, timeout: float = 1.0) -> bool:
    import redis

    client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
    try:
        return bool(client.ping())
    except Exception:  # noqa: BLE001
        return False
    finally:
        client.close()


def s3_client(endpoint_url: str, access_key: str, secret_key: str, region: str = "us-east-1"):
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=endpoint_url,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        region_name=region,
        config=Config(
            s3={"addressing_style": "path"},
            signature_version="s3v4",
            retries={"max_attempts": 1, "mode": "standard"},
            connect_timeout=2,
            read_timeout=5,
        ),
    )


def s3_answers(endpoint_url: str, timeout: float = 1.0) -> bool:
    """Something speaking HTTP at the endpoint (any status code)."""
    try:
        urllib.request.urlopen(endpoint_url, timeout=timeout).close()
        return True
    except urllib.error.HTTPError:
        return True
    except Exception:  # noqa: BLE001
        return False


def ensure_bucket(client, bucket: str) -> None:
    """Create ``bucket`` unless it exists (idempotent); raises on auth errors."""
    from botocore.exceptions import ClientError

    try:
        client.head_bucket(Bucket=bucket)
        return
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code"))
        if code not in ("404", "NoSuchBucket", "NotFound"):
            raise
    try:
        client.create_bucket(Bucket=bucket)
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code"))
        if code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            raise
    client.head_bucket(Bucket=bucket)


def smtp_ping(host: str, port: int, timeout: float = 1.0) -> bool:
    """Reads the 220 greeting and says QUIT."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            greeting = sock.recv(512)
            with contextlib.suppress(OSError):
                sock.sendall(b"QUIT\r\n")
                sock.recv(512)
            return greeting.startswith(b"220")
    except OSError:
        return False


def http_get_status(url: str, timeout: float = 1.0) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except Exception:  # noqa: BLE001
        return None


# --------------------------------------------------------------------------- services


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


WEED_COMPONENTS = ("master", "volume", "filer", "admin")
GRPC_OFFSET = 10000  # weed's convention: grpc port = http port + 10000


def port_bindable(host: str, port: int) -> bool:
    if not 0 < port < 65536:
        return False
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def free_port_pair(
    host: str = "127.0.0.1", offset: int = GRPC_OFFSET, exclude: Iterable[int] = ()
) -> int:
    """A free port ``p`` such that ``p + offset`` is free too (weed's http/grpc pairs)."""
    import random

    excluded = set(exclude)
    for _ in range(500):
        port = random.randint(20000, 65535 - offset - 1)
        if {port, port + offset} & excluded:
            continue
        if port_bindable(host, port) and port_bindable(host, port + offset):
            return port
    raise StackError("could not find a free port pair")


def _weed_ports(data_dir: Path, host: str, s3_port: int) -> dict[str, int]:
    """Every port weed mini opens besides -s3.port, as {flag: port}.

    Each component gets an http port ``p`` and grpc ``p + 10000``: weed mini's embedded
    maintenance worker dials admin http+10000 whatever -admin.port.grpc says. The ports are
    remembered in data_dir/ports.json and reused while free (stable across dev restarts).
    """
    memo = data_dir / "ports.json"
    try:
        remembered = {k: int(v) for k, v in json.loads(memo.read_text()).items()}
    except (OSError, ValueError, AttributeError):
        remembered = {}
    ports: dict[str, int] = {}
    taken = {s3_port}
    grpc = remembered.get("s3.port.grpc", s3_port + GRPC_OFFSET)
    if grpc in taken or not port_bindable(host, grpc):
        grpc = free_port(host, exclude=taken)
    ports["s3.port.grpc"] = grpc
    taken.add(grpc)
    for comp in WEED_COMPONENTS:
        http = remembered.get(f"{comp}.port")
        ok = (
            http is not None
            and remembered.get(f"{comp}.port.grpc") == http + GRPC_OFFSET
            and not {http, http + GRPC_OFFSET} & taken
            and port_bindable(host, http)
            and port_bindable(host, http + GRPC_OFFSET)
        )
        if not ok:
            http = free_port_pair(host, exclude=taken)
        assert http is not None
        ports[f"{comp}.port"] = http
        ports[f"{comp}.port.grpc"] = http + GRPC_OFFSET
        taken |= {http, http + GRPC_OFFSET}
    memo.write_text(json.dumps(ports, indent=1))
    return ports


def _remove_weed_sockets(ports: Iterable[int]) -> None:
    """weed leaves /tmp/seaweedfs-<component>[-grpc]-<port>.sock behind; ours are per port."""
    wanted = {str(p) for p in ports}
    for sock in Path("/tmp").glob("seaweedfs-*.sock"):
        if sock.stem.rsplit("-", 1)[-1] in wanted:
            with contextlib.suppress(OSError):
                sock.unlink()


def write_s3_identities(path: Path, access_key: str, secret_key: str) -> Path:
    config = {
        "identities": [
            {
                "name": "giftcards",
                "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            }
        ]
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(config, indent=2))
    path.chmod(0o600)
    return path


WEED_LOCAL_SOCKETS = (("filer.localSocket", "filer.sock"), ("s3.localSocket", "s3.sock"))


def weed_argv(
    *,
    port: int,
    data_dir: Path,
    identities_path: Path,
    bucket: str,
    host: str,
    ports: Mapping[str, int],
    run_dir: Path,
) -> list[str]:
    argv = [
        find_executable("weed"),
        "mini",
        f"-dir={data_dir}",
        f"-ip={host}",
        f"-ip.bind={host}",
        "-master.telemetry=false",
        "-admin.ui=false",  # the admin server itself still listens (on admin.port below)
        "-webdav=false",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        f"-s3.port={port}",
        f"-s3.config={identities_path}",
        f"-bucket={bucket}",
    ]
    argv += [f"-{flag}={value}" for flag, value in ports.items()]
    # Unix sockets default to /tmp/seaweedfs-{filer,s3}-<port>.sock and are left behind;
    # keep them with the run files when the path fits a sockaddr_un (108 bytes).
    for flag, name in WEED_LOCAL_SOCKETS:
        sock = run_dir / name
        if len(str(sock)) < 100:
            argv.append(f"-{flag}={sock}")
    return argv


def start_s3(
    *,
    port: int,
    data_dir: Path,
    log_path: Path,
    pid_path: Path,
    access_key: str,
    secret_key: str,
    bucket: str,
    region: str = "us-east-1",
    host: str = "127.0.0.1",
    mem_limit: str = "512MiB",
    timeout: float = 60.0,
) -> ManagedProcess:
    """SeaweedFS ``weed mini`` with only master+volume+filer+S3 on explicit loopback ports."""
    data_dir.mkdir(parents=True, exist_ok=True)
    run_dir = pid_path.parent
    run_dir.mkdir(parents=True, exist_ok=True)
    identities = write_s3_identities(data_dir / "s3-identities.json", access_key, secret_key)
    ports = _weed_ports(data_dir, host, port)
    argv = weed_argv(
        port=port,
        data_dir=data_dir / "weed",
        identities_path=identities,
        bucket=bucket,
        host=host,
        ports=ports,
        run_dir=run_dir,
    )
    (data_dir / "weed").mkdir(exist_ok=True)
    env = child_env({"GOMEMLIMIT": mem_limit})
    proc = ManagedProcess("s3", argv, log_path=log_path, pid_path=pid_path, env=env)
    proc.on_stop.append(lambda: _remove_weed_sockets([port, *ports.values()]))
    for _flag, name in WEED_LOCAL_SOCKETS:
        proc.on_stop.append(lambda sock=run_dir / name: sock.unlink(missing_ok=True))
    proc.start()
    endpoint = f"http://{host}:{port}"
    client = s3_client(endpoint, access_key, secret_key, region)

    def ready() -> bool:
        if not port_open(host, port, timeout=0.2):
            return False
        ensure_bucket(client, bucket)  # weed's -bucket usually wins the race; idempotent
        return True

    try:
        proc.wait_ready(ready, timeout, f"bucket {bucket!r} reachable at {endpoint}")
    except BaseException:
        proc.stop()
        raise
    proc.url = endpoint  # type: ignore[attr-defined]
    proc.ports = {"s3.port": port, **ports}  # type: ignore[attr-defined]
    return proc


def start_smtp_maildir(
    *,
    port: int,
    mail_dir: Path,
    log_path: Path,
    pid_path: Path,
    host: str = "127.0.0.1",
    timeout: float = 30.0,
) -> ManagedProcess:
    """aiosmtpd storing every message in a Maildir (never printing bodies)."""
    # mailbox.Maildir only creates tmp/new/cur when mail_dir itself is missing.
    for sub in ("tmp", "new", "cur"):
        (mail_dir / sub).mkdir(parents=True, exist_ok=True)
    argv = [
        sys.executable, "-m", "aiosmtpd",
        "-n",
        "-l", f"{host}:{port}",
        "-c", "aiosmtpd.handlers.Mailbox", str(mail_dir),
    ]  # fmt: skip
    proc = ManagedProcess("smtp", argv, log_path=log_path, pid_path=pid_path, env=child_env())
    proc.start()
    try:
        proc.wait_ready(lambda: smtp_ping(host, port), timeout, f"greeting on {host}:{port}")
    except BaseException:
        proc.stop()
        raise
    proc.url = f"smtp://{host}:{port}"  # type: ignore[attr-defined]
    return proc


# --------------------------------------------------------------------------- .env


def parse_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines; ``#`` comments, blank lines, ``export`` and quotes tolerated."""
    values: dict[str, str] = {}
    if not path.exists():
        return values
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        if line.startswith("export "):
            line = line[len("export ") :]
        key, value = line.split("=", 1)
        key, value = key.strip(), value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        values[key] = value
    return values


def load_config(env_file: Path) -> dict[str, str]:
    """settings.py defaults < .env < environment (the environment wins)."""
    defaults = {
        "API_HOST": "127.0.0.1",
        "API_PORT": "8000",
        "MONGODB_URL": "mongodb://127.0.0.1:27017",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "S3_ENDPOINT_URL": "http://127.0.0.1:8333",
        "S3_REGION": "us-east-1",
        "S3_BUCKET": "giftcard-exports",
        "S3_ACCESS_KEY": "dev-access-key",
        "S3_SECRET_KEY": "dev-secret-key-change-me",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": "1025",
        "DEMO_API_KEY": "demo_key_change_me",
    }
    config = {**defaults, **parse_env_file(env_file)}
    for key in list(config):
        if key in os.environ:
            config[key] = os.environ[key]
    return config


# --------------------------------------------------------------------------- `up`


class Stack:
    """What `up` found or started; stops only what it started, newest first."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.var = root / "var"
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
                f"(python scripts/stack.py down) or remove the pid file."
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


def run_seed(config: Mapping[str, str], env: Mapping[str, str]) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "seed-demo"],
        cwd=ROOT,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=180,
    )
    if result.returncode != 0:
        raise StackError(
            f"`python -m app.cli seed-demo` failed with code {result.returncode}:\n"
            f"{result.stdout}\n{result.stderr}"
        )
    lines = [line.strip() for line in result.stdout.splitlines() if line.strip()]
    if not lines:
        raise StackError("`python -m app.cli seed-demo` printed nothing (expected the program id)")
    return lines[-1].split()[-1]


def worker_argv() -> list[str]:
    return [sys.executable, "-m", "workers"]


def api_argv(host: str, port: int) -> list[str]:
    return [
        sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory",
        "--host", host, "--port", str(port),
    ]  # fmt: skip


class _Stop(Exception):
    pass


def _raise_stop(signum: int, _frame: object) -> None:
    raise _Stop(signal.Signals(signum).name)


def cmd_up(args: argparse.Namespace) -> int:
    os.chdir(ROOT)
    config = load_config(ROOT / ".env")
    stack = Stack(ROOT)
    env = child_env(config)
    # Signals become an exception in the main thread, so startup can be interrupted too.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _raise_stop)
    exit_code = 0
    try:
        for name, ensure in (
            ("mongo", ensure_mongo),
            ("redis", ensure_redis),
            ("s3", ensure_s3),
            ("smtp", ensure_smtp),
        ):
            print(f"{name:6} {ensure(stack, config)}", flush=True)
        if args.services_only:
            print("services ready (--services-only: no seed, API or worker). Ctrl-C to stop.")
        else:
            api_host, api_port = config["API_HOST"], int(config["API_PORT"])
            if port_open(api_host, api_port):
                raise StackError(f"API port {api_host}:{api_port} is already in use")
            print("seed   running python -m app.cli seed-demo ...", flush=True)
            program_id = run_seed(config, env)
            api = ManagedProcess(
                "api",
                api_argv(api_host, api_port),
                log_path=stack.log_path("api"),
                pid_path=stack.pid_path("api"),
                env=env,
                cwd=ROOT,
                tee=True,
            )
            stack.started.append(api.start())
            worker = ManagedProcess(
                "worker1",
                worker_argv(),
                log_path=stack.log_path("worker1"),
                pid_path=stack.pid_path("worker1"),
                env=env,
                cwd=ROOT,
            )
            stack.started.append(worker.start())
            base = f"http://{api_host}:{api_port}"
            api.wait_ready(lambda: http_get_status(f"{base}/health") == 200, 90, "GET /health")
            if not worker.alive():
                raise StackError(f"worker1 exited:\n{tail(worker.log_path)}")
            mail_dir = ROOT / "var" / "mail"
            print(
                "\n"
                f"  API          {base}\n"
                f"  OpenAPI      {base}/schema\n"
                f"  S3           {config['S3_ENDPOINT_URL']} (bucket {config['S3_BUCKET']})\n"
                f"  SMTP         {config['SMTP_HOST']}:{config['SMTP_PORT']}"
                f" -> Maildir {mail_dir}\n"
                f"  Logs         {stack.log_dir}\n"
                f"  Demo API key {config['DEMO_API_KEY']}\n"
                f"  Demo program {program_id}\n"
                "\n  More workers: ./scripts/worker    Stop: Ctrl-C\n",
                flush=True,
            )
        while True:
            for proc in stack.started:
                if proc.poll() is not None:
                    raise StackError(
                        f"{proc.name} exited unexpectedly with code {proc.poll()}.\n"
                        f"--- {proc.log_path} ---\n{tail(proc.log_path)}"
                    )
            time.sleep(0.5)
    except _Stop as stop:
        print(f"\n{stop}: shutting down", flush=True)
    except StackError as exc:
        print(f"\nERROR: {exc}", file=sys.stderr, flush=True)
        exit_code = 1
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
        stack.shutdown()
    return exit_code


# --------------------------------------------------------------------------- `worker`


def next_worker_number(run_dir: Path) -> int:
    n = 1
    while True:
        pid = read_pid(run_dir / f"worker{n}.pid")
        if pid is None or not pid_alive(pid):
            return n
        n += 1


def cmd_worker(args: argparse.Namespace) -> int:
    os.chdir(ROOT)
    config = load_config(ROOT / ".env")
    stack = Stack(ROOT)
    n = next_worker_number(stack.run_dir)
    name = f"worker{n}"
    proc = ManagedProcess(
        name,
        worker_argv(),
        log_path=stack.log_path(name),
        pid_path=stack.pid_path(name),
        env=child_env(config),
        cwd=ROOT,
        tee=True,
    )
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _raise_stop)
    proc.start()
    print(f"{name} started (pid {proc.pid}, log var/log/{name}.log). Ctrl-C to stop.", flush=True)
    try:
        while proc.poll() is None:
            time.sleep(0.3)
        print(f"{name} exited with code {proc.poll()}", flush=True)
    except _Stop:
        pass
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
        code = proc.stop()
    return code or 0


# --------------------------------------------------------------------------- `down`

_EXPECTED = {
    "mongo": "nx-27017",
    "redis": "redis-server",
    "s3": "weed",
    "smtp": "aiosmtpd",
    "api": "uvicorn",
}


def cmd_down(args: argparse.Namespace) -> int:
    """Stop processes left behind in var/run/*.pid (e.g. after the supervisor was killed)."""
    run_dir = ROOT / "var" / "run"
    for pid_path in sorted(run_dir.glob("*.pid")):
        name = pid_path.stem
        pid = read_pid(pid_path)
        expected = "workers" if name.startswith("worker") else _EXPECTED.get(name, "")
        if pid is None or not pid_alive(pid):
            pid_path.unlink(missing_ok=True)
            continue
        if expected and expected not in pid_cmdline(pid):
            print(f"{name}: pid {pid} is not {expected!r}; leaving it alone")
            continue
        print(f"{name}: stopping pid {pid}")
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if pid_alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        pid_path.unlink(missing_ok=True)
    s3_pid = read_pid(run_dir / "s3.pid")
    if s3_pid is None or not pid_alive(s3_pid):
        for _flag, name in WEED_LOCAL_SOCKETS:
            (run_dir / name).unlink(missing_ok=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="stack.py", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="services (found or embedded) + seed + API + one worker")
    up.add_argument(
        "--services-only", action="store_true", help="only ensure Mongo, Redis, S3 and SMTP"
    )
    up.set_defaults(func=cmd_up)
    sub.add_parser("worker", help="one more arq worker in the foreground").set_defaults(
        func=cmd_worker
    )
    sub.add_parser("down", help="stop processes listed in var/run/*.pid").set_defaults(
        func=cmd_down
    )
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
