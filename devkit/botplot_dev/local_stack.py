"""``make run``: the whole API on one machine, with AWS emulated by moto's server.

Starts moto, provisions what ``template.yaml`` declares, serves every endpoint group on
http://127.0.0.1:$PORT (3000 by default) at its real path, runs the SQS workers, the DynamoDB stream
consumers and the schedules, creates a demo project on the enterprise plan (seeded by
:mod:`botplot_dev.demo`) and writes its keys to ``.botplot/local.json``. Ctrl-C stops everything.

State stays across restarts: moto's DynamoDB and S3 are saved to ``.botplot/moto-state.pickle``
(see :mod:`botplot_dev.moto_process`) and the chunk index is ``.botplot/index.sqlite``, so a
restart finds the same projects, keys, sources, conversations and webhooks. ``FRESH=1`` (``make
run FRESH=1``) starts empty.

``BOTPLOT_INDEX=opensearch`` serves the knowledge from a real OpenSearch node instead of the
embedded index: ``OPENSEARCH_URL`` if set, else a node started for this run (see
:mod:`botplot_dev.opensearch_node`; Java 17+ and Maven needed) and stopped with it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import threading
import time
from pathlib import Path


def _state_dir() -> Path:
    return Path(os.environ.get("BOTPLOT_STATE_DIR", ".botplot")).resolve()


def _local_defaults(state: Path) -> dict[str, str]:
    """Configuration that differs from AWS: endpoints, the embedded index, relaxed SSRF guard."""
    return {
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        "BOTPLOT_INDEX": "sqlite",
        "BOTPLOT_INDEX_PATH": str(state / "index.sqlite"),
        # with BOTPLOT_INDEX=opensearch: what the local node can run (no faiss JNI library here)
        "BOTPLOT_KNN_ENGINE": "lucene",
        "BOTPLOT_KNN_ENCODING": "fp32",
        "BOTPLOT_ALLOW_PRIVATE_TARGETS": "1",
        "BOTPLOT_AWS_READ_TIMEOUT": "60",  # moto under load is slow, and retried plain writes count twice
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": os.environ.get("BOTPLOT_LOG_LEVEL", "INFO"),
    }


# Function settings that only make sense in Lambda (the adapter, the secret, per-function names).
_AWS_ONLY = {"BOTPLOT_OPENAI_SECRET_ID", "AWS_LAMBDA_EXEC_WRAPPER", "PORT", "POWERTOOLS_SERVICE_NAME"}


def start_opensearch(state: Path):
    """A node for ``BOTPLOT_INDEX=opensearch`` when no ``OPENSEARCH_URL`` is given; None otherwise."""
    if os.environ["BOTPLOT_INDEX"] != "opensearch" or os.environ.get("OPENSEARCH_URL"):
        return None
    from botplot_dev.opensearch_node import KNN_ENGINE, NodeUnavailable, OpenSearchNode

    print("Starting an OpenSearch node (about 30 s; the first run also downloads it)...", flush=True)
    try:
        node = OpenSearchNode(home=state / "opensearch").start()
    except NodeUnavailable as error:
        raise SystemExit(f"BOTPLOT_INDEX=opensearch: {error}") from None
    os.environ["OPENSEARCH_URL"] = node.url
    os.environ["BOTPLOT_KNN_ENGINE"] = KNN_ENGINE
    print(f"OpenSearch {node.url} (k-NN engine {KNN_ENGINE}), green after {node.start_seconds:.1f} s", flush=True)
    return node


def _serve_logos(bucket: str, region: str) -> None:
    """In AWS, CloudFront serves the logos; locally moto's S3 serves them itself (path-style URLs)."""
    import boto3

    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                                                      "Resource": f"arn:aws:s3:::{bucket}/logos/*"}]}
    boto3.client("s3", region_name=region).put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    os.environ.setdefault("BOTPLOT_ASSETS_BASE_URL", f"{os.environ['AWS_ENDPOINT_URL']}/{bucket}")


