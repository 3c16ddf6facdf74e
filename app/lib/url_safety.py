"""Where we may send a request: no SSRF into our own network or the cloud's metadata service.

Merchants give us URLs (callbacks) and we POST to them from inside our network, so a URL
naming `127.0.0.1`, `10.0.0.5` or `169.254.169.254` would turn us into their proxy. A URL is
checked when it is given (`check_url`, a 422 at the field) and again on every connection
(`guarded_client`): a name may resolve elsewhere later (DNS rebinding), so the connection
resolves the name itself, checks every address, and connects to the address it checked.

Loopback and private ranges are allowed only with `allow_private` (development and tests);
link-local and metadata addresses never are.
"""

import ipaddress
import socket
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import anyio
import httpcore
import httpx

from app.lib.errors import validation_error

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# cloud metadata services not inside 169.254.0.0/16 (AWS IPv6, Alibaba) and that range itself
_ALWAYS_REFUSED = (
    ipaddress.ip_network("169.254.0.0/16"),
    ipaddress.ip_network("fe80::/10"),
    ipaddress.ip_network("fd00:ec2::254/128"),
    ipaddress.ip_network("100.100.100.200/32"),
)


class UnsafeUrl(ValueError):
    """The URL is not http(s), or its host is (or resolves to) an address we refuse."""


def refusal(address: IpAddress, allow_private: bool) -> str | None:
    """Why we refuse to connect to `address`, or None when we may."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if any(address in network for network in _ALWAYS_REFUSED):
        return f"{address} is a link-local or cloud-metadata address"
    if address.is_loopback:
        return None if allow_private else f"{address} is a loopback address"
    if address.is_multicast or address.is_unspecified or address.is_reserved:
        return f"{address} is not a unicast address"
    if not address.is_global and not allow_private:
        return f"{address} is a loopback or private address"
    return None


def check_address(address: str, allow_private: bool) -> None:
    reason = refusal(ipaddress.ip_address(address), allow_private)
    if reason is not None:
        raise UnsafeUrl(reason)


def _split(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeUrl("must be an http or https URL with a host")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise UnsafeUrl("has an invalid port") from exc
    return parts.hostname, port


async def resolve(host: str, port: int) -> list[str]:
    """The host's addresses (itself when it is an address); OSError when it resolves to none."""
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        pass
    infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise socket.gaierror(f"{host} has no address")
    return addresses


def _check_all(addresses: Iterable[str], allow_private: bool) -> None:
    for address in addresses:
        check_address(address, allow_private)


async def check_url(url: str, allow_private: bool) -> None:
    """Raises UnsafeUrl unless `url` is http(s) and every address of its host is allowed. A
    name that does not resolve (yet) refers to no address we refuse: it passes here, and its
    deliveries fail (and are retried) until it resolves, to an address checked then."""
    host, port = _split(url)
    try:
        addresses = await resolve(host, port)
    except OSError:
        return
    _check_all(addresses, allow_private)


async def require_safe_url(url: str, allow_private: bool, loc: list[str | int]) -> None:
    """check_url as a 422 at `loc` (the request field that gave the URL)."""
    try:
        await check_url(url, allow_private)
    except UnsafeUrl as exc:
        raise validation_error(loc, f"URL refused: {exc}", type_="url_refused", input_=url) from exc


class _GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolves, checks every address, then connects to a checked one (TLS still verifies
    the certificate against the URL's host name, which httpcore passes separately)."""

    def __init__(self, allow_private: bool) -> None:
        self._inner = httpcore.AnyIOBackend()
        self._allow_private = allow_private

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            addresses = await resolve(host, port)
        except OSError as exc:
            raise httpcore.ConnectError(f"{host} does not resolve: {exc}") from exc
        _check_all(addresses, self._allow_private)
        return await self._inner.connect_tcp(
            addresses[0], port, timeout, local_address, socket_options
        )

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        raise UnsafeUrl("unix sockets are not a destination")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _GuardedTransport(httpx.AsyncHTTPTransport):
    def __init__(self, allow_private: bool) -> None:
        super().__init__()
        # httpx has no public hook for the network backend; its pool is httpcore's
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            network_backend=_GuardedBackend(allow_private),
        )


def guarded_client(allow_private: bool, timeout: float) -> httpx.AsyncClient:
    """An httpx client that connects only to allowed addresses and never follows redirects
    (a redirect could point anywhere)."""
    return httpx.AsyncClient(
        transport=_GuardedTransport(allow_private), timeout=timeout, follow_redirects=False
    )
