"""Schemathesis over every operation of /schema/openapi.json against the running API: no 5xx,
no status the document does not declare, no body that does not match its schema."""

import subprocess
import sys

CHECKS = "not_a_server_error,status_code_conformance,response_schema_conformance"


async def test_every_answer_is_declared_and_matches_its_schema(deployment, new_tenant, tmp_path):
    # An API of its own, with no worker on its queue and small batch caps: the fuzzer picks
    # valid counts up to MAX_CARDS_PER_REQUEST, and batches of 762,066 cards queued for the
    # session's worker made every later test share the database with millions of card writes.
    api = deployment(MAX_CARDS_PER_REQUEST="100", MAX_RECIPIENTS="20").api()
    # its own merchant: what it creates stays out of others'
    fuzzer = await new_tenant("Fuzzer", base_url=api.base_url)
    token = fuzzer.http.headers["Authorization"]
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "schemathesis.cli",
            "run",
            f"{api.base_url}/schema/openapi.json",
            "--checks",
            CHECKS,
            "--phases",
            "examples,coverage,fuzzing,stateful",
            "--max-examples",
            "15",
            "--seed",
            "1",
            "--workers",
            "1",
            "--header",
            f"Authorization: {token}",
            "--request-timeout",
            "30",
            "--report-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout[-12000:] + done.stderr[-3000:]
