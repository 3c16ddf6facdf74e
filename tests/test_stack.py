"""The embedded services answer over their real protocols (no app code involved)."""

import asyncio
import secrets
import urllib.error
import urllib.request
from email.message import EmailMessage

import aiosmtplib
import pytest

from tests.fixtures import wait_until


def test_mongo_answers_ping_and_keeps_data(mongo, stack_env):
    client = mongo.client()
    try:
        assert client.admin.command("ping")["ok"] == 1
        coll = client[stack_env["MONGODB_DB"]]["stack_check"]
        coll.insert_one({"_id": "probe", "n": 1})
        assert coll.find_one({"_id": "probe"})["n"] == 1
    finally:
        client.close()


def test_redis_answers_ping(redis_server):
    client = redis_server.client()
    try:
        assert client.ping() is True
        key = "stack-check:" + secrets.token_hex(4)
        client.set(key, "v", ex=30)
        assert client.get(key) == b"v"
    finally:
        client.close()


def _fetch(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_s3_presigned_get_and_tampered_signature(s3):
    client = s3.client()
    key = f"stack-check/{secrets.token_hex(4)}.csv"
    body = b"code,amount\nABC,100\n"
    client.put_object(Bucket=s3.bucket, Key=key, Body=body, ContentType="text/csv")

    url = client.generate_presigned_url(
        "get_object", Params={"Bucket": s3.bucket, "Key": key}, ExpiresIn=300
    )
    assert url.startswith(f"{s3.endpoint_url}/{s3.bucket}/")  # path-style
    assert "X-Amz-Signature=" in url  # signature v4
    assert _fetch(url) == (200, body)

    sig = url.rsplit("X-Amz-Signature=", 1)[1]
    flipped = ("0" if sig[0] != "0" else "1") + sig[1:]
    assert _fetch(url.replace(sig, flipped))[0] == 403
    assert _fetch(f"{s3.endpoint_url}/{s3.bucket}/{key}")[0] == 403  # no anonymous reads


def test_s3_rejects_wrong_secret(s3):
    from botocore.exceptions import ClientError

    from scripts import devstack

    bad = devstack.s3_client(s3.endpoint_url, s3.access_key, "wrong-secret", s3.region)
    with pytest.raises(ClientError):
        bad.head_bucket(Bucket=s3.bucket)


async def test_smtp_receives_mail(smtp):
    rcpt = f"holder-{secrets.token_hex(4)}@example.com"
    msg = EmailMessage()
    msg["From"] = "giftcards@test.example"
    msg["To"] = rcpt
    msg["Subject"] = "Your gift card"
    msg.set_content("Card 6271 0000 0000 0000 001")
    await aiosmtplib.send(msg, hostname=smtp.host, port=smtp.port, timeout=10)

    [received] = await smtp.wait_for(lambda m: rcpt in m.rcpt_tos, timeout=10)
    assert received.subject == "Your gift card"
    assert received.mail_from == "giftcards@test.example"
    assert "6271" in received.text()
    assert smtp.to(rcpt) == [received]


async def test_wait_until_polls_sync_and_async_predicates():
    box: list[int] = []
    loop = asyncio.get_running_loop()
    loop.call_later(0.1, box.append, 1)
    assert await wait_until(lambda: box, timeout=5) == [1]

    async def async_predicate():
        return len(box) == 1

    assert await wait_until(async_predicate, timeout=1) is True
    with pytest.raises(TimeoutError):
        await wait_until(lambda: False, timeout=0.2, message="never")


def test_stack_env_points_at_the_services(stack_env, mongo, redis_server, s3, smtp):
    assert stack_env["MONGODB_URL"] == mongo.url
    assert stack_env["MONGODB_DB"].startswith("test_")
    assert stack_env["REDIS_URL"] == redis_server.url
    assert stack_env["S3_ENDPOINT_URL"] == s3.endpoint_url
    assert stack_env["SMTP_PORT"] == str(smtp.port)
    # every port weed opens is explicit and loopback-only
    assert s3.ports["s3.port"] == int(s3.endpoint_url.rsplit(":", 1)[1])
    assert len(set(s3.ports.values())) == len(s3.ports)
