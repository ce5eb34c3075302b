"""Knowledge gaps: the visitors' questions the bot could not answer, grouped by what they ask.

**What is a gap.** A visitor's question whose answer fell below the confidence threshold (the bot
said it did not know: the answer is not ``grounded``), or whose grounded answer was rated down
(-1). Each assistant message counts at most once: at its answer when ungrounded, else at its
down-rating (on the rating's day; a re-rating to +1 takes it back). Deleting a conversation or a
visitor takes its gaps back like every other counter.

**Grouping, at write time.** A question's *terms* are its words, case-folded, without stopwords,
each cut to a crude stem (plural and verb endings), sorted and de-duplicated: "What are your
opening hours?" and "Opening hours?" are both ``hour open``. The terms' hash keys a counter per
project and UTC day in the question-stats table (``projectId#gaps#day``), written in the same
transaction as the message (or the rating) with ``ADD``: exact under concurrency and read like the
top questions, each day's 25 most frequent gaps through the ``byCount`` index, so a report reads
O(days) items. Each counter keeps the day's first and last wording as examples and the last time
it was asked.

**Merging, at read time.** Groups whose term sets overlap by Jaccard similarity ≥ 0.5 ("opening
hours" and "when are you open": ``hour open`` / ``open``) are merged, the larger group first; at
most a few hundred keys, so the pairwise pass costs nothing measurable.

**Leaving the list.** Adding a Q&A pair records its question's terms beside the gap counters (one
item, removed with the pair); a group whose terms overlap a pair's by the same 0.5 is answered
and leaves the list. If the bot still fails the question after the pair was added (the pair did
not help), the group comes back with what was asked since.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

from botplot import clock
from botplot.db.stats import QuestionStat

TOP_PER_DAY = 25
MERGE_SIMILARITY = 0.5
EXAMPLES = 3
#: the partition that holds one item per Q&A pair: its question's terms
ANSWERS = "gaps#answers"

STOPWORDS = frozenset("""
a about above after again all am an and any are as at be been being but by can could did do does doing
for from had has have having he her here hers him his how i if in into is it its itself just me more
most my no nor not of off on once only or other our ours out over own please same she should so some
such than that the their theirs them then there these they this those through to too under until up
very was we were what when where which while who whom why will with would you your yours yourself
hi hello hey thanks thank tell know want need get like
""".split())

_WORD = re.compile(r"[^\W_]+")
_VOWELS = set("aeiouy")


def _undouble(stem: str) -> str:
    """shipp(ing) → ship, stopp(ed) → stop; fall, pass and buzz keep theirs."""
    if len(stem) > 3 and stem[-1] == stem[-2] and stem[-1] not in _VOWELS | set("lsz"):
        return stem[:-1]
    return stem


def _stem(word: str) -> str:
    """Stemming-lite: plural and common verb endings off, never below three letters."""
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    for suffix in ("ing", "ed"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return _undouble(word[: -len(suffix)])
    if word.endswith("es") and word[:-2].endswith(("s", "x", "z", "ch", "sh")) and len(word) > 4:
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")) and len(word) > 3:
        return word[:-1]
    return word


def terms(text: str) -> tuple[str, ...]:
    """The question's terms, sorted: what it asks, whatever the wording's order and filler."""
    words = _WORD.findall(unicodedata.normalize("NFKC", text).casefold())
    found = {_stem(w) for w in words if w not in STOPWORDS and not w.isdigit()}
    found.discard("")
    return tuple(sorted(found or {w for w in words}))  # a question of stopwords only keeps them


def key(question_terms: tuple[str, ...]) -> str:
    return hashlib.sha256(" ".join(question_terms).encode()).hexdigest()[:24]


def partition(project_id: str, day: str) -> str:
    return f"{project_id}#gaps#{day}"


def similarity(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0


def suggested_question(text: str) -> str:
    """A wording fit for a Q&A pair: spaces tidied, a capital first letter, a question mark."""
    text = " ".join(text.split()).rstrip(" .!")
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text.endswith("?") else text + "?"


class _Group:
    def __init__(self, question_terms: set[str]):
        self.terms = set(question_terms)  # the group's own: what others are compared with
        self.members = [self.terms]  # the terms of every group merged into it
        self.last_asked = ""
        self.wordings: dict[str, int] = defaultdict(int)
        self.by_day: dict[str, int] = defaultdict(int)
        self.rated_by_day: dict[str, int] = defaultdict(int)
        self.last_by_day: dict[str, str] = {}

    @property
    def count(self) -> int:
        return sum(self.by_day.values())

    @property
    def rated_down(self) -> int:
        return min(self.count, sum(self.rated_by_day.values()))

    def absorb(self, other: "_Group") -> None:
        self.members += other.members
        self.last_asked = max(self.last_asked, other.last_asked)
        for text, n in other.wordings.items():
            self.wordings[text] += n
        for day, n in other.by_day.items():
            self.by_day[day] += n
            self.rated_by_day[day] += other.rated_by_day[day]
            self.last_by_day[day] = max(self.last_by_day.get(day, ""), other.last_by_day[day])

    def keep_days(self, days: set[str]) -> None:
        for day in list(self.by_day):
            if day not in days:
                del self.by_day[day]
                self.rated_by_day.pop(day, None)


def _day_gaps(project_id: str, days: list[str]) -> dict[str, _Group]:
    def day_top(day: str) -> list[QuestionStat]:
        return list(QuestionStat.by_count.query(partition(project_id, day), scan_index_forward=False,
                                                limit=TOP_PER_DAY))

    groups: dict[str, _Group] = {}
    with ThreadPoolExecutor(max_workers=8) as pool:
        for day, stats in zip(days, pool.map(day_top, days)):
            for stat in stats:
                n = int(stat.count or 0)
                if n <= 0 or not stat.terms:
                    continue
                group = groups.setdefault(stat.question_key, _Group(set(stat.terms.split())))
                asked = stat.last_asked_at or ""
                group.last_asked = max(group.last_asked, asked)
                group.by_day[day] += n
                group.last_by_day[day] = max(group.last_by_day.get(day, ""), asked)
                group.rated_by_day[day] += max(0, int(stat.rated_down or 0))
                group.wordings[stat.text] += n
                if stat.last_text:
                    group.wordings.setdefault(stat.last_text, 0)  # an example, weighed by the first
    return groups


def _merge(groups: list[_Group]) -> list[_Group]:
    """Fold each group into the first (larger) one whose own terms it resembles (compared with
    that group's own terms, not the union, so merges do not drift from what it asks)."""
    merged: list[_Group] = []
    for group in sorted(groups, key=lambda g: -g.count):
        home = next((m for m in merged if similarity(m.terms, group.terms) >= MERGE_SIMILARITY), None)
        if home is None:
            merged.append(group)
        else:
            home.absorb(group)
    return merged


def record_answer(project_id: str, source_id: str, question: str) -> None:
    """A Q&A pair was added: the gaps its question answers leave the list."""
    QuestionStat(f"{project_id}#{ANSWERS}", source_id, text=question[:300], terms=" ".join(terms(question)),
                 answered_at=clock.iso_ms(clock.now())).save()


def forget_answer(project_id: str, source_id: str) -> None:
    """The pair was deleted: what it answered is a gap again if it is still asked."""
    QuestionStat(f"{project_id}#{ANSWERS}", source_id).delete()


def _answers(project_id: str) -> list[tuple[set[str], str]]:
    """(terms, added at) of every Q&A pair of the project: one query, paged."""
    return [(set((item.terms or "").split()), item.answered_at or "")
            for item in QuestionStat.query(f"{project_id}#{ANSWERS}", page_size=500)]


def _still_open(group: _Group, answers: list[tuple[set[str], str]]) -> _Group | None:
    """The group as it stands after the Q&A pairs that answer it: gone, or only what was asked
    (and failed) since the latest of them was added."""
    answered = [at for answer_terms, at in answers
                if any(similarity(member, answer_terms) >= MERGE_SIMILARITY for member in group.members)]
    if not answered:
        return group
    since = max(answered)
    if group.last_asked <= since:
        return None
    group.keep_days({day for day, last in group.last_by_day.items() if last > since})
    return group


def report(project_id: str, days: list[str], limit: int) -> dict:
    groups = _merge(list(_day_gaps(project_id, days).values()))
    answers = _answers(project_id)
    open_groups = [g for g in (_still_open(g, answers) for g in groups) if g is not None and g.count > 0]
    open_groups.sort(key=lambda g: (g.count, g.last_asked), reverse=True)
    out = []
    for group in open_groups[:limit]:
        wordings = sorted(group.wordings, key=lambda text: (-group.wordings[text], text.casefold()))
        out.append({
            "question": suggested_question(wordings[0]),
            "count": group.count,
            "ratedDown": group.rated_down,
            "examples": wordings[:EXAMPLES],
            "lastAskedAt": clock.api_time(group.last_asked) if group.last_asked else None,
        })
    return {"gaps": out, "totalGroups": len(open_groups)}
