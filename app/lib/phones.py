"""Phone numbers as merchants type them, read in a region and written in E.164."""

import phonenumbers

REGIONS = frozenset(phonenumbers.SUPPORTED_REGIONS)  # ISO 3166 alpha-2 codes it knows


def to_e164(raw: str, region: str) -> str | None:
    """`(415) 555-0100` read in `US` → `+14155550100`; None when it is not a valid number
    (a number with a leading `+` is read in its own country whatever the region)."""
    try:
        parsed = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
