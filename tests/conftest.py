"""Shared fixtures: a moto server for integration tests and local stacks for end-to-end tests.

Every server listens on 127.0.0.1 and is stopped by its fixture; nothing leaves the machine.
"""

from __future__ import annotations

import collections
import os
import warnings
from dataclasses import dataclass

import pytest

# In-process code under test talks to the moto server these fixtures start; never to AWS.
os.environ.update({
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_DISABLED": "true",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
    # moto on a loaded 2-core machine can take seconds to answer: a 5 s read timeout would make
    # botocore retry writes that landed (a retried conditional put then fails), as the stack avoids
    "BOTPLOT_AWS_READ_TIMEOUT": "60",
})
for name in ("AWS_PROFILE", "OPENAI_API_KEY", "OPENAI_BASE_URL", "AWS_ENDPOINT_URL"):
    os.environ.pop(name, None)

from tests.support.stack import LocalStack  # noqa: E402

IN_CI = os.environ.get("CI", "").lower() in ("true", "1", "yes")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """In CI (``CI=true``) a skipped test is a failed one: the network-namespace SSRF tests, `sam build`
    and its size budgets, the Node verifier must run there (.ci/run installs what they need). Only
    tests marked ``optional_in_ci`` (they need something no clean clone can have) may skip."""
    outcome = yield
    report = outcome.get_result()
    if not (IN_CI and report.skipped) or hasattr(report, "wasxfail") or item.get_closest_marker("optional_in_ci"):
        return
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    report.outcome = "failed"
    report.longrepr = f"skipped in CI, where every prerequisite must be present (CI=true): {reason}"


#: what one session starts or builds once and several modules share, at minutes of CPU each
SHARED_ONCE = {"opensearch", "sam_build_dir"}
#: the modules that use them (directly or by ``request.getfixturevalue``): under pytest-xdist they run
#: on one worker, so the OpenSearch node starts and `sam build` runs once. A module missing here still
#: passes, at the cost of a second node or build on the other worker; collection warns about it.
SHARED_MODULES = {
    "tests/integration/test_lambda_twin.py", "tests/integration/test_sam_build.py",
    "tests/integration/test_opensearch_node.py", "tests/integration/test_chunk_index_contract.py",
    "tests/e2e/test_opensearch_stack.py",
}
SHARED_GROUP = "opensearch-node-and-sam-build"


def work_unit(nodeid: str) -> str:
    """What runs on one worker under `make test`'s pytest-xdist: a test's module, or the shared group."""
    module = nodeid.split("::", 1)[0]
    return SHARED_GROUP if module in SHARED_MODULES else module


