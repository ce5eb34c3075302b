"""Conversations and their messages.

Conversation ids are UUIDv7, so the table's range key lists a project's conversations newest
first with no extra index. The indexes serve the back office's status filter, a visitor's
conversations (to keep unique-visitor counters honest on delete) and the idle closer.
"""

from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    NumberAttribute,
    UnicodeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from botplot.db.base import table_meta

#: Shards of the idle index: active conversations spread over this many partitions.
IDLE_SHARDS = 4


class ByStatus(GlobalSecondaryIndex):
    class Meta:
        index_name = "byStatus"
        projection = AllProjection()

    status_key = UnicodeAttribute(hash_key=True, attr_name="statusKey")
    conversation_id = UnicodeAttribute(range_key=True, attr_name="conversationId")


class ByVisitor(GlobalSecondaryIndex):
    class Meta:
        index_name = "byVisitor"
        projection = KeysOnlyProjection()

    visitor_key = UnicodeAttribute(hash_key=True, attr_name="visitorKey")
    conversation_id = UnicodeAttribute(range_key=True, attr_name="conversationId")


class ByIdle(GlobalSecondaryIndex):
    """Sparse: only active conversations carry ``idleShard``, so the closer reads only those."""

    class Meta:
        index_name = "byIdle"
        projection = KeysOnlyProjection()

    idle_shard = UnicodeAttribute(hash_key=True, attr_name="idleShard")
    last_message_at = UnicodeAttribute(range_key=True, attr_name="lastMessageAt")


class Conversation(Model):
    Meta = table_meta("CONVERSATIONS")

    project_id = UnicodeAttribute(hash_key=True, attr_name="projectId")
    conversation_id = UnicodeAttribute(range_key=True, attr_name="conversationId")
    visitor_id = UnicodeAttribute(attr_name="visitorId", null=True)
    status = UnicodeAttribute(default="active")
    status_key = UnicodeAttribute(attr_name="statusKey")
    visitor_key = UnicodeAttribute(attr_name="visitorKey")
    idle_shard = UnicodeAttribute(attr_name="idleShard", null=True)
    overall_rating = NumberAttribute(attr_name="overallRating", null=True)
    handoff_status = UnicodeAttribute(attr_name="handoffStatus", default="none")
    handoff_reason = UnicodeAttribute(attr_name="handoffReason", null=True)
    handoff_requested_at = UnicodeAttribute(attr_name="handoffRequestedAt", null=True)
    rated_at = UnicodeAttribute(attr_name="ratedAt", null=True)
    message_count = NumberAttribute(attr_name="messageCount", default=0)
    first_message = UnicodeAttribute(attr_name="firstMessage", null=True)
    created_at = UnicodeAttribute(attr_name="createdAt")
    last_message_at = UnicodeAttribute(attr_name="lastMessageAt")
    unresolved = BooleanAttribute(null=True)
    by_status = ByStatus()
    by_visitor = ByVisitor()
    by_idle = ByIdle()


class Message(Model):
    Meta = table_meta("MESSAGES")

    conversation_id = UnicodeAttribute(hash_key=True, attr_name="conversationId")
    message_id = UnicodeAttribute(range_key=True, attr_name="messageId")
    project_id = UnicodeAttribute(attr_name="projectId")
    role = UnicodeAttribute()  # "user" | "assistant"
    content = UnicodeAttribute()
    created_at = UnicodeAttribute(attr_name="createdAt")
    rating = NumberAttribute(null=True)
    rated_at = UnicodeAttribute(attr_name="ratedAt", null=True)
    confidence_score = NumberAttribute(attr_name="confidenceScore", null=True)
    chunk_ids = ListAttribute(attr_name="chunkIds", of=UnicodeAttribute, null=True)
    page_urls = ListAttribute(attr_name="pageUrls", of=UnicodeAttribute, null=True)
    citations = UnicodeAttribute(null=True)  # JSON, as returned to the client
    grounded = BooleanAttribute(null=True)
    #: an assistant message counted as a knowledge gap: when (unanswered, or rated down)
    gap_at = UnicodeAttribute(attr_name="gapAt", null=True)
