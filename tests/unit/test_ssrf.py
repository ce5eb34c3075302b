"""The SSRF guard refuses every non-public spelling of an address."""

import ipaddress

import pytest

from botplot.net.ssrf import BlockedTarget, checked_address, is_public, literal_ip

REFUSED = [
    "127.0.0.1", "127.1", "2130706433", "0177.0.0.1", "0x7f.0.0.1", "0x7f000001", "017700000001",
    "10.0.0.1", "172.16.5.4", "192.168.1.1", "169.254.169.254", "0.0.0.0", "100.64.0.1", "224.0.0.1",
    "255.255.255.255", "192.0.2.10", "198.18.0.1", "240.0.0.1",
    "::1", "[::1]", "::", "fe80::1", "fc00::1", "fd12:3456::1", "ff02::1",
    "::ffff:127.0.0.1", "::ffff:169.254.169.254", "::ffff:7f00:1", "64:ff9b::7f00:1", "2002:7f00:1::1",
    "::127.0.0.1", "0X7F.0.0.1", "0X7F000001",
    # IPv6 forms embedding an IPv4 address lie in reserved ranges: refused whatever they embed
    "::ffff:8.8.8.8", "::8.8.8.8", "64:ff9b::808:808", "2001:0:4136:e378:8000:63bf:3fff:fdd2",
]


@pytest.mark.parametrize("host", REFUSED)
def test_non_public_addresses_are_refused(host, monkeypatch):
    monkeypatch.delenv("BOTPLOT_ALLOW_PRIVATE_TARGETS", raising=False)
    from botplot.config import reload_settings

    reload_settings()
    with pytest.raises(BlockedTarget) as refused:
        checked_address(host, 80)
    assert str(refused.value) == f"'{host}' is not a public address"  # read as an address, never resolved


@pytest.mark.parametrize("host, address", [
    ("93.184.216.34", "93.184.216.34"), ("8.8.8.8", "8.8.8.8"), ("2606:4700:4700::1111", "2606:4700:4700::1111"),
    ("[2606:4700:4700::1111]", "2606:4700:4700::1111"), ("1.1.1.1", "1.1.1.1"), ("0x08080808", "8.8.8.8"),
    ("2002:808:808::1", "2002:808:808::1"),  # 6to4 of a public address
])
def test_public_addresses_pass(host, address, monkeypatch):
    monkeypatch.delenv("BOTPLOT_ALLOW_PRIVATE_TARGETS", raising=False)
    from botplot.config import reload_settings

    reload_settings()
    assert is_public(literal_ip(host))
    assert checked_address(host, 443) == ipaddress.ip_address(address)


def test_numeric_spellings_are_read_like_inet_aton():
    assert literal_ip("2130706433") == ipaddress.IPv4Address("127.0.0.1")
    assert literal_ip("0177.0.0.1") == ipaddress.IPv4Address("127.0.0.1")
    assert literal_ip("0x7f.1") == ipaddress.IPv4Address("127.0.0.1")
    assert literal_ip("example.com") is None
    assert literal_ip("1.2.3.4.5") is None  # four parts at most: a name, not an address
    assert literal_ip("0X7F.0X1") == ipaddress.IPv4Address("127.0.0.1")


def test_every_address_of_a_name_is_checked_and_the_first_is_used(monkeypatch):
    """Without configured nameservers the system resolver answers (getaddrinfo)."""
    import socket

    from botplot.config import reload_settings

    answers = {
        "public.example": ["93.184.216.34", "93.184.216.34", "2606:4700:4700::1111"],
        "mixed.example": ["93.184.216.34", "fe80::1%eth0"],
    }

    def getaddrinfo(host, port, *args, **kwargs):
        return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
                for a in answers[host]]

    monkeypatch.delenv("BOTPLOT_DNS_NAMESERVERS", raising=False)
    monkeypatch.delenv("BOTPLOT_ALLOW_PRIVATE_TARGETS", raising=False)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    reload_settings()
    assert checked_address("public.example", 443) == ipaddress.ip_address("93.184.216.34")
    with pytest.raises(BlockedTarget) as refused:
        checked_address("mixed.example", 443)
    assert str(refused.value) == "'mixed.example' resolves to fe80::1, which is not a public address"


