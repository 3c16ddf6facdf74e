"""Start, probe and stop the embedded services the gift-card service needs.

The commands: ``up`` (services + seed + API + worker 1), ``worker`` (one more), ``down``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

from .ensure import Stack, ensure_mongo, ensure_redis, ensure_s3, ensure_smtp, var_dir
from .envfile import load_config
from .probes import http_get_status
from .processes import (
    ROOT,
    ManagedProcess,
    StackError,
    child_env,
    pid_alive,
    pid_cmdline,
    port_open,
    read_pid,
    tail,
)
from .s3 import WEED_LOCAL_SOCKETS

# --------------------------------------------------------------------------- `up`


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


def _start_app(stack: Stack, config: Mapping[str, str], env: Mapping[str, str]) -> None:
    """Seeds the demo data, starts the API and one worker, and prints where they are."""
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
    mail_dir = stack.var / "mail"
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


RESTART_DELAYS = (1.0, 30.0)  # the first wait before a restart, and the longest
STEADY_SECONDS = 60.0  # up this long: the next crash waits the first delay again


def _watch(stack: Stack) -> None:
    """Until a signal (Ctrl-C): a process that exits is restarted after a back-off (1 s, then
    doubling up to 30 s), with a line saying so, and everything else stays up."""
    first, longest = RESTART_DELAYS
    delays: dict[str, float] = {}
    due: dict[str, float] = {}
    up_since = {proc.name: time.monotonic() for proc in stack.started}
    while True:
        now = time.monotonic()
        for proc in stack.started:
            if proc.poll() is None:
                if now - up_since[proc.name] > STEADY_SECONDS:
                    delays.pop(proc.name, None)
                continue
            if proc.name not in due:
                delay = delays.get(proc.name, first)
                delays[proc.name] = min(delay * 2, longest)
                due[proc.name] = now + delay
                print(
                    f"{proc.name} exited with code {proc.poll()}; restarting in {delay:.0f} s"
                    f" (log {proc.log_path})",
                    flush=True,
                )
                proc.stop()
            elif now >= due[proc.name]:
                del due[proc.name]
                proc.start()
                up_since[proc.name] = now
                print(f"{proc.name} restarted (pid {proc.pid})", flush=True)
        time.sleep(0.5)


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
            _start_app(stack, config, env)
        _watch(stack)
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
    run_dir = var_dir(ROOT) / "run"
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
    parser = argparse.ArgumentParser(
        prog="python -m scripts.devstack", description=__doc__.splitlines()[0]
    )
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
