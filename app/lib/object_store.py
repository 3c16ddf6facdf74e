"""Private objects in S3 (boto3) and presigned, expiring links to them.

boto3 is synchronous: every call runs in a worker thread so the event loop keeps serving.
"""

import asyncio
import logging
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from app.lib.settings import Settings

EXPORTS_PREFIX = "exports/"  # every CSV key starts so (issuance/csv_export.py)
log = logging.getLogger(__name__)


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
        self._client = self._make_client(settings, settings.s3_endpoint_url, config)
        # SigV4 signs the host: links for clients outside our network need their own signer.
        public = settings.s3_public_endpoint_url
        self._signer = self._make_client(settings, public, config) if public else self._client

    @staticmethod
    def _make_client(settings: Settings, endpoint_url: str, config: Config) -> Any:  # boto3's S3
        return boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=settings.s3_region,
            aws_access_key_id=settings.s3_access_key,
            aws_secret_access_key=settings.s3_secret_key,
            config=config,
        )

    async def keep_exports_for(self, days: int) -> None:
        """A lifecycle rule deletes what is under `exports/` (CSVs of card numbers, a lane's
        spooled rows) `days` after it was written; 0: no rule. Only a note in the log when the
        store refuses (a store without lifecycle rules keeps the exports until deleted)."""
        if days <= 0:
            return
        rule = {
            "ID": "exports-retention",
            "Filter": {"Prefix": EXPORTS_PREFIX},
            "Status": "Enabled",
            "Expiration": {"Days": days},
        }
        try:
            await asyncio.to_thread(
                self._client.put_bucket_lifecycle_configuration,
                Bucket=self.bucket,
                LifecycleConfiguration={"Rules": [rule]},
            )
        except Exception as exc:
            log.warning("exports are kept: no lifecycle rule on the bucket (%s)", exc)

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
        url: str = self._signer.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.bucket, "Key": key},
            ExpiresIn=ttl_seconds or self.link_ttl,
        )
        return url

    async def get_if_exists(self, key: str) -> bytes | None:
        """The object's bytes, or None if there is no such object."""
        found = await self.open_if_exists(key)
        if found is None:
            return None
        try:
            return await found.read()
        finally:
            found.close()

    async def open_if_exists(self, key: str) -> "ObjectReader | None":
        """The object as a stream read piece by piece (memory stays flat for any size), or
        None if there is no such object."""
        try:
            found = await asyncio.to_thread(self._client.get_object, Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        return ObjectReader(found["Body"])

    async def exists(self, key: str) -> bool:
        try:
            await asyncio.to_thread(self._client.head_object, Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    # Multipart uploads: each part may be written by a different job (and again, after a crash:
    # re-uploading a part number replaces it), so memory stays flat for any batch size.

    async def start_multipart(self, key: str, content_type: str) -> str:
        created = await asyncio.to_thread(
            self._client.create_multipart_upload,
            Bucket=self.bucket,
            Key=key,
            ContentType=content_type,
        )
        return str(created["UploadId"])

    async def upload_part(self, key: str, upload_id: str, number: int, body: bytes) -> str:
        sent = await asyncio.to_thread(
            self._client.upload_part,
            Bucket=self.bucket,
            Key=key,
            UploadId=upload_id,
            PartNumber=number,
            Body=body,
        )
        return str(sent["ETag"])

    async def complete_multipart(self, key: str, upload_id: str, etags: dict[int, str]) -> None:
        parts = [{"PartNumber": n, "ETag": etags[n]} for n in sorted(etags)]
        await asyncio.to_thread(
            self._client.complete_multipart_upload,
            Bucket=self.bucket,
            Key=key,
            UploadId=upload_id,
            MultipartUpload={"Parts": parts},
        )

    async def abort_multipart(self, key: str, upload_id: str) -> None:
        await asyncio.to_thread(
            self._client.abort_multipart_upload, Bucket=self.bucket, Key=key, UploadId=upload_id
        )


class ObjectReader:
    """An object's bytes in pieces, each read in a worker thread (boto3's stream blocks)."""

    def __init__(self, body: Any) -> None:  # botocore's StreamingBody
        self._body = body

    async def read(self, size: int | None = None) -> bytes:
        """Up to `size` bytes (None: the rest); b"" at the end."""
        piece: bytes = await asyncio.to_thread(self._body.read, size)
        return piece

    def close(self) -> None:
        self._body.close()
