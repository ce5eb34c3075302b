"""botplot_dev.moto_tuning against stock moto: every transaction test runs on that patch, so it must
give moto's own outcomes (same errors, same tables and streams afterwards), and stay exact under
concurrency.

Both run on the tests' moto server: one region on moto's own transact_write_items, the other on
the tuned one, fed the same requests (tables named afresh for each test)."""

from __future__ import annotations

import threading
import uuid

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.dynamodb.models import DynamoDBBackend

from botplot_dev import moto_tuning

STOCK, TUNED = "us-west-2", "eu-west-1"


@pytest.fixture
def regions(moto_endpoint, monkeypatch):
    moto_tuning.install()
    tuned = DynamoDBBackend.transact_write_items

    def by_region(self, transact_items):
        if self.region_name == STOCK:
            return moto_tuning._original_transact(self, transact_items)
        return tuned(self, transact_items)

    monkeypatch.setattr(DynamoDBBackend, "transact_write_items", by_region)
    suffix = uuid.uuid4().hex[:8]
    TABLES.update(orders=f"orders-{suffix}", totals=f"totals-{suffix}")
    clients = {region: boto3.client("dynamodb", region_name=region, endpoint_url=moto_endpoint)
               for region in (STOCK, TUNED)}
    for client in clients.values():
        for name in TABLES.values():
            stream = {"StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}} \
                if name == TABLES["orders"] else {}
            client.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                                KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                                           {"AttributeName": "sk", "KeyType": "RANGE"}],
                                AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                                      {"AttributeName": "sk", "AttributeType": "S"}], **stream)
        client.put_item(TableName=TABLES["orders"], Item={"pk": {"S": "a"}, "sk": {"S": "1"}, "n": {"N": "1"}})
        client.put_item(TableName=TABLES["orders"], Item={"pk": {"S": "a"}, "sk": {"S": "2"}, "n": {"N": "2"}})
        client.put_item(TableName=TABLES["totals"], Item={"pk": {"S": "t"}, "sk": {"S": "all"}, "n": {"N": "3"}})
    yield clients
    for client in clients.values():
        for name in TABLES.values():
            client.delete_table(TableName=name)


TABLES: dict[str, str] = {}


def table(name: str) -> str:
    """This test's table for a logical name ("no-such-table" stays unknown)."""
    return TABLES.get(name, name)


def key(pk: str, sk: str) -> dict:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def put(table: str, pk: str, sk: str, n: int = 0) -> dict:
    return {"Put": {"TableName": table, "Item": {**key(pk, sk), "n": {"N": str(n)}}}}


def add(table: str, pk: str, sk: str, n: int, condition: str | None = None) -> dict:
    op = {"TableName": table, "Key": key(pk, sk), "UpdateExpression": "ADD n :n",
          "ExpressionAttributeValues": {":n": {"N": str(n)}}}
    return {"Update": {**op, **({"ConditionExpression": condition} if condition else {})}}


def delete(table: str, pk: str, sk: str) -> dict:
    return {"Delete": {"TableName": table, "Key": key(pk, sk)}}


def fails(table: str, pk: str, sk: str) -> dict:
    return {"ConditionCheck": {"TableName": table, "Key": key(pk, sk), "ConditionExpression": "attribute_not_exists(pk)"}}


SCENARIOS = {
    "all succeed": [put("orders", "a", "3", 3), add("orders", "a", "1", 10), delete("orders", "a", "2"),
                    add("totals", "t", "all", 1)],
    "the last check fails": [put("orders", "b", "1"), add("orders", "a", "1", 5), delete("orders", "a", "2"),
                             add("totals", "t", "all", 1), fails("orders", "a", "1")],
    "the first check fails": [fails("orders", "a", "2"), put("orders", "c", "1"), add("totals", "t", "all", 1)],
    "an update's condition fails midway": [put("orders", "d", "1"), add("totals", "t", "all", 5, "n > :n"),
                                           delete("orders", "a", "1")],
    "a new item is added then rolled back": [add("orders", "new", "1", 1), fails("totals", "t", "all")],
    "the same item twice": [put("orders", "e", "1"), add("totals", "t", "all", 1), add("totals", "t", "all", 2)],
    "an unknown table": [put("orders", "f", "1"), put("no-such-table", "x", "1")],
}


def named(items: list[dict]) -> list[dict]:
    """The scenario's operations on this test's tables."""
    return [{op: {**body, "TableName": table(body["TableName"])} for op, body in item.items()} for item in items]


