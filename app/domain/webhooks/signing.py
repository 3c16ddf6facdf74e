"""Signatures on what we POST to merchants, two schemes side by side:

- `Giftcards-Signature: t=<unix>,v1=<hex>` (ours since the start, Stripe's scheme): v1 is
  HMAC-SHA256 over `"<t>." + body` keyed with the secret's text.
- Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64>`),
  made by the `standardwebhooks` package, so any Standard Webhooks library verifies our calls
  with the `whsec_…` secret unchanged.

While a rotated secret is in its grace period both secrets sign: each header carries one
signature per secret, and a receiver accepts the call when any of them verifies.
"""

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Sequence
from datetime import UTC, datetime

from standardwebhooks import Webhook

HEADER = "Giftcards-Signature"


def new_secret() -> str:
    """`whsec_` + standard base64 of 32 random bytes: the Standard Webhooks secret format."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def _mac(secret: str, body: bytes, stamp: int) -> str:
    return hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    stamp = int(time.time()) if timestamp is None else timestamp
    return f"t={stamp},v1={_mac(secret, body, stamp)}"


def signature_headers(
    secrets_: Sequence[str], msg_id: str, body: bytes, timestamp: int | None = None
) -> dict[str, str]:
    """Both schemes' headers for `body`, one signature per secret (newest first)."""
    stamp = int(time.time()) if timestamp is None else timestamp
    at = datetime.fromtimestamp(stamp, UTC)
    text = body.decode()
    ours = ",".join(f"v1={_mac(secret, body, stamp)}" for secret in secrets_)
    standard = " ".join(Webhook(secret).sign(msg_id, at, text) for secret in secrets_)
    return {
        HEADER: f"t={stamp},{ours}",
        "webhook-id": msg_id,
        "webhook-timestamp": str(stamp),
        "webhook-signature": standard,
    }


def verify(secret: str, body: bytes, header: str, tolerance_seconds: int = 300) -> bool:
    """True when one of the header's v1 signatures is `secret`'s, within the tolerance."""
    try:
        fields = [tuple(item.split("=", 1)) for item in header.split(",") if "=" in item]
        stamp = int(next(value for key, value in fields if key == "t"))
    except (ValueError, StopIteration):
        return False
    if abs(time.time() - stamp) > tolerance_seconds:
        return False
    expected = _mac(secret, body, stamp)
    return any(key == "v1" and hmac.compare_digest(expected, value) for key, value in fields)