def _banner(info: dict) -> str:
    url, pk = info["apiUrl"], info["publicKey"]
    return f"""
BotPlot local stack is running at {url}
  project id  {info['projectId']}  (Acme Outdoor demo, enterprise plan)
  public key  {pk}
  secret key  {info['secretKey']}
  (also written to {info['_file']})
  widget demo {url}/demo

Try it (the demo project knows a few Q&A pairs and crawls a small help site served at {url}/demo-site/):
  curl -X POST "{url}/api/v1/chat" -H "Authorization: Bearer {pk}" -H "Content-Type: application/json" -d '{{"message": "What is your return policy?"}}'
  curl -N -X POST "{url}/api/v1/chat/stream" -H "Authorization: Bearer {pk}" -H "Content-Type: application/json" -d '{{"message": "How do I get started?"}}'

Next steps:
  Add your own site:  curl -X POST "{url}/api/v1/knowledge/url" -H "Authorization: Bearer {info['secretKey']}" -H "Content-Type: application/json" -d '{{"url": "https://your-site.example/docs"}}'
  Watch the crawl:    curl "{url}/api/v1/knowledge" -H "Authorization: Bearer {info['secretKey']}"   (progress while it runs)
  Open the API docs:  {url}/docs
State is kept in {info['_state']} across restarts (make run FRESH=1 starts empty). Press Ctrl-C to stop.
"""


def _resume_crawls() -> None:
    """Queues are not saved with the state: crawls a stop interrupted start again."""
    from botplot.db.knowledge import Source
    from botplot.services import knowledge

    for source in Source.scan(Source.status == "processing"):
        if source.type == "url":
            print(f"restarting the interrupted crawl of {source.url}", flush=True)
            knowledge.recrawl(source.project_id, source.source_id)


def main() -> int:
    port = int(os.environ.get("PORT", "3000"))
    state = _state_dir()
    fresh = os.environ.get("FRESH", "").lower() in ("1", "true", "yes")
    if fresh and state.exists():
        shutil.rmtree(state)
    state.mkdir(parents=True, exist_ok=True)
    local_json = state / "local.json"
    local_json.unlink(missing_ok=True)  # left by a stack that did not stop cleanly
    for name, value in _local_defaults(state).items():
        os.environ.setdefault(name, value)
    opensearch = start_opensearch(state)
    from botplot_dev import moto_process

    os.environ["AWS_ENDPOINT_URL"], moto = moto_process.spawn(state / "moto-state.pickle")

    from botplot_dev import demo
    from botplot_dev import template as tpl
    from botplot_dev.provision import Provisioned

    template = tpl.load()
    region = os.environ["AWS_DEFAULT_REGION"]
    provisioned = Provisioned(template, region)
    for name, value in provisioned.environment().items():
        if name not in _AWS_ONLY and not name.startswith("AWS_LWA"):
            os.environ.setdefault(name, value)
    # the resources this stack created are the ones it uses, whatever the calling shell names (a
    # secret's ARN differs from one moto to the next)
    os.environ.update(provisioned.resource_environment())
    if not os.environ.get("OPENAI_BASE_URL"):
        os.environ.pop("OPENAI_BASE_URL", None)
    _serve_logos(os.environ["BOTPLOT_ASSETS_BUCKET"], region)

    from botplot.config import reload_settings
    from botplot_dev.lambda_runtime import per_thread_log_keys

    reload_settings()
    per_thread_log_keys()
    # load the embedding model now, beside the rest of the start, rather than during the first chat
    from botplot.knowledge.embeddings import default_embedder

    threading.Thread(target=default_embedder, name="warm-embedder", daemon=True).start()
    api_url = f"http://127.0.0.1:{port}"
    project = demo.load(state)
    if project is None:
        project = demo.create(state, api_url)
    else:
        _resume_crawls()
    info = {
        "apiUrl": api_url,
        "projectId": project["projectId"],
        "publicKey": project["publicKey"],
        "secretKey": project["secretKey"],
        "awsEndpoint": os.environ["AWS_ENDPOINT_URL"],
        "environment": {k: v for k, v in os.environ.items() if k.startswith("BOTPLOT_")},
    }

    _warm_clients()
    stop = threading.Event()
    # the workers start once the port is served: the demo site's crawl fetches from this server
    start_workers = lambda: _start_workers(template, provisioned, region, stop)  # noqa: E731

    import uvicorn

    from botplot_dev.local_routes import LocalRoutes
    from botplot_dev.router import TemplateRouter
    from botplot_dev.widget_host import WidgetHost

    app = LocalRoutes(WidgetHost(TemplateRouter(), api_url, info["publicKey"]), api_url)  # + /docs, /demo, ...
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           timeout_graceful_shutdown=3, access_log=False))
    signal.signal(signal.SIGTERM, lambda *_: setattr(server, "should_exit", True))
    threading.Thread(target=_announce_when_started,
                     args=(server, {**info, "_state": state}, local_json, start_workers), daemon=True).start()
    try:
        server.run()
    except KeyboardInterrupt:  # uvicorn re-raises Ctrl-C after its graceful shutdown
        pass
    finally:
        stop.set()
        local_json.unlink(missing_ok=True)
        moto.terminate()  # moto saves its state as it stops
        moto.wait(timeout=30)
        if opensearch is not None:
            opensearch.stop()
        print("BotPlot local stack stopped.", flush=True)
    return 0 if server.started else 1


