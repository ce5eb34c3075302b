"""A DNS server on 127.0.0.1 (dnslib) whose records the tests set: A, AAAA and CNAME answers, and
answers that change from one query to the next (for DNS-rebinding tests)."""

from __future__ import annotations

from dnslib import AAAA, CNAME, QTYPE, RCODE, RR, A
from dnslib.server import BaseResolver, DNSLogger, DNSServer

from tests.support.ports import free_port


class TestDNS(BaseResolver):
    def __init__(self):
        self.records: dict[tuple[str, str], list[str]] = {}  # (name, type) → values; cycled per query
        self.queries: list[tuple[str, str]] = []
        self.failing: set[str] = set()  # names answered SERVFAIL (a broken zone)
        self.port = free_port()
        self.server = DNSServer(self, address="127.0.0.1", port=self.port, logger=DNSLogger("-request,-reply,"
                                                                                           "-truncated,-error,-recv,"
                                                                                           "-send,-data"))

    def set(self, name: str, kind: str, *values: str) -> None:
        self.records[(name.rstrip(".").lower(), kind)] = list(values)

    def resolve(self, request, handler):
        reply = request.reply()
        name = str(request.q.qname).rstrip(".").lower()
        kind = QTYPE[request.q.qtype]
        self.queries.append((name, kind))
        if name in self.failing:
            reply.header.rcode = RCODE.SERVFAIL
            return reply
        values = self.records.get((name, kind))
        if values:
            value = values[0]
            if len(values) > 1:  # rotate: the next query gets the next answer
                values.append(values.pop(0))
            data = {"A": A, "AAAA": AAAA, "CNAME": lambda v: CNAME(v.rstrip(".") + ".")}[kind](value)
            reply.add_answer(RR(request.q.qname, getattr(QTYPE, kind), rdata=data, ttl=0))
        return reply

    def start(self) -> "TestDNS":
        self.server.start_thread()
        return self

    def stop(self) -> None:
        self.server.stop()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"
