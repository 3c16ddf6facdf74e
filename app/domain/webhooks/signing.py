"""Signatures on what we POST to merchants: `Giftcards-Signature: t=<unix>,v1=<hex>`.

v1 is HMAC-SHA256 over `"<t>." + body` with the merchant's webhook secret (Stripe's scheme):
the timestamp inside the MAC lets receivers refuse replays of old deliveries.
"""

import hashlib
import hmac
import secrets
import time

HEADER = "Giftcards-Signature"


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    stamp = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={stamp},v1={mac}"


def verify(secret: str, body: bytes, header: str, tolerance_seconds: int = 300) -> bool:
    try:
        fields = dict(item.split("=", 1) for item in header.split(","))
        stamp = int(fields["t"])
    except (ValueError, KeyError):
        return False
    if abs(time.time() - stamp) > tolerance_seconds:
        return False
    return hmac.compare_digest(sign(secret, body, stamp), header)
