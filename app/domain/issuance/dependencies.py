from app.domain.issuance.services import IssuanceService
from app.domain.issuance.status_changes import StatusChangeService
from app.storage.resources import Resources


def provide_issuance_service(resources: Resources) -> IssuanceService:
    return IssuanceService(resources)


def provide_status_change_service(resources: Resources) -> StatusChangeService:
    return StatusChangeService(resources)
