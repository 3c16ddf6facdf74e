"""`issue --program ID --count N`: a bulk issuance from the operator's terminal, over HTTP like
any client: a token from the API key, the bulk request, the task polled into a progress bar,
and the CSV downloaded at the end. Card numbers go to the file only, never to the terminal."""

import time
import uuid
from pathlib import Path
from typing import Any

import click
import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskProgressColumn, TextColumn

from app.cli.common import OBJECT_ID
from app.lib.settings import get_settings

FINISHED = ("completed", "failed")


@click.command("issue")
@click.option("--program", "program_id", required=True, type=OBJECT_ID, help="the program id")
@click.option("--count", required=True, type=click.IntRange(min=1), help="cards to issue")
@click.option("--initial-value", default="10.00", show_default=True, help="each card's value")
@click.option("--api", "api_url", help="the API's base URL (default http://API_HOST:API_PORT)")
@click.option(
    "--api-key", envvar="GIFTCARDS_API_KEY", help="default $GIFTCARDS_API_KEY, else DEMO_API_KEY"
)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="the CSV's path")
@click.option("--poll-seconds", type=float, default=0.5, show_default=True)
@click.option("--timeout", "timeout_seconds", type=float, default=3600, show_default=True)
def issue(
    program_id: str,
    count: int,
    initial_value: str,
    api_url: str | None,
    api_key: str | None,
    out: Path | None,
    poll_seconds: float,
    timeout_seconds: float,
) -> None:
    """Issue COUNT cards in a program, follow the batch, download its CSV."""
    settings = get_settings()
    with httpx.Client(base_url=api_url or settings.base_url, timeout=60) as api:
        token = _json(api.post("/v2/token", json={"apiKey": api_key or settings.demo_api_key}))
        api.headers["Authorization"] = f"Bearer {token['accessToken']}"
        response = api.post(
            f"/v2/giftcards/programs/{program_id}/cards/bulk",
            json={"initialValue": initial_value, "count": count},
            headers={"Idempotency-Key": str(uuid.uuid4())},
        )
        batch = _json(response)
        if response.status_code == 202:
            batch = _follow(api, batch["taskId"], count, poll_seconds, timeout_seconds)
        else:
            click.echo(f"issued {batch['issuedCount']}/{count} (100%) inline")
    target = out or Path(f"cards-{batch['bulkIssuanceId']}.csv")
    if batch.get("csvDownloadUrl"):
        rows = _download(batch["csvDownloadUrl"], target)
        click.echo(f"csv: {target} ({rows} cards)")
    if batch.get("status") == "failed":
        raise click.ClickException(
            f"the batch failed after {batch['issuedCount']} cards: {batch.get('error')} "
            f"(resume it with `tasks retry {batch['taskId']}`)"
        )
    if not batch.get("csvDownloadUrl"):
        raise click.ClickException("the batch has no CSV link yet")


def _follow(
    api: httpx.Client, task_id: str, count: int, poll_seconds: float, timeout_seconds: float
) -> dict[str, Any]:
    """Polls the task until it finishes, feeding its `progress` to a bar on stderr."""
    click.echo(f"task {task_id} queued")
    deadline = time.monotonic() + timeout_seconds
    columns = (TextColumn("issuing"), BarColumn(), MofNCompleteColumn(), TaskProgressColumn())
    with Progress(*columns, console=Console(stderr=True)) as progress:
        bar = progress.add_task("issuing", total=count)
        while True:
            task = _json(api.get(f"/v2/giftcards/tasks/{task_id}"))
            progress.update(bar, completed=round(task["progress"] * count))
            if task["status"] in FINISHED:
                break
            if time.monotonic() > deadline:
                raise click.ClickException(
                    f"task {task_id} still {task['status']}: stopped waiting"
                )
            time.sleep(poll_seconds)
    done = round(task["progress"] * 100)
    click.echo(f"task {task_id} {task['status']}: issued {task['issuedCount']}/{count} ({done}%)")
    return task


def _download(url: str, target: Path) -> int:
    """Streams the CSV (a presigned link: no Authorization header) to `target`; its row count."""
    lines = 0
    with httpx.stream("GET", url, timeout=300) as response, target.open("wb") as file:
        if response.status_code != 200:
            raise click.ClickException(f"CSV download: HTTP {response.status_code}")
        for chunk in response.iter_bytes():
            file.write(chunk)
            lines += chunk.count(b"\n")
    return max(lines - 1, 0)  # the header


def _json(response: httpx.Response) -> dict[str, Any]:
    """The body of a 2xx answer; otherwise the contract's error as a ClickException."""
    try:
        body: dict[str, Any] = response.json()
    except ValueError:
        body = {"detail": response.text[:500]}
    if response.status_code >= 400:
        code = body.get("code", "error")
        raise click.ClickException(f"{response.status_code} {code}: {body.get('detail')}")
    return body


COMMANDS = (issue,)
