"""The operator's CLI as operators run it: `giftcards ...` (the console script) and
`python -m app.cli ...`, subprocesses on the test stack's settings."""

import csv
import re
import subprocess
import sys
from pathlib import Path

import pytest

from scripts.devstack import ROOT, isolated_env
from tests.fixtures.tenants import token_for

GIFTCARDS = Path(sys.executable).parent / "giftcards"


LITESTAR = [str(Path(sys.executable).parent / "litestar"), "--app", "app.main:create_app"]


def _run(env: dict[str, str], cwd, *args: str, module: bool | str = False):
    """module: True runs `python -m app.cli`, "litestar" runs `litestar giftcards`."""
    command = [str(GIFTCARDS)]
    if module == "litestar":
        command = [*LITESTAR, "giftcards"]
    elif module:
        command = [sys.executable, "-m", "app.cli"]
    return subprocess.run(
        [*command, *args],
        env=isolated_env(env),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def giftcards(stack_env, tmp_path):
    def run(*args: str, module: bool | str = False, env: dict[str, str] | None = None):
        return _run({**stack_env, **(env or {})}, tmp_path, *args, module=module)

    return run


def test_the_console_script_is_installed():
    assert GIFTCARDS.exists(), "pip install -e . has not been run since [project.scripts]"
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'giftcards = "app.cli:main"' in pyproject


async def test_keys_create_list_revoke(giftcards, new_tenant, api, anon):
    tenant = await new_tenant("CLI Keys")
    created = giftcards("keys", "create", "--merchant", tenant.merchant_id)
    assert created.returncode == 0, created.stderr[-2000:]
    key_id = re.search(r"key id:\s+([0-9a-f]{24})", created.stdout).group(1)
    api_key = re.search(r"api key:\s+(gk_\S+)", created.stdout).group(1)
    await token_for(api.base_url, api_key)

    listed = giftcards("keys", "list", "--merchant", tenant.merchant_id, module=True)
    assert listed.returncode == 0, listed.stderr[-2000:]
    assert tenant.api_key[:8] in listed.stdout and api_key[:8] in listed.stdout
    assert api_key not in listed.stdout  # the key itself is shown once, at creation
    third = giftcards("keys", "create", "--merchant", tenant.merchant_id)
    assert third.returncode == 1 and "too_many_keys" in third.stderr

    revoked = giftcards("keys", "revoke", key_id, "--merchant", tenant.merchant_id)
    assert revoked.returncode == 0, revoked.stderr[-2000:]
    refused = await anon.post("/v2/token", json={"apiKey": api_key})
    assert refused.status_code == 401
    listed = giftcards("keys", "list", "--merchant", tenant.merchant_id, module="litestar")
    assert listed.returncode == 0, listed.stderr[-2000:]
    assert key_id not in listed.stdout and tenant.api_key[:8] in listed.stdout

    other = await new_tenant("CLI Keys Rival")
    wrong = giftcards("keys", "revoke", key_id, "--merchant", other.merchant_id)
    assert wrong.returncode == 1 and "api_key_not_found" in wrong.stderr
    assert giftcards("keys", "list", "--merchant", "nope").returncode == 2


async def test_issue_follows_the_task_and_downloads_the_csv(giftcards, new_tenant, api, tmp_path):
    tenant = await new_tenant("CLI Issuer")
    program = await tenant.create_program(name="CLI batch", syncThreshold=10)
    out = tmp_path / "cards.csv"
    issued = giftcards(
        "issue",
        "--program", program["id"],
        "--count", "120",
        "--initial-value", "5.00",
        "--api", api.base_url,
        "--api-key", tenant.api_key,
        "--out", str(out),
        "--poll-seconds", "0.2",
    )  # fmt: skip
    assert issued.returncode == 0, issued.stdout + issued.stderr[-2000:]
    task_id = re.search(r"task ([0-9a-f]{24}) queued", issued.stdout).group(1)
    assert issued.stdout.splitlines()[-2].endswith("completed: issued 120/120 (100%)")
    assert "120/120" in issued.stderr and "100%" in issued.stderr  # the rich bar, last state
    assert f"csv: {out} (120 cards)" in issued.stdout
    with out.open(newline="") as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == 120
    numbers = {row[next(iter(rows[0]))] for row in rows}
    assert not any(number in issued.stdout + issued.stderr for number in numbers)

    # the operator sees the same task, without the merchant's token
    shown = giftcards("tasks", "show", task_id)
    assert shown.returncode == 0, shown.stderr[-2000:]
    assert '"status": "completed"' in shown.stdout and '"issuedCount": 120' in shown.stdout
    retried = giftcards("tasks", "retry", task_id, module=True)
    assert retried.returncode == 0 and "completed already" in retried.stdout
    unknown = giftcards("tasks", "show", "0" * 24)
    assert unknown.returncode == 1 and "task_not_found" in unknown.stderr


def test_issue_with_a_wrong_key_says_so(giftcards, api):
    refused = giftcards(
        "issue", "--program", "0" * 24, "--count", "5", "--api", api.base_url,
        "--api-key", "gk_wrong",
    )  # fmt: skip
    assert refused.returncode == 1 and "401 invalid_api_key" in refused.stderr


def test_schema_export(giftcards, tmp_path):
    target = tmp_path / "openapi.json"
    exported = giftcards("schema", "export", "--out", str(target))
    assert exported.returncode == 0, exported.stderr[-2000:]
    text = target.read_text()
    assert '"/v2/api-keys"' in text and '"openapi"' in text
