from app.domain.cards.schemas import CardOut
from app.domain.programs.services import ProgramService
from app.lib.errors import NotFoundError
from app.lib.pagination import Page
from app.storage.resources import Resources
from app.storage.states import CardFulfillmentStatus


class CardService:
    def __init__(self, resources: Resources) -> None:
        self.res = resources

    async def get(self, merchant_id: str, program_id: str, card_id: str) -> CardOut:
        card = await self.res.db.cards.view(merchant_id, program_id, card_id)
        if card is None:
            raise NotFoundError("Card not found.", code="card_not_found")
        return CardOut.from_view(card)

    async def page(
        self,
        merchant_id: str,
        program_id: str,
        bulk_issuance_id: str | None,
        fulfillment_status: CardFulfillmentStatus | None,
        limit: int,
        cursor: str | None,
    ) -> Page[CardOut]:
        await ProgramService(self.res).get(merchant_id, program_id)
        if bulk_issuance_id:
            bulk_issuance_id = await self._issuance_id(merchant_id, bulk_issuance_id)
        cards, nxt = await self.res.db.cards.page_views(
            merchant_id, program_id, bulk_issuance_id, fulfillment_status, limit, cursor
        )
        return Page[CardOut](data=[CardOut.from_view(c) for c in cards], next_cursor=nxt)

    async def _issuance_id(self, merchant_id: str, reference: str) -> str:
        """The id of the bulk issuance named by its id or its token (none: matches no card)."""
        issuance = await self.res.db.issuances.by_reference(merchant_id, reference)
        return str(issuance.id) if issuance is not None else reference
