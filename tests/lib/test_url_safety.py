"""SSRF: which addresses we refuse, when a URL is given and when we connect."""

import ipaddress

import httpx
import pytest

from app.lib.url_safety import UnsafeUrl, check_url, guarded_client, refusal


@pytest.mark.parametrize(
    "address",
    ["169.254.169.254", "169.254.0.1", "fe80::1", "fd00:ec2::254", "100.100.100.200",
     "::ffff:169.254.169.254"],
)  # fmt: skip
def test_link_local_and_metadata_are_refused_even_where_private_is_allowed(address):
    assert refusal(ipaddress.ip_address(address), allow_private=True) is not None


@pytest.mark.parametrize(
    "address", ["127.0.0.1", "10.1.2.3", "172.16.0.9", "192.168.1.1", "::1", "fc00::5"]
)
def test_loopback_and_private_need_the_setting(address):
    assert refusal(ipaddress.ip_address(address), allow_private=False) is not None
    assert refusal(ipaddress.ip_address(address), allow_private=True) is None


@pytest.mark.parametrize("address", ["0.0.0.0", "224.0.0.1", "255.255.255.255"])
def test_non_unicast_is_refused(address):
    assert refusal(ipaddress.ip_address(address), allow_private=True) is not None


def test_public_addresses_pass():
    for address in ("8.8.8.8", "2606:4700::1111", "93.184.216.34"):
        assert refusal(ipaddress.ip_address(address), allow_private=False) is None


@pytest.mark.parametrize(
    "url",
    ["ftp://example.com/x", "http:///nohost", "http://169.254.169.254/latest/meta-data/",
     "http://[::ffff:a9fe:a9fe]/", "http://localhost:8080/hook"],
)  # fmt: skip
async def test_check_url_refuses(url):
    with pytest.raises(UnsafeUrl):
        await check_url(url, allow_private=False)


async def test_a_name_that_does_not_resolve_yet_passes_the_check():
    await check_url("https://hooks.merchant.invalid/giftcards", allow_private=False)


async def test_the_connection_itself_is_checked(webhook_receiver):
    """A URL that passed once is checked again on connecting: the name may resolve elsewhere."""
    url = webhook_receiver.at("/guarded").replace("127.0.0.1", "localhost")
    async with guarded_client(allow_private=False, timeout=5) as client:
        with pytest.raises(UnsafeUrl, match="loopback"):
            await client.post(url, content=b"{}")
    assert webhook_receiver.received("/guarded") == []
    async with guarded_client(allow_private=True, timeout=5) as client:
        assert (await client.post(url, content=b"{}")).status_code == 200
    assert len(webhook_receiver.received("/guarded")) == 1


async def test_an_unresolvable_name_is_a_connection_error_at_delivery():
    async with guarded_client(allow_private=False, timeout=5) as client:
        with pytest.raises(httpx.ConnectError):
            await client.post("http://hooks.merchant.invalid/x", content=b"{}")