def outcome(client, items: list[dict]) -> tuple:
    items = named(items)
    try:
        client.transact_write_items(TransactItems=items)
        error = None
    except ClientError as failure:
        error = (failure.response["Error"]["Code"], failure.response["Error"]["Message"],
                 failure.response.get("CancellationReasons"))
    tables = {name: sorted((i["pk"]["S"], i["sk"]["S"], i.get("n", {}).get("N"))
                           for i in client.scan(TableName=table(name))["Items"]) for name in ("orders", "totals")}
    return error, tables, stream_records(client)


def stream_records(client) -> list[tuple]:
    """What the orders table's stream holds: (event, key, new n), oldest first."""
    arn = client.describe_table(TableName=table("orders"))["Table"]["LatestStreamArn"]
    streams = boto3.client("dynamodbstreams", region_name=client.meta.region_name,
                           endpoint_url=client.meta.endpoint_url)
    (shard,) = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"],
                                          ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    return [(r["eventName"], r["dynamodb"]["Keys"]["pk"]["S"], r["dynamodb"]["Keys"]["sk"]["S"],
             r["dynamodb"].get("NewImage", {}).get("n", {}).get("N"))
            for r in streams.get_records(ShardIterator=iterator)["Records"]]


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_the_tuned_transaction_gives_stock_motos_outcome(regions, scenario):
    stock = outcome(regions[STOCK], SCENARIOS[scenario])
    tuned = outcome(regions[TUNED], SCENARIOS[scenario])
    assert tuned == stock
    if scenario != "all succeed":
        assert stock[0] is not None  # each failing scenario really failed (and rolled back alike)
        assert len(tuned[2]) == 2  # only the setup's two puts were streamed: nothing of the cancelled transaction


def test_failed_transactions_never_undo_concurrent_writes(regions):
    """Threads increment one counter with plain updates while others run transactions on it that
    fail half the time: a rollback must restore only what its own transaction wrote."""
    client = regions[TUNED]
    client.put_item(TableName=table("totals"), Item={"pk": {"S": "c"}, "sk": {"S": "1"}, "n": {"N": "0"}})
    done = {"plain": 0, "committed": 0}
    lock = threading.Lock()

    def work(worker: int) -> None:
        mine = boto3.client("dynamodb", region_name=TUNED, endpoint_url=client.meta.endpoint_url)
        for i in range(60):
            if worker % 2:
                mine.update_item(TableName=table("totals"), Key=key("c", "1"), UpdateExpression="ADD n :one",
                                 ExpressionAttributeValues={":one": {"N": "1"}})
                kind = "plain"
            else:
                items = [add("totals", "c", "1", 1), put("orders", f"w{worker}-{uuid.uuid4()}", "1")]
                if i % 2:
                    items.append(fails("orders", "a", "1"))
                try:
                    mine.transact_write_items(TransactItems=named(items))
                    kind = "committed"
                except ClientError as failure:
                    assert failure.response["Error"]["Code"] == "TransactionCanceledException"
                    continue
            with lock:
                done[kind] += 1

    threads = [threading.Thread(target=work, args=(w,)) for w in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    final = int(client.get_item(TableName=table("totals"), Key=key("c", "1"))["Item"]["n"]["N"])
    assert done["committed"] == 90 and done["plain"] == 180
    assert final == done["plain"] + done["committed"]


def test_polling_a_stream_keeps_no_iterator_it_has_read(regions):
    """The local stack reads its streams several times a second: a consumed iterator is forgotten
    (moto would keep each one), while the next one reads on from where it left off."""
    from moto.dynamodbstreams.models import dynamodbstreams_backends

    client = regions[TUNED]
    arn = client.describe_table(TableName=table("orders"))["Table"]["LatestStreamArn"]
    streams = boto3.client("dynamodbstreams", region_name=TUNED, endpoint_url=client.meta.endpoint_url)
    (shard,) = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"],
                                          ShardIteratorType="LATEST")["ShardIterator"]
    backend = next(b for regions_ in dynamodbstreams_backends.values() for r, b in regions_.items() if r == TUNED)
    before = len(backend.shard_iterators)
    seen = []
    for i in range(50):
        if i == 25:
            client.put_item(TableName=table("orders"), Item={**key("z", "1"), "n": {"N": "9"}})
        page = streams.get_records(ShardIterator=iterator)
        seen += [r["dynamodb"]["Keys"]["pk"]["S"] for r in page["Records"]]
        iterator = page["NextShardIterator"]
    assert len(backend.shard_iterators) == before
    assert seen == ["z"]
