from app.domain.tasks.services import TaskService
from app.storage.resources import Resources


def provide_task_service(resources: Resources) -> TaskService:
    return TaskService(resources)
