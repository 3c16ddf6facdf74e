"""`./scripts/dev` (python -m scripts.devstack up): a crashed worker is restarted, the rest of
the stack stays up, and only Ctrl-C (SIGINT) stops everything."""

import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

from scripts.devstack import ROOT, free_port, isolated_env, pid_alive
from tests.fixtures import wait_until


def _pid(run_dir: Path, name: str) -> int | None:
    try:
        return int((run_dir / f"{name}.pid").read_text().strip())
    except (OSError, ValueError):
        return None


def _health(base_url: str) -> int:
    with urllib.request.urlopen(f"{base_url}/health", timeout=5) as response:
        return response.status


async def test_a_killed_worker_is_restarted_and_the_stack_stays_up(stack_env, tmp_path):
    port = free_port("127.0.0.1")
    var = tmp_path / "var"
    # the session's services answer at these addresses, so `up` starts only the API and worker
    env = isolated_env({**stack_env, "API_PORT": str(port), "DEVSTACK_VAR_DIR": str(var)})
    out = tmp_path / "dev.out"
    with out.open("wb") as sink:
        up = subprocess.Popen(
            [sys.executable, "-m", "scripts.devstack", "up"],
            cwd=ROOT,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    text = lambda: out.read_text(errors="replace")  # noqa: E731
    run_dir, base_url = var / "run", f"http://127.0.0.1:{port}"
    api = restarted = None
    try:
        await wait_until(lambda: "Demo API key" in text(), 120, message="the stack is up")
        api, worker = _pid(run_dir, "api"), _pid(run_dir, "worker1")
        assert api and worker and pid_alive(api) and pid_alive(worker)

        os.kill(worker, signal.SIGKILL)  # a crash
        await wait_until(lambda: "worker1 restarted" in text(), 60, message="a restart line")
        assert "worker1 exited with code -9; restarting in 1 s" in text()
        new_pid = lambda: (pid := _pid(run_dir, "worker1")) != worker and pid  # noqa: E731
        restarted = await wait_until(new_pid, 30, message="a new worker1.pid")
        assert pid_alive(restarted)
        assert up.poll() is None  # the supervisor, and with it the rest, is still up
        assert _pid(run_dir, "api") == api and pid_alive(api)
        assert _health(base_url) == 200
    finally:
        up.send_signal(signal.SIGINT)  # Ctrl-C stops it all
        code = up.wait(timeout=90)
    assert code == 0, text()[-2000:]
    assert api and restarted and not pid_alive(api) and not pid_alive(restarted)
