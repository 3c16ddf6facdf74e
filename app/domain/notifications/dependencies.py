from app.domain.notifications.services import NotificationService
from app.storage.resources import Resources


def provide_notification_service(resources: Resources) -> NotificationService:
    return NotificationService(resources)
