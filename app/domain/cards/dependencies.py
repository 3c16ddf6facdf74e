from app.domain.cards.services import CardService
from app.storage.resources import Resources


def provide_card_service(resources: Resources) -> CardService:
    return CardService(resources)
