"""`tasks show|retry|cancel TASK_ID`: any merchant's task, for operators."""

import click

from app.cli.common import OBJECT_ID, run
from app.domain.tasks.schemas import TaskOut
from app.domain.tasks.services import RetriedTask, TaskService
from app.storage.resources import Resources


@click.group("tasks")
def tasks() -> None:
    """Queued batches and status changes."""


@tasks.command("show")
@click.argument("task_id", type=OBJECT_ID)
def show(task_id: str) -> None:
    """Print the task as the API shows it to its merchant (JSON)."""

    async def act(res: Resources) -> TaskOut:
        service = TaskService(res)
        return await service.get(await service.owner(task_id), task_id)

    click.echo(run(act).model_dump_json(by_alias=True, indent=2))


@tasks.command("retry")
@click.argument("task_id", type=OBJECT_ID)
def retry(task_id: str) -> None:
    """Resume a failed or stuck queued batch (idempotent)."""

    async def act(res: Resources) -> RetriedTask:
        service = TaskService(res)
        return await service.retry(await service.owner(task_id), task_id)

    retried = run(act)
    outcome = "resumed or under way" if retried.accepted else "completed already"
    click.echo(f"task {task_id}: {retried.task.status} ({outcome})")


@tasks.command("cancel")
@click.argument("task_id", type=OBJECT_ID)
def cancel(task_id: str) -> None:
    """Stop a queued batch: its issued cards stay, with their CSV (idempotent)."""

    async def act(res: Resources) -> TaskOut:
        service = TaskService(res)
        return await service.cancel(await service.owner(task_id), task_id)

    click.echo(f"task {task_id}: {run(act).status}")


COMMANDS = (tasks,)
