"""Runs last (see conftest): every API and worker log of the session, at DEBUG, holds no number."""

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
    assert any(" DEBUG " in text for text in logs.values()), "logs were not captured at DEBUG"
    for name, text in logs.items():
        candidates = set(re.findall(r"\d{13,19}", text))
        leaked = candidates & numbers
        assert not leaked, f"{name} logged {len(leaked)} card number(s)"
