"""Private objects in S3 (boto3) and presigned, expiring links to them.

boto3 is synchronous: every call runs in a worker thread so the event loop keeps serving.
"""

import asyncio
from collections.abc import Iterable

import boto3
from botocore.config import Config

from app.lib.settings import Settings

PART_BYTES = 8 * 1024 * 1024  # multipart parts must be >= 5 MiB except the last


class ObjectStore:
    def __init__(self, settings: Settings) -> None:
        self.bucket = settings.s3_bucket
        self.link_ttl = settings.csv_link_ttl_seconds
        config = Config(
            signature_version="s3v4",
            s3={"addressing_style": "path"},
            connect_timeout=3,
            read_timeout=30,
            retries={"max_attempts": 2, "mode": "standard"},
        )
        self._client = boto3.client(
            "s3",
            endpoint_url=settings.s3_endpoint_url,
            region_name=settings.s3_region,
            aws_access_key_id=settings.s3_access_key,
            aws_secret_access_key=settings.s3_secret_key,
            config=config,
        )

    async def ping(self) -> None:
        await asyncio.to_thread(self._client.head_bucket, Bucket=self.bucket)

    async def put(self, key: str, body: bytes, content_type: str) -> None:
        await asyncio.to_thread(
            self._client.put_object,
            Bucket=self.bucket,
            Key=key,
            Body=body,
            ContentType=content_type,
        )

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._client.delete_object, Bucket=self.bucket, Key=key)

    def presigned_get(self, key: str, ttl_seconds: int | None = None) -> str:
        """Signing is local computation: no network call, so no thread needed."""
        return self._client.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.bucket, "Key": key},
            ExpiresIn=ttl_seconds or self.link_ttl,
        )

    def upload(self, key: str, content_type: str) -> "StreamingUpload":
        return StreamingUpload(self, key, content_type)


class StreamingUpload:
    """Writes an object of any size with bounded memory: one put when small, multipart otherwise."""

    def __init__(self, store: ObjectStore, key: str, content_type: str) -> None:
        self._store = store
        self._client = store._client
        self.key = key
        self._content_type = content_type
        self._buffer = bytearray()
        self._upload_id: str | None = None
        self._parts: list[dict] = []

    async def write(self, chunks: Iterable[bytes]) -> None:
        for chunk in chunks:
            self._buffer += chunk
        while len(self._buffer) >= PART_BYTES:
            part = bytes(self._buffer[:PART_BYTES])
            del self._buffer[:PART_BYTES]
            await self._send_part(part)

    async def _send_part(self, part: bytes) -> None:
        bucket = self._store.bucket
        if self._upload_id is None:
            created = await asyncio.to_thread(
                self._client.create_multipart_upload,
                Bucket=bucket,
                Key=self.key,
                ContentType=self._content_type,
            )
            self._upload_id = created["UploadId"]
        number = len(self._parts) + 1
        sent = await asyncio.to_thread(
            self._client.upload_part,
            Bucket=bucket,
            Key=self.key,
            UploadId=self._upload_id,
            PartNumber=number,
            Body=part,
        )
        self._parts.append({"ETag": sent["ETag"], "PartNumber": number})

    async def finish(self) -> None:
        if self._upload_id is None:
            await self._store.put(self.key, bytes(self._buffer), self._content_type)
            return
        if self._buffer:
            await self._send_part(bytes(self._buffer))
            self._buffer.clear()
        await asyncio.to_thread(
            self._client.complete_multipart_upload,
            Bucket=self._store.bucket,
            Key=self.key,
            UploadId=self._upload_id,
            MultipartUpload={"Parts": self._parts},
        )

    async def abort(self) -> None:
        if self._upload_id is not None:
            await asyncio.to_thread(
                self._client.abort_multipart_upload,
                Bucket=self._store.bucket,
                Key=self.key,
                UploadId=self._upload_id,
            )
