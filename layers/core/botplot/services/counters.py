"""Analytics counters, changed in the same transaction as the records they count.

Per project and UTC day (``DailyStats``): conversations (by creation day), messages, unresolved
conversations (by creation day), visitors whose last active day it is, leads and ratings. Per
project (the ``"all"`` item): conversations by status, for exact list totals. Per project, day and
normalised question (``QuestionStat``): how often it was asked; per project, day and question
terms, how often the bot could not answer it (see :mod:`botplot.services.gaps`). Deletes apply the same deltas with
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
from botplot.services import gaps

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
        self._gaps: dict[tuple[str, str], dict] = {}

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

    def gap(self, day: str, question: str, n: int = 1, rated_down: bool = False, at: str | None = None) -> "StatsDelta":
        """A question the bot could not answer (``rated_down``: its answer was rated -1), asked at ``at``."""
        question_terms = gaps.terms(question)
        entry = self._gaps.setdefault((day, gaps.key(question_terms)), {
            "n": 0, "down": 0, "text": question.strip()[:300], "terms": " ".join(question_terms), "at": None})
        entry["n"] += n
        entry["down"] += n if rated_down else 0
        if at and n > 0:
            entry["at"], entry["last"] = max(entry["at"] or "", at), question.strip()[:300]
        return self

    def taken_back(self) -> list[tuple[str, str]]:
        """(partition, key) of every question and gap counter this delta counts down."""
        return ([(f"{self.project_id}#{day}", key) for (day, key), (n, _) in self._questions.items() if n < 0]
                + [(gaps.partition(self.project_id, day), key) for (day, key), e in self._gaps.items() if e["n"] < 0])

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
        for (day, key), entry in self._gaps.items():
            if not entry["n"]:
                continue
            actions = [QuestionStat.count.add(entry["n"]), QuestionStat.text.set(QuestionStat.text | entry["text"]),
                       QuestionStat.terms.set(entry["terms"]), QuestionStat.expires_at.set(RETENTION)]
            if entry["down"]:
                actions.append(QuestionStat.rated_down.add(entry["down"]))
            if entry["at"]:
                actions += [QuestionStat.last_asked_at.set(entry["at"]), QuestionStat.last_text.set(entry["last"])]
            tx.update(QuestionStat(gaps.partition(self.project_id, day), key), actions=actions)
