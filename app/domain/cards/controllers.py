from typing import Annotated

from litestar import Controller, Request, get
from litestar.params import Parameter

from app.domain.cards import services
from app.domain.cards.schemas import CardOut
from app.domain.fulfillment.schemas import CardFulfillmentStatus
from app.lib.pagination import Page
from app.lib.types import CursorQuery, LimitQuery, ObjectIdPath
from app.urls import OBJECT_ID_PATTERN, PROGRAM_CARD, PROGRAM_CARDS


class CardController(Controller):
    tags = ["Cards"]

    @get(PROGRAM_CARDS, operation_id="listCards", summary="List a program's cards")
    async def list_all(
        self,
        request: Request,
        programId: ObjectIdPath,
        bulkIssuanceId: Annotated[str | None, Parameter(pattern=OBJECT_ID_PATTERN)] = None,
        fulfillmentStatus: CardFulfillmentStatus | None = None,
        limit: LimitQuery = 100,
        cursor: CursorQuery = None,
    ) -> Page[CardOut]:
        docs, nxt = await services.list_cards(
            request.user.merchant_id, programId, bulkIssuanceId, limit, cursor, fulfillmentStatus
        )
        return Page[CardOut](data=[CardOut.of(d) for d in docs], nextCursor=nxt)

    @get(PROGRAM_CARD, operation_id="getCard", summary="Get a card (never its full number)")
    async def get_one(
        self, request: Request, programId: ObjectIdPath, cardId: ObjectIdPath
    ) -> CardOut:
        doc = await services.get_card(request.user.merchant_id, programId, cardId)
        return CardOut.of(doc)
