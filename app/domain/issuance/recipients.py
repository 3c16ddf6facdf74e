"""A batch's recipients as stored: phones in E.164, read in the program's region."""

from typing import Any

from app.domain.issuance.schemas import BulkIssueGiftCardRequest
from app.lib.errors import RequestValidationError, error_item
from app.lib.phones import to_e164
from app.storage.models import Program, Recipient


def recipients_of(program: Program, request: BulkIssueGiftCardRequest) -> list[Recipient] | None:
    """The request's recipients with their phones normalised; every phone that is not a valid
    number is a 422 at its field (all of them in one answer), and nothing is issued."""
    if request.recipients is None:
        return None
    recipients: list[Recipient] = []
    errors: list[dict[str, Any]] = []
    for i, given in enumerate(request.recipients):
        recipient = Recipient.model_validate(given.model_dump())
        raw = recipient.customer_phone
        if raw is not None:
            recipient.customer_phone = to_e164(raw, program.phone_region)
            if recipient.customer_phone is None:
                loc: list[str | int] = ["body", "recipients", i, "customerPhone"]
                msg = f"not a valid phone number (read in region {program.phone_region})"
                errors.append(error_item(loc, msg, input_=raw))
        recipients.append(recipient)
    if errors:
        raise RequestValidationError(errors)
    return recipients
