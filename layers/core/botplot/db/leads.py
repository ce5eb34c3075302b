"""Leads captured by the widget."""

from __future__ import annotations

from pynamodb.attributes import UnicodeAttribute
from pynamodb.models import Model

from botplot.db.base import table_meta


class Lead(Model):
    Meta = table_meta("LEADS")

    project_id = UnicodeAttribute(hash_key=True, attr_name="projectId")
    lead_id = UnicodeAttribute(range_key=True, attr_name="leadId")
    name = UnicodeAttribute(null=True)
    email = UnicodeAttribute(null=True)
    phone = UnicodeAttribute(null=True)
    conversation_id = UnicodeAttribute(attr_name="conversationId", null=True)
    visitor_id = UnicodeAttribute(attr_name="visitorId", null=True)
    search_text = UnicodeAttribute(attr_name="searchText")  # lower-cased name and email
    created_at = UnicodeAttribute(attr_name="createdAt")
