"""What every route may ask for by name: `resources` (the process's connections and
repositories) and `merchant_id` (the authenticated merchant). Registered on the app."""

from typing import Any

from litestar import Request
from litestar.datastructures import State
from litestar.di import Provide

from app.storage.resources import Resources


def provide_resources(state: State) -> Resources:
    resources: Resources = state.resources
    return resources


def provide_merchant_id(request: Request[Any, Any, Any]) -> str:
    merchant_id: str = request.user.merchant_id
    return merchant_id


APP_DEPENDENCIES = {
    "resources": Provide(provide_resources, sync_to_thread=False),
    "merchant_id": Provide(provide_merchant_id, sync_to_thread=False),
}
