"""What the embeddable widget reads and records besides chat: its configuration (branding), ratings,
leads and handoff requests.

Each writes its record, the analytics counters and its webhook event (to the outbox) in one
transaction. Re-rating moves the counters (the old rating's day loses one, today gains one); a
conditional write on the previous value keeps them exact when two ratings race.
"""

from __future__ import annotations

from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.transactions import TransactWrite

from botplot import clock, events, ids
from botplot.db.base import condition_failed, connection
from botplot.db.conversations import Conversation, Message
from botplot.db.leads import Lead
from botplot.db.leads import visitor_key as lead_visitor_key
from botplot.db.projects import Project
from botplot.db.stats import TOTALS_DAY
from botplot.errors import bad_request, not_found
from botplot.events import Event
from botplot.services import conversation_store as store
from botplot.services.auth import Principal
from botplot.services.counters import StatsDelta


def config(principal: Principal) -> dict:
    """Branding the widget renders: the name, whether "Powered by BotPlot" shows (not on white-label
    projects), the custom logo and a greeting. Read consistently so a branding change shows at once."""
    try:
        project = Project.get(principal.project_id, consistent_read=True)
    except DoesNotExist:
        raise not_found("Project", "PROJECT_NOT_FOUND") from None
    return {"name": project.name, "showBranding": not project.white_label, "logoUrl": project.logo_url,
            "greeting": f"Hi! I'm the {project.name} assistant. Ask me anything."}


def _rating_counter(rating: int) -> str:
    return "positive" if rating > 0 else "negative"


def _question_answered(message: Message) -> str:
    """The visitor's question an assistant message answered: the message just before it."""
    before = Message.query(message.conversation_id, Message.message_id < message.message_id,
                           scan_index_forward=False, limit=1)
    return next((m.content for m in before if m.role == "user"), "")


def _gap_moves(message: Message, question: str, rating: int, now, delta: StatsDelta) -> list:
    """A grounded answer rated down is a knowledge gap (counted on the rating's day); rated again,
    the gap moves to the new rating's day or, rated up, is taken back. (Answers below the
    confidence threshold were counted when they were written.)"""
    if message.gap_at:
        delta.gap(clock.day(clock.parse(message.gap_at)), question, -1, rated_down=True)
    if rating < 0:
        delta.gap(clock.day(now), question, rated_down=True, at=clock.iso_ms(now))
        return [Message.gap_at.set(clock.iso_ms(now))]
    return [Message.gap_at.remove()] if message.gap_at else []


def rate(principal: Principal, conversation_id: str, message_id: str | None, rating: int) -> dict:
    conversation = store.load(principal.project_id, conversation_id, principal.verified_visitor)
    target = conversation
    if message_id is not None:
        if not ids.is_uuid(message_id):
            raise not_found("Message", "MESSAGE_NOT_FOUND")
        try:
            target = Message.get(conversation.conversation_id, message_id)
        except DoesNotExist:
            raise not_found("Message", "MESSAGE_NOT_FOUND") from None
        if target.role != "assistant":
            raise bad_request("Only the assistant's messages can be rated", "NOT_RATEABLE")
    field = type(target).rating if message_id is not None else Conversation.overall_rating
    question = _question_answered(target) if message_id is not None and target.grounded is not False else None
    for attempt in (1, 2):
        previous = target.rating if message_id is not None else target.overall_rating
        previous_at = target.rated_at
        now = clock.now()
        delta = StatsDelta(principal.project_id)
        if previous is not None and previous_at:
            delta.add(clock.day(clock.parse(previous_at)), _rating_counter(int(previous)), -1)
        delta.add(clock.day(now), _rating_counter(rating))
        unchanged = field.does_not_exist() if previous is None else field == previous
        received = Event(principal.project_id, "rating.received", {
            "conversation_id": conversation.conversation_id,
            "message_id": message_id,
            "rating": rating,
            "created_at": clock.iso_ms(now),
        })
        actions = [field.set(rating), type(target).rated_at.set(clock.iso_ms(now))]
        if question is not None:
            actions += _gap_moves(target, question, rating, now, delta)
        try:
            with TransactWrite(connection=connection()) as tx:
                tx.update(target, actions=actions, condition=unchanged)
                delta.apply(tx)
                events.save(tx, received)
            break
        except TransactWriteError as error:
            if attempt == 2 or not condition_failed(error):
                raise
            target.refresh()
    result = {"success": True, "conversationId": conversation.conversation_id, "rating": rating}
    if message_id is not None:
        result["messageId"] = message_id
    return result


def capture_lead(principal: Principal, conversation_id: str | None, visitor_id: str | None, name: str | None,
                 email: str | None, phone: str | None) -> Lead:
    visitor_id = principal.verified_visitor or visitor_id
    if conversation_id is not None:
        conversation = store.load(principal.project_id, conversation_id, principal.verified_visitor)
        visitor_id = visitor_id or conversation.visitor_id
    now = clock.now()
    lead = Lead(principal.project_id, ids.uuid7(), name=name, email=email, phone=phone,
                conversation_id=conversation_id, visitor_id=visitor_id,
                visitor_key=lead_visitor_key(principal.project_id, visitor_id) if visitor_id else None,
                search_text=" ".join(p for p in (name, email) if p).casefold(), created_at=clock.iso_ms(now))
    delta = StatsDelta(principal.project_id).add(clock.day(now), "leads").add(TOTALS_DAY, "leads")
    captured = Event(principal.project_id, "lead.captured", {
        "lead_id": lead.lead_id,
        "conversation_id": conversation_id,
        "visitor_id": visitor_id,
        "name": name,
        "email": email,
        "phone": phone,
        "created_at": lead.created_at,
    })
    with TransactWrite(connection=connection()) as tx:
        tx.save(lead, condition=Lead.lead_id.does_not_exist())
        delta.apply(tx)
        events.save(tx, captured)
    return lead


def request_handoff(principal: Principal, conversation_id: str, reason: str | None) -> Conversation:
    """Ask for a human: the conversation becomes ``handed_off`` (once; asking again changes nothing)."""
    conversation = store.load(principal.project_id, conversation_id, principal.verified_visitor)
    for attempt in (1, 2):
        if conversation.handoff_status == "requested":
            return conversation
        now = clock.iso_ms(clock.now())
        delta = StatsDelta(principal.project_id).status(conversation.status, "handed_off")
        actions = [
            Conversation.handoff_status.set("requested"),
            Conversation.handoff_requested_at.set(now),
            Conversation.status.set("handed_off"),
            Conversation.status_key.set(store.status_key(principal.project_id, "handed_off")),
            Conversation.idle_shard.remove(),
        ]
        if reason:
            actions.append(Conversation.handoff_reason.set(reason))
        if not conversation.unresolved:  # the bot could not resolve it
            actions.append(Conversation.unresolved.set(True))
            delta.add(clock.day(clock.parse(conversation.created_at)), "unresolved")
        condition = (Conversation.status == conversation.status) & (
            Conversation.unresolved.exists() if conversation.unresolved else Conversation.unresolved.does_not_exist())
        requested = Event(principal.project_id, "handoff.requested", {
            "conversation_id": conversation.conversation_id,
            "visitor_id": conversation.visitor_id,
            "reason": reason,
            "requested_at": now,
        })
        try:
            with TransactWrite(connection=connection()) as tx:
                tx.update(conversation, actions=actions, condition=condition)
                delta.apply(tx)
                events.save(tx, requested)
            break
        except TransactWriteError as error:
            if attempt == 2 or not condition_failed(error):
                raise
            conversation.refresh()
    conversation.refresh()
    return conversation
