"""Counters kept as things happen, so analytics read O(days in the period) items.

``DailyStats`` holds one item per project and UTC day, plus one item per project with the day
``"all"`` for totals the list routes need (conversations by status, leads).
"""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from botplot.db.base import table_meta

TOTALS_DAY = "all"


class DailyStats(Model):
    Meta = table_meta("DAILY_STATS")

    project_id = UnicodeAttribute(hash_key=True, attr_name="projectId")
    day = UnicodeAttribute(range_key=True)
    conversations = NumberAttribute(null=True)
    messages = NumberAttribute(null=True)
    unresolved = NumberAttribute(null=True)
    visitors_last_seen = NumberAttribute(attr_name="visitorsLastSeen", null=True)
    leads = NumberAttribute(null=True)
    ratings_positive = NumberAttribute(attr_name="ratingsPositive", null=True)
    ratings_negative = NumberAttribute(attr_name="ratingsNegative", null=True)
    # totals item only: conversations by status
    status_active = NumberAttribute(attr_name="statusActive", null=True)
    status_closed = NumberAttribute(attr_name="statusClosed", null=True)
    status_archived = NumberAttribute(attr_name="statusArchived", null=True)
    status_handed_off = NumberAttribute(attr_name="statusHandedOff", null=True)
    webhooks = NumberAttribute(null=True)  # totals item only: the project's webhooks (at most 10)
    expires_at = TTLAttribute(attr_name="expiresAt", null=True)


class TopByCount(GlobalSecondaryIndex):
    class Meta:
        index_name = "byCount"
        projection = AllProjection()

    project_day = UnicodeAttribute(hash_key=True, attr_name="projectDay")
    count = NumberAttribute(range_key=True)


class QuestionStat(Model):
    """How often a normalised question was asked on one day; ``byCount`` reads a day's top N."""

    Meta = table_meta("QUESTION_STATS")

    project_day = UnicodeAttribute(hash_key=True, attr_name="projectDay")
    question_key = UnicodeAttribute(range_key=True, attr_name="questionKey")
    count = NumberAttribute(default=0)
    text = UnicodeAttribute()
    expires_at = TTLAttribute(attr_name="expiresAt", null=True)
    by_count = TopByCount()
    # knowledge gaps (``projectId#gaps#day`` partitions, see botplot.services.gaps): the question's
    # terms, the day's last wording, when it was last asked and how many were rated down
    terms = UnicodeAttribute(null=True)
    last_text = UnicodeAttribute(attr_name="lastText", null=True)
    last_asked_at = UnicodeAttribute(attr_name="lastAskedAt", null=True)
    rated_down = NumberAttribute(attr_name="ratedDown", null=True)
    # a Q&A pair's record (``projectId#gaps#answers``): when it was added
    answered_at = UnicodeAttribute(attr_name="answeredAt", null=True)


class Visitor(Model):
    """A visitor's last active day: uniqueVisitors(period) = visitors whose last day is in it."""

    Meta = table_meta("VISITORS")

    project_id = UnicodeAttribute(hash_key=True, attr_name="projectId")
    visitor_id = UnicodeAttribute(range_key=True, attr_name="visitorId")
    last_seen_day = UnicodeAttribute(attr_name="lastSeenDay", null=True)