def test_private_targets_are_allowed_only_when_configured(monkeypatch):
    from botplot.config import reload_settings

    monkeypatch.setenv("BOTPLOT_ALLOW_PRIVATE_TARGETS", "1")
    reload_settings()
    try:
        assert str(checked_address("127.0.0.1", 80)) == "127.0.0.1"
    finally:
        monkeypatch.delenv("BOTPLOT_ALLOW_PRIVATE_TARGETS")
        reload_settings()


def test_a_name_without_an_address_reads_as_unresolved_not_refused(monkeypatch):
    import socket

    from botplot.config import reload_settings
    from botplot.net.fetch import Fetcher, FetchError

    def no_such_host(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.delenv("BOTPLOT_DNS_NAMESERVERS", raising=False)
    monkeypatch.setattr(socket, "getaddrinfo", no_such_host)
    reload_settings()
    with pytest.raises(FetchError) as failure:
        Fetcher("test").request("GET", "https://docs.example-typo.com/start")
    assert str(failure.value) == "could not resolve host 'docs.example-typo.com'"


@pytest.fixture
def local_flag(monkeypatch):
    """BOTPLOT_ALLOW_PRIVATE_TARGETS=1 as the local stack sets it."""
    from botplot.config import reload_settings

    monkeypatch.setenv("BOTPLOT_ALLOW_PRIVATE_TARGETS", "1")
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)
    reload_settings()
    yield
    monkeypatch.undo()
    reload_settings()


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.9.10", "::1", "[::1]", "::ffff:127.0.0.1", "2130706433"])
def test_the_local_flag_opens_loopback(local_flag, host):
    assert checked_address(host, 80).is_loopback or checked_address(host, 80).ipv4_mapped.is_loopback


@pytest.mark.parametrize("host", ["169.254.169.254", "10.0.0.1", "172.16.5.4", "192.168.1.1", "100.64.0.1",
                                  "0.0.0.0", "fd00:ec2::254", "fe80::1", "fc00::1", "::ffff:169.254.169.254",
                                  "::ffff:10.0.0.1", "224.0.0.1"])
def test_the_local_flag_opens_nothing_but_loopback(local_flag, host):
    with pytest.raises(BlockedTarget):
        checked_address(host, 80)


@pytest.mark.parametrize("url", ["http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/hook",
                                 "https://10.0.0.1/hook", "http://[fd00:ec2::254]/"])
def test_local_webhooks_reach_loopback_only(local_flag, url):
    from botplot.errors import ApiError
    from botplot.services.webhooks import validate_url

    with pytest.raises(ApiError) as refused:
        validate_url(url)
    assert refused.value.code == "INVALID_WEBHOOK_URL"
    assert validate_url("http://127.0.0.1:8080/hook") == "http://127.0.0.1:8080/hook"


def cold_start(function: str) -> None:
    """Import a function's app.py afresh, as a new Lambda instance does."""
    import importlib.util
    import sys

    from botplot_dev import template as tpl

    name = f"cold_start_{function}"
    spec = importlib.util.spec_from_file_location(name, tpl.code_dir(function) / "app.py")
    sys.modules[name] = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(sys.modules[name])
    finally:
        del sys.modules[name]


def test_the_local_flag_refuses_to_start_in_lambda(monkeypatch):
    from botplot.config import reload_settings

    monkeypatch.setenv("BOTPLOT_ALLOW_PRIVATE_TARGETS", "1")
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "botplot-WebhookWorkerFunction")
    try:
        with pytest.raises(RuntimeError, match="BOTPLOT_ALLOW_PRIVATE_TARGETS is for the local stack only"):
            reload_settings()
        for function in ("ProjectsFunction", "WebhookWorkerFunction", "CrawlWorkerFunction"):
            with pytest.raises(RuntimeError, match="local stack only"):  # the cold start fails, not a request
                cold_start(function)
        monkeypatch.delenv("BOTPLOT_ALLOW_PRIVATE_TARGETS")
        assert not reload_settings().allow_private_targets  # the same function starts without the flag
        cold_start("ProjectsFunction")
    finally:
        monkeypatch.undo()
        reload_settings()
