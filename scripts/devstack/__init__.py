"""Start, probe and stop the embedded services the gift-card service needs.

Used two ways:

* as a CLI by ``scripts/dev`` / ``scripts/worker`` (from the repo root)::

      python -m scripts.devstack up [--services-only]   # services + seed + API + worker 1
      python -m scripts.devstack worker                 # one more arq worker (foreground)
      python -m scripts.devstack down                   # stop leftovers listed in var/run/*.pid

* as a library by the pytest fixtures (tests/fixtures) and scripts/bench.py
  (``from scripts import devstack``), which start throwaway servers on free ports in a tmp dir.

Services: MongoDB wire protocol (nx-27017), Redis (redis-server), S3 (SeaweedFS ``weed mini``)
and SMTP (aiosmtpd, writing to a Maildir: mails carry card numbers, so never to a log).

Modules: processes (ManagedProcess, pids, ports), probes, one per service (mongo, redis, s3,
smtp), envfile (.env), isolation (an app process's environment), ensure + cli (the commands).
Only the standard library and python-dotenv at import time; pymongo, redis, boto3 (all in the
venv) are imported lazily by the probes, the app's settings by isolated_env.
"""

from .cli import api_argv, main, run_seed, worker_argv
from .envfile import load_config, parse_env_file
from .isolation import app_setting_names, isolated_env
from .mongo import start_mongo
from .probes import (
    ensure_bucket,
    http_get_status,
    mongo_ping,
    redis_ping,
    s3_answers,
    s3_client,
    smtp_ping,
)
from .processes import (
    BIN_DIR,
    ROOT,
    ManagedProcess,
    StackError,
    child_env,
    find_executable,
    free_port,
    pid_alive,
    pid_cmdline,
    port_open,
    read_pid,
    stop_all,
    tail,
)
from .redis import start_redis
from .s3 import GRPC_OFFSET, free_port_pair, port_bindable, start_s3
from .smtp import start_smtp_maildir

__all__ = [
    "BIN_DIR",
    "GRPC_OFFSET",
    "ROOT",
    "ManagedProcess",
    "StackError",
    "api_argv",
    "app_setting_names",
    "child_env",
    "ensure_bucket",
    "find_executable",
    "free_port",
    "free_port_pair",
    "http_get_status",
    "isolated_env",
    "load_config",
    "main",
    "mongo_ping",
    "parse_env_file",
    "pid_alive",
    "pid_cmdline",
    "port_bindable",
    "port_open",
    "read_pid",
    "redis_ping",
    "run_seed",
    "s3_answers",
    "s3_client",
    "smtp_ping",
    "start_mongo",
    "start_redis",
    "start_s3",
    "start_smtp_maildir",
    "stop_all",
    "tail",
    "worker_argv",
]
