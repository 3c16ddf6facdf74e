"""Shared fixtures: real services on free ports (tests/fixtures).

Services (session): ``mongo``, ``redis_server``, ``s3``, ``smtp``, ``stack_env``.
Processes (session, lazy): ``api``, ``worker``, factories ``start_api``, ``start_worker``.
Polling: ``from tests.fixtures import wait_until``.
"""

from tests.fixtures.processes import (  # noqa: F401 - fixtures
    api,
    app_processes,
    start_api,
    start_worker,
    worker,
)
from tests.fixtures.services import (  # noqa: F401 - fixtures
    mongo,
    redis_server,
    s3,
    smtp,
    stack_env,
)
from tests.fixtures.tenants import (  # noqa: F401, E402 - fixtures
    anon,
    db,
    new_tenant,
    other_tenant,
    tenant,
    vault,
)


def pytest_configure(config):
    config.addinivalue_line("markers", "run_last: run after every other test")


def pytest_collection_modifyitems(items):
    """Tests marked run_last (the log audit) go to the end, whatever their file name."""
    items.sort(key=lambda item: item.get_closest_marker("run_last") is not None)


from tests.fixtures.deployments import deployment  # noqa: F401, E402 - fixtures
from tests.fixtures.private_stores import (  # noqa: F401, E402 - fixtures
    private_mongo,
    private_redis,
    private_s3,
)
from tests.fixtures.webhooks import webhook_receiver  # noqa: F401, E402 - fixtures
