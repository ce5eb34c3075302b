"""Which addresses we may connect to on a customer's behalf.

A target is resolved once; every address it resolves to must be public (no loopback, private,
link-local — 169.254.169.254 included —, multicast, reserved, unspecified, shared or
documentation ranges, nor IPv6 forms that embed such an IPv4 address); the connection is then made
to the address that was checked, so a DNS answer that changes between check and connect cannot
redirect it. Numeric host spellings (``2130706433``, ``0177.0.0.1``, ``0x7f.1``) are read the way
``inet_aton`` reads them before the check. ``BOTPLOT_ALLOW_PRIVATE_TARGETS=1`` (local stack only:
the settings refuse it inside Lambda) lets a developer crawl and deliver to this machine: loopback
addresses only (127.0.0.0/8, ::1), never the metadata service or the private networks.
"""

from __future__ import annotations

import ipaddress
import re
import socket

from botplot.config import settings

IP = ipaddress.IPv4Address | ipaddress.IPv6Address

_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NUMERIC_V4 = re.compile(r"^(0x[0-9a-f]+|[0-9]+)(\.(0x[0-9a-f]+|[0-9]+)){0,3}$", re.IGNORECASE)


class BlockedTarget(Exception):
    """The target is not allowed; the message says why, for the customer."""


class UnresolvedHost(BlockedTarget):
    """The host has no address (a typo, or a name that does not exist yet): not a refusal."""


def literal_ip(host: str) -> IP | None:
    """The address a host string spells, including inet_aton's decimal/octal/hex forms."""
    host = host.strip().strip("[]")
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        pass
    if _NUMERIC_V4.match(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            raise BlockedTarget(f"'{host}' is not a valid address") from None
    return None


def _embedded_v4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    found = []
    if ip.ipv4_mapped:
        found.append(ip.ipv4_mapped)
    if ip.sixtofour:
        found.append(ip.sixtofour)
    if ip.teredo:
        found.extend(ip.teredo)
    if ip in _NAT64:
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    # IPv4-compatible (deprecated ::a.b.c.d)
    if int(ip) >> 32 == 0 and int(ip) > 1:
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return found


def is_public(ip: IP) -> bool:
    if isinstance(ip, ipaddress.IPv6Address):
        if any(not is_public(v4) for v4 in _embedded_v4(ip)):
            return False
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_loopback or ip.is_link_local
                                 or ip.is_private or ip.is_unspecified)


def _resolve(host: str, port: int) -> list[IP]:
    servers = settings().dns_nameservers
    if servers:
        return _resolve_with(host, servers)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise UnresolvedHost(f"could not resolve host '{host}'") from None
    return list(dict.fromkeys(ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in infos))


def _resolve_with(host: str, servers: tuple[str, ...]) -> list[IP]:
    """Resolution through configured nameservers (``BOTPLOT_DNS_NAMESERVERS=ip[:port],…``)."""
    import dns.exception
    import dns.resolver

    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers, resolver.nameserver_ports = [], {}
    for server in servers:
        address, _, port = server.strip().rpartition(":") if server.count(":") == 1 else (server.strip(), "", "")
        resolver.nameservers.append(address)
        if port:
            resolver.nameserver_ports[address] = int(port)
    resolver.lifetime = 5
    found: list[IP] = []
    for record_type in ("A", "AAAA"):
        try:
            found += [ipaddress.ip_address(r.address) for r in resolver.resolve(host, record_type)]
        except (dns.resolver.NoAnswer, dns.resolver.NXDOMAIN):
            continue
        except dns.exception.DNSException:
            raise UnresolvedHost(f"could not resolve host '{host}'") from None
    if not found:
        raise UnresolvedHost(f"could not resolve host '{host}'")
    return found


def checked_address(host: str, port: int) -> IP:
    """The address to connect to for ``host``, or ``BlockedTarget`` saying why not."""
    literal = literal_ip(host)
    addresses = [literal] if literal else _resolve(host, port)
    allow_loopback = settings().allow_private_targets
    for address in addresses:
        if not is_public(address) and not (allow_loopback and _is_loopback(address)):
            if literal:
                raise BlockedTarget(f"'{host}' is not a public address")
            raise BlockedTarget(f"'{host}' resolves to {address}, which is not a public address")
    return addresses[0]


def _is_loopback(ip: IP) -> bool:
    """127.0.0.0/8 and ::1, also as an IPv4-mapped IPv6 address; nothing else."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_loopback
