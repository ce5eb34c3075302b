"""Analytics counters, changed in the same transaction as the records they count.

Per project and UTC day (``DailyStats``): conversations (by creation day), messages, unresolved
conversations (by creation day), visitors whose last active day it is, leads and ratings. Per
project (the ``"all"`` item): conversations by status, for exact list totals. Per project, day and
normalised question (``QuestionStat``): how often it was asked. Deletes apply the same deltas with
the opposite sign, so the figures always describe the records that exist.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import defaultdict
from datetime import timedelta

from pynamodb.transactions import TransactWrite

from botplot.db.stats import TOTALS_DAY, DailyStats, QuestionStat

RETENTION = timedelta(days=400)

#: conversation status → ``DailyStats`` attribute on the totals item
STATUS_FIELDS = {
    "active": "status_active",
    "closed": "status_closed",
    "archived": "status_archived",
    "handed_off": "status_handed_off",
}
#: counter name → ``DailyStats`` attribute on a day's item
DAY_FIELDS = {
    "conversations": "conversations",
    "messages": "messages",
    "unresolved": "unresolved",
    "visitors": "visitors_last_seen",
    "leads": "leads",
    "positive": "ratings_positive",
    "negative": "ratings_negative",
}


def normalize_question(text: str) -> str:
    """Case, punctuation and whitespace do not make two questions different."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = re.sub(r"[^\w\s]", " ", text)
    return " ".join(text.split())


def question_key(text: str) -> str:
    return hashlib.sha256(normalize_question(text).encode()).hexdigest()[:24]


class StatsDelta:
    """Counter changes grouped per item, so one transaction touches each item once."""

    def __init__(self, project_id: str):
        self.project_id = project_id
        self._days: dict[str, dict] = defaultdict(lambda: defaultdict(int))
        self._questions: dict[tuple[str, str], list] = {}

    def add(self, day: str, counter: str, n: int = 1) -> "StatsDelta":
        self._days[day][DAY_FIELDS[counter]] += n
        return self

    def status(self, old: str | None, new: str | None) -> "StatsDelta":
        if old == new:
            return self
        if old:
            self._days[TOTALS_DAY][STATUS_FIELDS[old]] -= 1
        if new:
            self._days[TOTALS_DAY][STATUS_FIELDS[new]] += 1
        return self

    def question(self, day: str, text: str, n: int = 1) -> "StatsDelta":
        key = (day, question_key(text))
        entry = self._questions.setdefault(key, [0, text.strip()[:300]])
        entry[0] += n
        return self

    def questions_taken_back(self) -> list[tuple[str, str]]:
        """(day, question key) of every question this delta counts down."""
        return [key for key, (n, _) in self._questions.items() if n < 0]

    def apply(self, tx: TransactWrite) -> None:
        for day, changes in self._days.items():
            actions = [getattr(DailyStats, attribute).add(n) for attribute, n in changes.items() if n]
            if not actions:
                continue
            if day != TOTALS_DAY:
                actions.append(DailyStats.expires_at.set(RETENTION))
            tx.update(DailyStats(self.project_id, day), actions=actions)
        for (day, key), (n, text) in self._questions.items():
            if n:
                tx.update(
                    QuestionStat(f"{self.project_id}#{day}", key),
                    actions=[
                        QuestionStat.count.add(n),
                        QuestionStat.text.set(QuestionStat.text | text),
                        QuestionStat.expires_at.set(RETENTION),
                    ],
                )
