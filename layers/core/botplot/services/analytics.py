"""Analytics served from the counters (``DailyStats``, ``QuestionStat``), never from messages.

One query reads the period's day items (at most 90); top questions read each day's 25 most
asked (one small query per day, run in parallel) and merge them. So a call reads O(days) items
whatever the traffic. Questions are grouped by their normalised text (case, punctuation and
whitespace do not split a group). Merging per-day top lists is exact whenever a question that
makes the period's top 10 is within its days' top 25, which holds unless a day has more than 25
distinct questions asked more often than it.
"""

from __future__ import annotations

from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

from botplot import clock
from botplot.db.stats import DailyStats, QuestionStat

PERIODS = {"7d": 7, "30d": 30, "90d": 90}
TOP_PER_DAY = 25
TOP_QUESTIONS = 10


def period_days(period: str) -> list[str]:
    return clock.period_days(PERIODS[period])


def _day_items(project_id: str, days: list[str]) -> dict[str, DailyStats]:
    items = DailyStats.query(project_id, DailyStats.day.between(days[0], days[-1]))
    return {item.day: item for item in items}


def _n(value) -> int:
    return int(value or 0)


def _rate(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 1) if whole else 0.0


def _top_questions(project_id: str, days: list[str]) -> list[dict]:
    def day_top(day: str) -> list[QuestionStat]:
        return list(QuestionStat.by_count.query(f"{project_id}#{day}", scan_index_forward=False,
                                                limit=TOP_PER_DAY))

    counts: dict[str, int] = defaultdict(int)
    texts: dict[str, tuple[int, str]] = {}
    with ThreadPoolExecutor(max_workers=8) as pool:
        for stats in pool.map(day_top, days):
            for stat in stats:
                n = _n(stat.count)
                if n <= 0:
                    continue
                counts[stat.question_key] += n
                if stat.question_key not in texts or n > texts[stat.question_key][0]:
                    texts[stat.question_key] = (n, stat.text)
    ranked = sorted(counts, key=lambda key: (-counts[key], texts[key][1].casefold()))[:TOP_QUESTIONS]
    return [{"question": texts[key][1], "count": counts[key]} for key in ranked]


def overview(project_id: str, period: str) -> dict:
    days = period_days(period)
    items = _day_items(project_id, days)
    conversations = sum(_n(i.conversations) for i in items.values())
    messages = sum(_n(i.messages) for i in items.values())
    unresolved = sum(_n(i.unresolved) for i in items.values())
    return {
        "overview": {
            "totalConversations": conversations,
            "totalMessages": messages,
            "uniqueVisitors": sum(_n(i.visitors_last_seen) for i in items.values()),
            "avgMessagesPerConversation": round(messages / conversations, 1) if conversations else 0.0,
            "leadsCollected": sum(_n(i.leads) for i in items.values()),
            "resolutionRate": _rate(conversations - unresolved, conversations),
        },
        "messagesOverTime": [
            {"date": day, "messages": _n(items[day].messages) if day in items else 0,
             "conversations": _n(items[day].conversations) if day in items else 0}
            for day in days
        ],
        "topQuestions": _top_questions(project_id, days),
    }


def ratings(project_id: str, period: str) -> dict:
    days = period_days(period)
    items = _day_items(project_id, days)
    positive = sum(_n(i.ratings_positive) for i in items.values())
    negative = sum(_n(i.ratings_negative) for i in items.values())
    return {
        "summary": {"totalRatings": positive + negative, "positive": positive, "negative": negative,
                    "satisfactionRate": _rate(positive, positive + negative)},
        "ratingsTrend": [
            {"date": day, "positive": _n(items[day].ratings_positive) if day in items else 0,
             "negative": _n(items[day].ratings_negative) if day in items else 0}
            for day in days
        ],
    }
