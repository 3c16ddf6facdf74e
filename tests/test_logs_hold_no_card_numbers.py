"""Runs last (see conftest): every API and worker log of the session, at DEBUG, holds no number;
every line is a JSON object, the request's with its request and merchant ids, a job's with its
job and task ids."""

import json
import re

import pytest

pytestmark = pytest.mark.run_last


async def test_no_full_card_number_in_any_log(app_processes, db, vault, tenant):
    # make sure every kind of issuance has happened in this session, even when run alone
    program = await tenant.create_program(name="Log check")
    await tenant.bulk(program["id"], {"initialValue": 1, "count": 3})
    queued = await tenant.bulk(
        program["id"],
        {
            "initialValue": 1,
            "recipients": [{"customerEmail": f"log{i}@example.com"} for i in range(60)],
        },
    )
    await tenant.wait_task(queued.json()["taskId"])

    numbers = {
        vault.decrypt(doc["number_enc"], str(doc["_id"]))
        for doc in db.cards.find({}, {"number_enc": 1})
    }
    assert len(numbers) >= 63
    logs = {p.name: p.log_text() for p in app_processes.started}
    assert any(name.startswith("api") for name in logs)
    assert any(name.startswith("worker") for name in logs)
    lines = {name: [json.loads(line) for line in text.splitlines()] for name, text in logs.items()}
    every = [line for found in lines.values() for line in found]
    assert all(isinstance(line, dict) and "message" in line for line in every), "not JSON lines"
    assert any(line["level"] == "debug" for line in every), "logs were not captured at DEBUG"
    api_lines = [line for name, found in lines.items() if name.startswith("api") for line in found]
    assert any(line.get("request_id") and line.get("merchant_id") for line in api_lines)
    worker_lines = [line for n, found in lines.items() if n.startswith("worker") for line in found]
    assert any(line.get("job_id") and line.get("task_id") for line in worker_lines)
    for name, text in logs.items():  # the raw text: a number anywhere in a line, ids included
        candidates = set(re.findall(r"\d{13,19}", text))
        leaked = candidates & numbers
        assert not leaked, f"{name} logged {len(leaked)} card number(s)"
