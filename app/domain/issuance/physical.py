"""The contract's rules for physical cards on a bulk issue request (422 with the field's loc)."""

from app.domain.fulfillment.providers import check_shipping_method
from app.domain.issuance.schemas import BulkIssueGiftCardRequest
from app.lib.errors import validation_error
from app.lib.settings import get_settings
from app.storage.models import Program
from app.storage.repositories import Repositories


def shipping_config_of(program: Program, request: BulkIssueGiftCardRequest) -> str | None:
    """The batch's shipping configuration: its own, else for physical cards the program's
    default (what a client that sends `isPhysical` alone relies on)."""
    if request.shipping_config_id is not None or not request.is_physical:
        return request.shipping_config_id
    return program.default_shipping_config_id


async def check_physical(
    db: Repositories, merchant_id: str, request: BulkIssueGiftCardRequest, config_id: str | None
) -> None:
    """`config_id`: the one the batch will use (see shipping_config_of)."""
    check_recipient_shipping(request)
    if not request.is_physical:
        if config_id is not None:
            raise validation_error(
                ["body", "shippingConfigId"], "only physical cards ship", input_=config_id
            )
        if request.card_personalization is not None:
            raise validation_error(
                ["body", "cardPersonalization"], "only physical cards are personalized"
            )
        return
    if config_id is None:
        raise validation_error(
            ["body", "shippingConfigId"],
            "physical cards need a shipping configuration: give shippingConfigId or set the "
            "program's defaultShippingConfigId",
        )
    if await db.shipping_configs.of_merchant(merchant_id, config_id) is None:
        raise validation_error(
            ["body", "shippingConfigId"], "no such shipping configuration", input_=config_id
        )


def check_recipient_shipping(request: BulkIssueGiftCardRequest) -> None:
    """A recipient's own `shipping` (individual fulfillment): only on physical cards, and by a
    method the configured printer ships by."""
    for i, recipient in enumerate(request.recipients or []):
        shipping = recipient.shipping
        if shipping is None:
            continue
        loc: list[str | int] = ["body", "recipients", i, "shipping"]
        if not request.is_physical:
            raise validation_error(loc, "only physical cards ship (isPhysical is false)")
        check_shipping_method(shipping.method, get_settings(), loc=[*loc, "method"])
