"""The webhook retry schedule (pure): exponential, capped, jittered, for at least the span."""

import random

from app.lib.backoff import backoff_seconds, next_attempt_ms

BASE, CAP = 30.0, 6 * 3600.0
SPAN_MS = 3 * 86_400 * 1000


def test_backoff_doubles_from_base_up_to_the_cap():
    without_jitter = [backoff_seconds(n, BASE, CAP, jitter=0.999999) for n in range(1, 13)]
    assert round(without_jitter[0]) == 30 and round(without_jitter[1]) == 60
    assert round(without_jitter[5]) == 30 * 2**5
    assert max(without_jitter) <= CAP and round(without_jitter[-1]) == CAP
    assert backoff_seconds(10_000, BASE, CAP, jitter=0.5) <= CAP  # no overflow


def test_jitter_spreads_each_wait_over_its_upper_half():
    assert backoff_seconds(3, BASE, CAP, jitter=0.0) == 60.0
    assert backoff_seconds(3, BASE, CAP, jitter=0.5) == 90.0
    assert 119.9 < backoff_seconds(3, BASE, CAP, jitter=0.9999) < 120.0


def test_retries_last_at_least_the_span_then_stop():
    rng = random.Random(7)
    now, attempts, times = 0, 0, []
    while True:
        attempts += 1
        nxt = next_attempt_ms(now, attempts, SPAN_MS, BASE, CAP, rng.random())
        if nxt is None:
            break
        assert now < nxt <= SPAN_MS
        now = nxt
        times.append(now)
    assert times[-1] == SPAN_MS  # the last retry is at the span's end: 3 days of tries
    assert 20 <= attempts <= 40  # far more than arq's 8 tries in ~2 minutes
    assert times[8] > 10 * 60 * 1000  # the 9th retry comes well after today's whole span


def test_past_the_deadline_no_more_attempts():
    assert next_attempt_ms(SPAN_MS, 5, SPAN_MS, BASE, CAP, 0.3) is None
    assert next_attempt_ms(SPAN_MS + 1, 1, SPAN_MS, BASE, CAP, 0.3) is None
