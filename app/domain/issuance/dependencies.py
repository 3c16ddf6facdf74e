from litestar.datastructures import State

from app.domain.issuance.services import IssuanceService


def provide_issuance_service(state: State) -> IssuanceService:
    return IssuanceService(state.resources)
