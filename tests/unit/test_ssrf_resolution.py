"""The SSRF guard on names: every address a name resolves to (A and AAAA) must be public, the
address returned is the one checked, and the refusal says why (through a DNS server on 127.0.0.1)."""

from __future__ import annotations

import ipaddress

import pytest

from botplot.net.ssrf import BlockedTarget, checked_address, literal_ip


@pytest.fixture(scope="module")
def names():
    from tests.support.dns_server import TestDNS

    server = TestDNS().start()
    server.set("public.test", "A", "93.184.216.34")
    server.set("v6public.test", "AAAA", "2606:4700:4700::1111")
    server.set("loopback.test", "A", "127.0.0.1")
    server.set("v6local.test", "AAAA", "::1")
    server.set("mixed.test", "A", "93.184.216.34")
    server.set("mixed.test", "AAAA", "fd00::1")
    server.set("mixed4.test", "A", "10.0.0.1")
    server.set("mixed4.test", "AAAA", "2606:4700:4700::1111")
    server.failing.add("broken.test")
    yield server
    server.stop()


@pytest.fixture
def guard(names, monkeypatch):
    monkeypatch.setenv("BOTPLOT_DNS_NAMESERVERS", names.address)
    monkeypatch.delenv("BOTPLOT_ALLOW_PRIVATE_TARGETS", raising=False)
    from botplot.config import reload_settings

    reload_settings()
    yield
    monkeypatch.undo()
    reload_settings()


def test_a_public_name_gives_the_address_that_was_checked(guard):
    assert checked_address("public.test", 443) == ipaddress.ip_address("93.184.216.34")
    assert checked_address("v6public.test", 443) == ipaddress.ip_address("2606:4700:4700::1111")


@pytest.mark.parametrize("name, address", [("loopback.test", "127.0.0.1"), ("v6local.test", "::1"),
                                           ("mixed.test", "fd00::1"), ("mixed4.test", "10.0.0.1")])
def test_a_name_with_any_private_address_is_refused_saying_which(guard, name, address):
    with pytest.raises(BlockedTarget) as refused:
        checked_address(name, 443)
    assert str(refused.value) == f"'{name}' resolves to {address}, which is not a public address"


def test_an_unknown_name_is_refused_as_unresolvable(guard):
    with pytest.raises(BlockedTarget) as refused:
        checked_address("nowhere.test", 443)
    assert str(refused.value) == "could not resolve host 'nowhere.test'"


def test_a_failing_nameserver_reads_as_unresolved(guard):
    with pytest.raises(BlockedTarget) as refused:
        checked_address("broken.test", 443)
    assert str(refused.value) == "could not resolve host 'broken.test'"


def test_literals_are_refused_saying_so_and_never_resolved(guard, names):
    before = len(names.queries)
    for host in ("127.0.0.1", "[::1]", "fe80::1%eth0", "0177.0.0.1"):
        with pytest.raises(BlockedTarget) as refused:
            checked_address(host, 80)
        assert str(refused.value) == f"'{host}' is not a public address"
    assert checked_address("[2606:4700:4700::1111]", 443) == ipaddress.ip_address("2606:4700:4700::1111")
    assert len(names.queries) == before


def test_zone_ids_and_brackets_are_read_off_literals():
    assert literal_ip("[fe80::1%eth0%x]") == ipaddress.ip_address("fe80::1")
    with pytest.raises(BlockedTarget, match="'999.1.1.1' is not a valid address"):
        literal_ip("999.1.1.1")
