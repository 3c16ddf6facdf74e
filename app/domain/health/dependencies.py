from app.domain.health.services import HealthService
from app.storage.resources import Resources


def provide_health_service(resources: Resources) -> HealthService:
    return HealthService(resources)
