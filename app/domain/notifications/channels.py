"""Where notifications go: email over SMTP, SMS through a provider (HTTP webhook or log)."""

import logging
from email.message import EmailMessage
from typing import Protocol

import aiosmtplib
import httpx

from app.lib.settings import Settings

log = logging.getLogger(__name__)


class SmsProvider(Protocol):
    async def send(self, phone: str, text: str, idempotency_key: str) -> None: ...


class LogSmsProvider:
    """The default run's SMS provider: records that an SMS went out, never its text."""

    async def send(self, phone: str, text: str, idempotency_key: str) -> None:
        log.info("sms to %s***%s sent (%s)", phone[:3], phone[-2:], idempotency_key)


class WebhookSmsProvider:
    """POSTs the SMS to an HTTP gateway; the Idempotency-Key lets the gateway drop a resend."""

    def __init__(self, url: str) -> None:
        self.url = url

    async def send(self, phone: str, text: str, idempotency_key: str) -> None:
        async with httpx.AsyncClient(timeout=10) as client:
            response = await client.post(
                self.url,
                json={"to": phone, "text": text},
                headers={"Idempotency-Key": idempotency_key},
            )
            response.raise_for_status()


def sms_provider(settings: Settings) -> SmsProvider:
    if settings.sms_provider == "webhook":
        return WebhookSmsProvider(settings.sms_webhook_url)
    return LogSmsProvider()


async def send_email(settings: Settings, message: EmailMessage) -> None:
    await aiosmtplib.send(
        message,
        hostname=settings.smtp_host,
        port=settings.smtp_port,
        timeout=settings.smtp_timeout_seconds,
        start_tls=False,
    )
