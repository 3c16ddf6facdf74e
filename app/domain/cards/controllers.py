from typing import Annotated

from litestar import Controller, get
from litestar.di import Provide
from litestar.params import Parameter

from app.domain.cards.dependencies import provide_card_service
from app.domain.cards.schemas import CardOut
from app.domain.cards.services import CardService
from app.domain.urls import PROGRAM_CARD, PROGRAM_CARDS
from app.lib.openapi import documented
from app.lib.pagination import Page
from app.lib.types import TOKEN_PATTERN, CursorQuery, LimitQuery, ObjectIdPath
from app.storage.states import CardFulfillmentStatus


class CardController(Controller):
    tags = ["Cards"]
    dependencies = {"cards": Provide(provide_card_service, sync_to_thread=False)}

    @get(
        PROGRAM_CARDS,
        operation_id="listCards",
        summary="List a program's cards",
        **documented(404),
    )
    async def list_all(
        self,
        merchant_id: str,
        programId: ObjectIdPath,
        cards: CardService,
        bulkIssuanceId: Annotated[
            str | None,
            Parameter(pattern=TOKEN_PATTERN, description="a bulk issuance's id or its token"),
        ] = None,
        fulfillmentStatus: CardFulfillmentStatus | None = None,
        limit: LimitQuery = 100,
        cursor: CursorQuery = None,
    ) -> Page[CardOut]:
        return await cards.page(
            merchant_id, programId, bulkIssuanceId, fulfillmentStatus, limit, cursor
        )

    @get(
        PROGRAM_CARD,
        operation_id="getCard",
        summary="Get a card (never its full number)",
        **documented(404),
    )
    async def get_one(
        self, merchant_id: str, programId: ObjectIdPath, cardId: ObjectIdPath, cards: CardService
    ) -> CardOut:
        return await cards.get(merchant_id, programId, cardId)
