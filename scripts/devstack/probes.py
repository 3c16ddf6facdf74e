"""Readiness probes: does something answer at this address, speaking the right protocol?

pymongo, redis and boto3 (all in the venv) are imported lazily, inside the probes.
"""

from __future__ import annotations

import contextlib
import socket
import urllib.error
import urllib.request


def mongo_ping(url: str, timeout: float = 1.0) -> bool:
    from pymongo import MongoClient

    ms = int(timeout * 1000)
    client: MongoClient = MongoClient(
        url, serverSelectionTimeoutMS=ms, connectTimeoutMS=ms, socketTimeoutMS=ms
    )
    try:
        return client.admin.command("ping").get("ok") == 1
    except Exception:  # noqa: BLE001
        return False
    finally:
        client.close()


def redis_ping(url: str, timeout: float = 1.0) -> bool:
    import redis

    client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
    try:
        return bool(client.ping())
    except Exception:  # noqa: BLE001
        return False
    finally:
        client.close()


def s3_client(endpoint_url: str, access_key: str, secret_key: str, region: str = "us-east-1"):
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=endpoint_url,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        region_name=region,
        config=Config(
            s3={"addressing_style": "path"},
            signature_version="s3v4",
            retries={"max_attempts": 1, "mode": "standard"},
            connect_timeout=2,
            read_timeout=5,
        ),
    )


def s3_answers(endpoint_url: str, timeout: float = 1.0) -> bool:
    """Something speaking HTTP at the endpoint (any status code)."""
    try:
        urllib.request.urlopen(endpoint_url, timeout=timeout).close()
        return True
    except urllib.error.HTTPError:
        return True
    except Exception:  # noqa: BLE001
        return False


def ensure_bucket(client, bucket: str) -> None:
    """Create ``bucket`` unless it exists (idempotent); raises on auth errors."""
    from botocore.exceptions import ClientError

    try:
        client.head_bucket(Bucket=bucket)
        return
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code"))
        if code not in ("404", "NoSuchBucket", "NotFound"):
            raise
    try:
        client.create_bucket(Bucket=bucket)
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code"))
        if code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            raise
    client.head_bucket(Bucket=bucket)


def smtp_ping(host: str, port: int, timeout: float = 1.0) -> bool:
    """Reads the 220 greeting and says QUIT."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            greeting = sock.recv(512)
            with contextlib.suppress(OSError):
                sock.sendall(b"QUIT\r\n")
                sock.recv(512)
            return greeting.startswith(b"220")
    except OSError:
        return False


def http_get_status(url: str, timeout: float = 1.0) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except Exception:  # noqa: BLE001
        return None
