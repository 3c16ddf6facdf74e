"""POSTing signed events to a merchant's URL; retries are the caller's (the outbox's).

Every request goes through `url_safety.guarded_client`: the URL's host is resolved and
checked on each connection, so a callback URL that later resolves to a private or metadata
address is refused at delivery too.
"""

import json
from typing import Any

import httpx

from app.domain.webhooks import signing
from app.lib.settings import Settings
from app.lib.types import as_utc, utcnow
from app.lib.url_safety import guarded_client
from app.storage.models import Merchant
from app.storage.resources import Resources


async def merchant_secrets(res: Resources, merchant_id: str) -> list[str]:
    """The secrets that sign the merchant's events: the current one, then the previous one
    while its grace period lasts."""
    merchant = await res.db.merchants.get(merchant_id)
    if merchant is None or merchant.webhook_secret_enc is None:
        raise LookupError(f"merchant {merchant_id} has no webhook secret")
    found = [res.vault.decrypt(merchant.webhook_secret_enc, merchant_id)]
    if _in_grace(merchant):
        assert merchant.previous_webhook_secret_enc is not None
        found.append(res.vault.decrypt(merchant.previous_webhook_secret_enc, merchant_id))
    return found


def _in_grace(merchant: Merchant) -> bool:
    expires = merchant.previous_secret_expires_at
    if merchant.previous_webhook_secret_enc is None or expires is None:
        return False
    return as_utc(expires) > utcnow()


def _body(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


async def send_event(
    res: Resources,
    merchant_id: str,
    url: str,
    event_id: str,
    event_type: str,
    data: dict[str, Any],
) -> httpx.Response:
    """POSTs `{"id", "type", "data"}` signed with the merchant's secrets (both schemes).

    Raises httpx.HTTPStatusError on a non-2xx answer, httpx.HTTPError when the endpoint is
    unreachable, url_safety.UnsafeUrl when its host resolves to a refused address, and
    LookupError when the merchant has no secret."""
    body = _body({"id": event_id, "type": event_type, "data": data})
    headers = signing.signature_headers(await merchant_secrets(res, merchant_id), event_id, body)
    headers |= {"Content-Type": "application/json", "Giftcards-Event": event_type}
    return await _post(res.settings, url, body, headers)


async def post_signed(
    settings: Settings,
    url: str,
    secret: str,
    payload: dict[str, Any],
    headers: dict[str, str] | None = None,
    signature_header: str = signing.HEADER,
) -> httpx.Response:
    """POSTs `payload` as compact JSON signed with one secret (`Giftcards-Signature` scheme),
    e.g. the printer's notice; raises as `send_event` does."""
    body = _body(payload)
    sent = {"Content-Type": "application/json", signature_header: signing.sign(secret, body)}
    return await _post(settings, url, body, {**sent, **(headers or {})})


async def _post(
    settings: Settings, url: str, body: bytes, headers: dict[str, str]
) -> httpx.Response:
    async with guarded_client(settings.allow_private_urls, settings.webhook_timeout_seconds) as c:
        response = await c.post(url, content=body, headers=headers)
    response.raise_for_status()
    return response
