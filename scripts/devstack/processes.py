"""Child processes we own (ManagedProcess), pid files, ports and executables.

Children get their own session and die with the supervisor (PR_SET_PDEATHSIG); everything still
running is stopped at interpreter exit (atexit). Only the standard library.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN_DIR = Path(sys.executable).parent


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
        owned = self.proc is not None and self.pid_path is not None
        if owned and read_pid(self.pid_path) == self.proc.pid:
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
