"""An order as the API shows it (and as the `fulfillment_order.updated` webhook carries it)."""

from app.domain.fulfillment.schemas import FulfillmentOrderOut
from app.storage.models import FulfillmentOrder
from app.storage.resources import Resources
from app.storage.states import CardFulfillmentStatus


async def cards_by_status(res: Resources, order: FulfillmentOrder) -> dict[str, int]:
    """Until a printer event first moves cards (`cards_moved`), every card is ORDERED: no scan
    of the order's cards, so polling a big order stays cheap."""
    if not order.cards_moved:
        return {CardFulfillmentStatus.ORDERED: order.card_count} if order.card_count else {}
    return await res.db.cards.count_by_status(order.shipping_config_id, str(order.id))


async def describe(
    res: Resources, order: FulfillmentOrder, with_link: bool = True
) -> FulfillmentOrderOut:
    """With a presigned manifest link once the manifest is whole (`with_link`)."""
    link = None
    if with_link and order.manifest_key:
        link = res.store.presigned_get(order.manifest_key, res.settings.manifest_link_ttl_seconds)
    return FulfillmentOrderOut.from_order(order, await cards_by_status(res, order), link)
