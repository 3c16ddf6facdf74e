from app.domain.issuance.services import IssuanceService
from app.storage.resources import Resources


def provide_issuance_service(resources: Resources) -> IssuanceService:
    return IssuanceService(resources)