def _warm_clients() -> None:
    """Create the AWS clients before serving. In Lambda an instance serves one request at a time;
    here hundreds may arrive at once, and each would otherwise build its own botocore client for
    the same table (seconds of CPU each under load) before the first one was cached."""
    from botplot.aws import client
    from botplot.db.base import connection
    from botplot.db.registry import MODELS_BY_LOGICAL_ID

    for model in MODELS_BY_LOGICAL_ID.values():
        model._get_connection().connection.client
    connection().client
    for service in ("sqs", "s3"):
        client(service)


def _announce_when_started(server, info: dict, local_json: Path, start_workers) -> None:
    """Start the workers, write local.json and print the keys once the port is really being served."""
    while not server.started and not server.should_exit:
        time.sleep(0.05)
    if server.started:
        start_workers()
        # written whole, then renamed: whoever waits for the file (the tests, the CLI) never reads
        # it half written (a test read it empty once, on a loaded machine)
        partial = local_json.with_name(local_json.name + ".partial")
        partial.write_text(json.dumps({k: v for k, v in info.items() if not k.startswith("_")}, indent=2))
        os.replace(partial, local_json)
        print(_banner({**info, "_file": local_json}), flush=True)


def _start_workers(template: dict, provisioned, region: str, stop: threading.Event) -> None:
    from botplot_dev import template as tpl
    from botplot_dev.lambda_runtime import Schedule, SqsPoller, StreamPoller, schedule_payload

    speedup = float(os.environ.get("BOTPLOT_LOCAL_SCHEDULE_SPEEDUP", "60"))
    # Lambda runs many invocations at once; locally a few pollers per queue stand in for that
    pollers = int(os.environ.get("BOTPLOT_LOCAL_WORKER_THREADS", "4"))
    for function, resource in tpl.resources("AWS::Serverless::Function", template).items():
        timeout = float(resource["Properties"].get("Timeout", 60))
        for event in tpl.events_of(function, "SQS", template):
            queue = event["Queue"]["Fn::GetAtt"][0]
            for _ in range(pollers):
                SqsPoller(function, provisioned.queue_urls[queue], provisioned.queue_arns[queue], region,
                          int(event.get("BatchSize", 10)), stop, timeout).start()
        for event in tpl.events_of(function, "DynamoDB", template):
            table = event["Stream"]["Fn::GetAtt"][0]
            failures = ((event.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
            StreamPoller(function, provisioned.stream_arns[table], event, region, stop, timeout,
                         provisioned.queue_urls[failures["Fn::GetAtt"][0]] if failures else None).start()
        for event in tpl.events_of(function, "ScheduleV2", template):
            Schedule(function, event["ScheduleExpression"], schedule_payload(event), speedup, stop).start()


if __name__ == "__main__":
    sys.exit(main())
