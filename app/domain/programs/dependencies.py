from app.domain.programs.services import ProgramService
from app.storage.resources import Resources


def provide_program_service(resources: Resources) -> ProgramService:
    return ProgramService(resources)
