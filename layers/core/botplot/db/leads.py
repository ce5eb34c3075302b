"""Leads captured by the widget."""

from __future__ import annotations

from pynamodb.attributes import UnicodeAttribute
from pynamodb.indexes import GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from botplot.db.base import table_meta


class ByVisitor(GlobalSecondaryIndex):
    """Sparse: only leads of a known visitor carry ``visitorKey`` (a visitor's export and erasure)."""

    class Meta:
        index_name = "byVisitor"
        projection = KeysOnlyProjection()

    visitor_key = UnicodeAttribute(hash_key=True, attr_name="visitorKey")
    lead_id = UnicodeAttribute(range_key=True, attr_name="leadId")


class Lead(Model):
    Meta = table_meta("LEADS")

    project_id = UnicodeAttribute(hash_key=True, attr_name="projectId")
    lead_id = UnicodeAttribute(range_key=True, attr_name="leadId")
    name = UnicodeAttribute(null=True)
    email = UnicodeAttribute(null=True)
    phone = UnicodeAttribute(null=True)
    conversation_id = UnicodeAttribute(attr_name="conversationId", null=True)
    visitor_id = UnicodeAttribute(attr_name="visitorId", null=True)
    #: ``projectId#visitorId`` when the visitor is known (see :func:`visitor_key`)
    visitor_key = UnicodeAttribute(attr_name="visitorKey", null=True)
    search_text = UnicodeAttribute(attr_name="searchText")  # lower-cased name and email
    created_at = UnicodeAttribute(attr_name="createdAt")
    by_visitor = ByVisitor()


def visitor_key(project_id: str, visitor_id: str) -> str:
    return f"{project_id}#{visitor_id}"