@pytest.hookimpl(optionalhook=True, tryfirst=True)
def pytest_xdist_make_scheduler(config, log):
    """`make test` (``-n 2 --dist loadgroup``): each module's tests on one worker, so a module-scoped
    stack, browser or site starts once, and :data:`SHARED_MODULES` together. Our own scheduler because
    xdist's ``xdist_group`` marks do nothing with pytest 9: xdist 3.8 appends the group to
    ``item._nodeid``, which pytest 9 no longer reads (ids come from ``item._id``), so every test was
    scheduled alone. The order is the workers' collection order (see below), not xdist's by size."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class ModuleScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return work_unit(nodeid)

    config.option.loadscopereorder = False
    return ModuleScheduling(config, log)


def pytest_collection_modifyitems(config, items):
    """In xdist's workers (whose collection the scheduler hands out in order): the shared group first,
    as it is the longest, then the modules with the most tests. Warns of a module using
    :data:`SHARED_ONCE` that is not in :data:`SHARED_MODULES`."""
    for module in sorted({item.nodeid.split("::", 1)[0] for item in items if SHARED_ONCE & set(item.fixturenames)}
                         - SHARED_MODULES):
        warnings.warn(f"{module} uses {sorted(SHARED_ONCE)} but is not in tests/conftest.py SHARED_MODULES: "
                      "under `make test` its worker starts its own", stacklevel=1)
    if getattr(config.option, "loadgroup", False):  # an xdist worker with --dist loadgroup
        sizes = collections.Counter(work_unit(item.nodeid) for item in items)
        items.sort(key=lambda item: (work_unit(item.nodeid) != SHARED_GROUP, -sizes[work_unit(item.nodeid)]))


@pytest.fixture(scope="session")
def moto_endpoint():
    """moto's server with every table and queue of template.yaml, for in-process integration tests
    (provisioned now, or before this process was forked: devkit/botplot_dev/moto_session.py)."""
    from botplot.config import reload_settings
    from botplot_dev import moto_session
    from tests.support.aws import forget_clients

    with moto_session.running() as (endpoint, environment):
        os.environ.update({**environment, "AWS_ENDPOINT_URL": endpoint})
        reload_settings()
        forget_clients()  # clients built by an earlier session in this process point at its server
        yield endpoint


@pytest.fixture(scope="session")
def dns():
    """A DNS server on 127.0.0.1 the stack resolves names through (custom domains, SSRF tests)."""
    from tests.support.dns_server import TestDNS

    server = TestDNS().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def stack(tmp_path_factory, dns):
    """The local stack as `make run` starts it (offline responder), with time scales shortened for
    tests: a 'pro' limit of 5 calls and a 'business' one of 30, a 1 s key cache, webhook retries after 1, 1 and 8 s (4
    attempts), deactivation after 6 consecutive failures spanning 8 s; names resolve through the
    test DNS server. The last retry and the window are long so that a test bringing a receiver back
    after its deliveries failed has 8 s to see them fail and start it, even on a loaded machine
    (tests/e2e/test_webhooks.py); waiting for them costs time, not CPU. It logs at DEBUG, so tests
    that look for leaks in its log see everything."""
    s = LocalStack(tmp_path_factory.mktemp("stack") / ".botplot", {
        "BOTPLOT_PLAN_LIMITS": '{"pro": 5, "business": 30}', "BOTPLOT_KEY_CACHE_SECONDS": "1",
        "BOTPLOT_WEBHOOK_BACKOFF": "1,1,8", "BOTPLOT_WEBHOOK_DISABLE_AFTER": "6",
        "BOTPLOT_WEBHOOK_DISABLE_WINDOW_SECONDS": "8", "BOTPLOT_DNS_NAMESERVERS": dns.address,
        "POWERTOOLS_LOG_LEVEL": "DEBUG"}).start()
    yield s
    s.stop()


@pytest.fixture
def site():
    """The shop's help site (tests/support/site.py) on 127.0.0.1 for one test, which may change its pages."""
    from tests.support.site import shop_site

    with shop_site() as s:
        yield s


@pytest.fixture(scope="session")
def project(stack):
    """An enterprise project on the shared stack."""
    return stack.new_project("enterprise", "Shared test project")


@dataclass(frozen=True)
class OpenSearchTarget:
    url: str
    engine: str  # the k-NN engine this cluster can run


@pytest.fixture(scope="session")
def opensearch():
    """A real OpenSearch cluster: ``OPENSEARCH_URL`` (engine ``BOTPLOT_KNN_ENGINE``, default faiss) if
    set, else a node this session starts once (devkit/botplot_dev/opensearch_node.py; engine lucene)
    and stops at its end. Without Java and Maven the tests that need it skip, except in CI
    (``CI=true``), where a missing node is a failure."""
    url = os.environ.get("OPENSEARCH_URL")
    if url:
        yield OpenSearchTarget(url, os.environ.get("BOTPLOT_KNN_ENGINE", "faiss"))
        return
    from botplot_dev import opensearch_node

    reason = opensearch_node.missing()
    if reason:
        message = f"OpenSearch node not started ({reason}): {opensearch_node.HOW_TO_GET_IT}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    with opensearch_node.OpenSearchNode() as node:
        yield OpenSearchTarget(node.url, opensearch_node.KNN_ENGINE)


def pytest_terminal_summary(terminalreporter):
    """Say once why the OpenSearch runs skipped (read from the reports, which xdist's workers send here)."""
    reasons = [str(r.longrepr[2] if isinstance(r.longrepr, tuple) else r.longrepr)
               for r in terminalreporter.stats.get("skipped", [])]
    node = next((reason for reason in reasons if "OpenSearch node not started" in reason), None)
    if node:
        terminalreporter.write_line(f"SKIPPED the OpenSearch runs: {node.removeprefix('Skipped: ')}", yellow=True)
