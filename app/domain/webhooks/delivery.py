"""POSTing signed events to a merchant's callback URL; retries are the caller's (arq's)."""

import json
import uuid
from typing import Any

import httpx

from app.domain.webhooks import signing
from app.storage.resources import Resources


async def merchant_secret(res: Resources, merchant_id: str) -> str:
    merchant = await res.db.merchants.get(merchant_id)
    if merchant is None or merchant.webhook_secret_enc is None:
        raise LookupError(f"merchant {merchant_id} has no webhook secret")
    return res.vault.decrypt(merchant.webhook_secret_enc, merchant_id)


async def post_event(
    url: str, secret: str, event_type: str, data: dict[str, Any], event_id: str | None = None
) -> None:
    """Raises on a network error or a non-2xx answer, so the job retries."""
    payload = {"id": event_id or str(uuid.uuid4()), "type": event_type, "data": data}
    await post_signed(url, secret, payload, {"Giftcards-Event": event_type})


async def post_signed(
    url: str,
    secret: str,
    payload: dict[str, Any],
    headers: dict[str, str] | None = None,
    signature_header: str = signing.HEADER,
) -> httpx.Response:
    """POSTs `payload` as compact JSON, signed with `secret`; raises on a non-2xx answer."""
    body = json.dumps(payload, separators=(",", ":")).encode()
    sent = {"Content-Type": "application/json", signature_header: signing.sign(secret, body)}
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.post(url, content=body, headers={**sent, **(headers or {})})
    response.raise_for_status()
    return response
