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

_NUMERIC_V4 = re.compile(r"^(0x[0-9a-f]+|[0-9]+)(\.(0x[0-9a-f]+|[0-9]+)){0,3}$", re.IGNORECASE)


class BlockedTarget(Exception):
    """The target is not allowed; the message says why, for the customer."""


class UnresolvedHost(BlockedTarget):
    """The host has no address (a typo, or a name that does not exist yet): not a refusal."""


def literal_ip(host: str) -> IP | None:
    """The address a host string spells, including inet_aton's decimal/octal/hex forms."""
    # equivalent mutants: strip("[]") given more characters ('X') that no address literal begins or ends
    # with; the zone id cut at the first "%" with any maxsplit
    host = host.strip().strip("[]")  # pragma: no mutate (see above)
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])  # pragma: no mutate (see above)
    except ValueError:
        pass
    if _NUMERIC_V4.match(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            raise BlockedTarget(f"'{host}' is not a valid address") from None
    return None


def is_public(ip: IP) -> bool:
    """Whether ``ip`` may be connected to. ``is_global`` is already false for the private, loopback,
    link-local, unspecified, shared (100.64/10) and documentation ranges, and for Teredo (2001::/32);
    multicast and IPv6's reserved ::/8 are global to ``ipaddress``, so they are refused by name. The
    IPv6 forms that embed an IPv4 address — mapped (::ffff:a.b.c.d), compatible (::a.b.c.d), NAT64
    (64:ff9b::/96) — all lie in ::/8 and are refused whole; 6to4 (2002::/16) is global, so the
    address it embeds is checked."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.sixtofour and not is_public(ip.sixtofour):
        return False
    return ip.is_global and not (ip.is_multicast or ip.is_reserved)


def _resolve(host: str, port: int) -> list[IP]:
    servers = settings().dns_nameservers
    if servers:
        return _resolve_with(host, servers)
    try:
        # pragma: no mutate start (the port and socket type shape the entries, never their addresses)
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        # pragma: no mutate end
    except socket.gaierror:
        raise UnresolvedHost(f"could not resolve host '{host}'") from None
    # a zone id ("%eth0") holds no "%": splitting at the first or the last one, once or more, is the same
    return list(dict.fromkeys(ipaddress.ip_address(info[4][0].split("%", 1)[0])  # pragma: no mutate (see above)
                              for info in infos))


def _resolve_with(host: str, servers: tuple[str, ...]) -> list[IP]:
    """Resolution through configured nameservers (``BOTPLOT_DNS_NAMESERVERS=ip[:port],…``)."""
    import dns.exception
    import dns.resolver

    # configure=True would read /etc/resolv.conf: its nameservers are replaced below and resolve() does
    # not use its search list, so True, False and None behave alike here
    resolver = dns.resolver.Resolver(configure=False)  # pragma: no mutate (see above)
    resolver.nameservers, resolver.nameserver_ports = [], {}
    for server in servers:
        # "ip:port" (one colon: partition and rpartition agree) or an IPv6 address taken whole, on port
        # 53, which no test can bind, so this line is not mutation-tested
        # pragma: no mutate start (see above)
        address, _, port = server.strip().rpartition(":") if server.count(":") == 1 else (server.strip(), "", "")
        # pragma: no mutate end
        resolver.nameservers.append(address)
        if port:
            resolver.nameserver_ports[address] = int(port)
    resolver.lifetime = 5  # pragma: no mutate (a timeout for a silent nameserver; no test waits 5 s for one)
    found: list[IP] = []
    for record_type in ("A", "AAAA"):  # pragma: no mutate (dnspython reads a record type in any case)
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
    addresses = [literal] if literal else _resolve(host, port)  # pragma: no mutate (the port: see _resolve)
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
