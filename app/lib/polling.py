"""`Retry-After` on a 202 and on the poll of a task under way: when polling is worth it again.

The workers write roughly 10,000 cards a second; a client polling a large batch every few
seconds sees progress at each poll, a small one is done within a second or two.
"""

import math

MIN_SECONDS = 1
MAX_SECONDS = 5
CARDS_PER_SECOND_OF_WAIT = 20_000


def retry_after(remaining_cards: int) -> dict[str, str]:
    """The header for a task with `remaining_cards` still to go."""
    seconds = math.ceil(max(remaining_cards, 0) / CARDS_PER_SECOND_OF_WAIT)
    return {"Retry-After": str(min(max(seconds, MIN_SECONDS), MAX_SECONDS))}
