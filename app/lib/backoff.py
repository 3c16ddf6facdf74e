"""When a failed delivery (a webhook, a notification) is tried again: exponential backoff
with jitter, for a span.

The n-th failed attempt waits BASE·2^(n-1), capped at MAX_DELAY, then scaled by a random
factor in [0.5, 1) ("equal jitter": many deliveries that failed together, an endpoint's
outage, do not all come back at the same instant). Retries go on until the delivery's
deadline (e.g. WEBHOOK_RETRY_SPAN_SECONDS after the event, or after a redelivery); the last one
is at the deadline itself, so an endpoint is tried for at least the whole span. With the
defaults (30 s, 6 h, 3 days): 30 s, 1 min, 2 min, ... about 8.5 h to reach the 6 h cap,
then every 3-6 h, some 25-30 attempts in all.
"""


def backoff_seconds(attempts: int, base: float, max_delay: float, jitter: float) -> float:
    """The wait after `attempts` (≥ 1) failed attempts; `jitter` is uniform in [0, 1)."""
    exponent = min(max(attempts, 1) - 1, 62)  # past the cap long before: no float overflow
    return min(max_delay, base * 2.0**exponent) * (0.5 + 0.5 * jitter)


def next_attempt_ms(
    now_ms: int,
    attempts: int,
    deadline_ms: int,
    base: float,
    max_delay: float,
    jitter: float,
) -> int | None:
    """When to try again after `attempts` failed attempts; None when the deadline is past."""
    if now_ms >= deadline_ms:
        return None
    wait_ms = int(backoff_seconds(attempts, base, max_delay, jitter) * 1000)
    return min(now_ms + max(wait_ms, 1), deadline_ms)
