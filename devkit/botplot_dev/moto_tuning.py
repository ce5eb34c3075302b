"""moto, tuned for a long-running local stack and for benchmarks.

moto's ``TransactWriteItems`` deep-copies every table a transaction touches, to roll back on
failure. Each chat turn is a transaction on the messages table, so a local stack slowed down (and
grew by gigabytes) as conversations accumulated: 800 messages took 70 s to write and 2 GB of
memory. ``install()`` keeps moto's transaction logic but snapshots only the items the transaction
touches, and restores those on failure: the same all-or-nothing outcome at a cost that no longer
grows with the table. Only the emulator changes; the application's code is the same in AWS.

moto's server answers requests on many threads, and neither moto's rollback (it puts back a copy of
whole tables) nor a per-item one is safe when another request writes in between: the restore would
undo that write. Nor is a plain update: moto reads the old item, applies the update and renders the
answer from the live item in three steps, so two concurrent ``ADD``s can both answer the same new
value. So every DynamoDB write request (put, update, delete, batch write, transaction) is handled
under one lock here, from reading the request to rendering its answer, as DynamoDB's own isolation
promises. A stream's shard iterator is forgotten once read (moto keeps them all, and the local stack
polls its streams continuously). moto writes the stream records of a transaction's items as it goes,
even when a later item cancels it; they are taken back with the items (DynamoDB streams only what
commits). moto 5.2.5 still deep-copies whole tables; tests/integration/test_moto_tuning.py checks
this module against moto's own outcomes and under concurrency.
"""

from __future__ import annotations

import copy
import threading

from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table
from moto.dynamodb.responses import DynamoHandler
from moto.dynamodbstreams.models import DynamoDBStreamsBackend

_local = threading.local()
_original_transact = DynamoDBBackend.transact_write_items
_WRITES = ("put_item", "update_item", "delete_item", "batch_write_item", "transact_write_items")
_handlers = {name: getattr(DynamoHandler, name) for name in _WRITES}
_write_lock = threading.RLock()
_original_get_records = DynamoDBStreamsBackend.get_records


def _table_deepcopy(self: Table, memo: dict) -> Table:
    if getattr(_local, "in_transaction", False):
        return self  # the transaction wrapper below restores the touched items itself
    cls = self.__class__
    clone = cls.__new__(cls)
    memo[id(self)] = clone
    for name, value in self.__dict__.items():
        setattr(clone, name, copy.deepcopy(value, memo))
    return clone


def _key(table: Table, op_type: str, op: dict) -> dict:
    if op_type == "Put":
        attrs = op["Item"]
        key = {table.hash_key_attr: attrs[table.hash_key_attr]}
        if table.range_key_attr is not None:
            key[table.range_key_attr] = attrs[table.range_key_attr]
        return key
    return op["Key"]


def _restore(table: Table, key: dict, original) -> None:
    hash_value = DynamoType(key[table.hash_key_attr])
    range_value = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
    if original is None:
        table.delete_item(hash_value, range_value)
    elif range_value is not None:
        table.items[hash_value][range_value] = original
    else:
        table.items[hash_value] = original


def _locked(handler):
    def write(self):
        with _write_lock:
            return handler(self)  # the handler renders the answer's attributes from the item itself

    write.__name__ = handler.__name__
    return write


def _transact_write_items(self: DynamoDBBackend, transact_items: list[dict]) -> None:
    snapshots, streams = [], {}
    for entry in transact_items[:100]:
        op_type, op = next(iter(entry.items()))
        table = self.tables.get(op.get("TableName"))
        if table is None or op_type not in ("Put", "Delete", "Update"):
            continue
        if table.stream_shard is not None:
            streams.setdefault(id(table), (table.stream_shard, len(table.stream_shard.items)))
        try:
            key = _key(table, op_type, op)
            current = self.get_item(table.name, key)
        except Exception:  # a malformed request: moto's own validation reports it below
            continue
        snapshots.append((table, key, copy.deepcopy(current)))
    _local.in_transaction = True
    try:
        return _original_transact(self, transact_items)
    except Exception:
        for table, key, original in reversed(snapshots):
            _restore(table, key, original)
        for shard, length in streams.values():  # a cancelled transaction wrote nothing to any stream
            del shard.items[length:]
        raise
    finally:
        _local.in_transaction = False


def _get_records(self: DynamoDBStreamsBackend, iterator_arn: str, limit: int) -> dict:
    """moto's, then the consumed iterator forgotten: moto keeps every iterator it hands out, and the
    local stack's stream poller reads each stream several times a second (a leak of ~30 MB an hour)."""
    try:
        return _original_get_records(self, iterator_arn, limit)
    finally:
        self.shard_iterators.pop(iterator_arn, None)


def install() -> None:
    if getattr(DynamoDBBackend, "_botplot_tuned", False):
        return
    DynamoDBStreamsBackend.get_records = _get_records
    Table.__deepcopy__ = _table_deepcopy
    for name, handler in _handlers.items():
        setattr(DynamoHandler, name, _locked(handler))
    DynamoDBBackend.transact_write_items = _transact_write_items
    DynamoDBBackend._botplot_tuned = True
