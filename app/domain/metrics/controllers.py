from litestar import Response, get
from litestar.plugins.prometheus import PrometheusController
from prometheus_client import CONTENT_TYPE_LATEST

from app.domain.metrics.services import refresh_gauges
from app.domain.urls import METRICS
from app.lib import metrics
from app.lib.openapi import documented
from app.storage.resources import Resources


class MetricsController(PrometheusController):
    """Litestar's controller, with the gauges read from the stores first. No auth: meant for
    the private network, not the internet."""

    path = METRICS
    tags = ["Operations"]

    @get(
        operation_id="metrics",
        summary="Prometheus metrics of this API process",
        exclude_from_auth=True,
        media_type="text/plain",
        **documented(public=True, errors=False),
    )
    async def get(self, resources: Resources) -> Response[bytes]:
        await refresh_gauges(resources)
        return Response(metrics.exposition(), headers={"Content-Type": CONTENT_TYPE_LATEST})
