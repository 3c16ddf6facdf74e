"""When a failed notification is tried again: the schedule that lives on the card.

Exponential backoff from NOTIFICATION_RETRY_BASE_SECONDS, each wait capped at
NOTIFICATION_RETRY_MAX_DELAY_SECONDS and jittered (a batch that failed together does not
retry together), until NOTIFICATION_RETRY_SPAN_SECONDS after the round began; then `failed`.
"""

import random

from app.lib import backoff
from app.lib.settings import Settings


def next_attempt_ms(
    settings: Settings, attempts: int, round_started_ms: int, now_ms: int
) -> int | None:
    """When to try again after the `attempts`-th failed try; None once the round's span is
    over (the notification has failed)."""
    return backoff.next_attempt_ms(
        now_ms,
        attempts,
        round_started_ms + int(settings.notification_retry_span_seconds * 1000),
        settings.notification_retry_base_seconds,
        settings.notification_retry_max_delay_seconds,
        random.random(),  # spreads retries; not a secret
    )
