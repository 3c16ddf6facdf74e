"""The contract's rules for physical cards on a bulk issue request (422 with the field's loc)."""

from app.domain.issuance.schemas import BulkIssueGiftCardRequest
from app.lib.errors import validation_error
from app.storage.repositories import Repositories


async def check_physical(
    db: Repositories, merchant_id: str, request: BulkIssueGiftCardRequest
) -> None:
    config_id = request.shipping_config_id
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
            ["body", "shippingConfigId"], "physical cards need a shipping configuration"
        )
    if await db.shipping_configs.of_merchant(merchant_id, config_id) is None:
        raise validation_error(
            ["body", "shippingConfigId"], "no such shipping configuration", input_=config_id
        )
