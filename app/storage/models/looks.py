"""The printed fields of each card of a physical issuance, as its card document stores them.

Computed from the issuance alone, so the card generator (issuance/generation.py) and the
manifest's rows built from a batch's CSV (fulfillment/manifest_csv.py) print the same lines.
"""

from typing import Any

from app.storage.models.parts import Personalization

LINE1 = Personalization.model_fields["name_line1"].alias or "name_line1"  # its key as stored


def _set_only(fields: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in fields.items() if value is not None}


class CardLooks:
    """`of(seq)`: card `seq`'s printed fields, only those set (no key for a field nobody asked
    for); with a numeric postfix, line 1 gets start + seq (the same on a re-run of its range)."""

    def __init__(self, looks: Personalization | None, postfix_start: int | None) -> None:
        self.postfix_start = postfix_start
        # in the model's order, None values included (dropped per card, after line 1 is set:
        # the order of keys stays the same)
        self.fields = None if looks is None else looks.model_dump(exclude={"numeric_postfix"})
        self.set_fields = None if self.fields is None else _set_only(self.fields)

    def of(self, seq: int) -> dict[str, Any] | None:
        if self.fields is None:
            return None
        if self.postfix_start is None:
            return dict(self.set_fields or {})
        line1 = self.fields[LINE1]
        postfix = str(self.postfix_start + seq)
        return _set_only({**self.fields, LINE1: f"{line1} {postfix}" if line1 else postfix})
