"""From a visitor's question to the passages an answer may use, with a confidence and citations.

1. Hybrid search (BM25 + vectors) returns the project's best chunks.
2. Candidates are reranked by how close the question's meaning is to their page title (the
   title summarises what a page is about; for a Q&A pair it is the question itself; the words of the
   site's name, which every page's title shares, are left out), then pages are
   ranked by their best chunk, with a small bonus for a second matching chunk of the same page (only
   one: counting more made long pages, changelogs and API references, outrank the page that answers);
   a chunk about one release (a changelog entry) loses a little unless the question asks about releases.
3. Passages are the best chunks, the top page's first; citations name each page used, best first,
   with a short snippet and a ``#:~:text=`` link that scrolls to it.
4. Confidence in [0, 1] comes from retrieval alone: how similar the best chunk's meaning is (cosine,
   calibrated per embedding model) and how many of the question's words it contains. Below
   ``GROUNDED_AT`` nothing relevant is known, and the bot says so instead of inventing. Below
   ``FOCUSED_AT`` it also says so when a word of the question is in none of the candidates and
   carries its meaning (without it, the question's vector is less than ``CARRIES_MEANING`` alike):
   a question near the subject (``smtplib`` or gRPC asked of a web framework's docs) matches as
   well as a real one on its other words, but the thing it asks about is nowhere; a real question
   also has words the documents never use ("got", "happens", a paraphrase), which say little.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass, field, replace
from functools import lru_cache
from urllib.parse import quote, urlsplit

import math

from botplot.knowledge.embeddings import default_embedder
from botplot.knowledge.index import default_index
from botplot.knowledge.index.base import Hit, query_terms
from botplot.llm.context import Passage
from botplot.observability import dependency_failed

CANDIDATES = 30
MAX_PASSAGES = 5
GROUNDED_AT = 0.28
#: below this confidence, a question word found in none of the candidates means nothing is known
FOCUSED_AT = 0.65
#: cosine of a question's vector to its vector without its undocumented words under which they carry
#: its meaning (MiniLM, on the benchmark's dev sets: 0.71-0.79 for near-subject questions, 0.90-0.98
#: for real ones)
CARRIES_MEANING = 0.85
SAME_PAGE_BONUS = 0.15
TITLE_WEIGHT = 0.5
#: further pages are used only when they score at least this share of the best page
RELATIVE_CUTOFF = 0.6
#: taken off the score of a chunk about one release (a changelog entry, release notes) for a question
#: that asks about no release
RELEASE_PENALTY = 0.1
#: a version number ("2.0", "v3.4.1"); not one meaning "and later" ("(0.7.0+)": a feature's page
#: saying since when it exists), nor part of a longer one
_VERSION = re.compile(r"(?<![\w.])v?\d+\.\d+(?:\.\d+)*(?![\w+]|\.\d)")
#: a heading that is a release: it starts with a version ("2.28.0 (2022-06-09)", "Version 2.2.2",
#: "v2.1", "3.0.0rc1"); not a section number ("3.1. Using Python", Sphinx's numbered sections)
_RELEASE_HEADING = re.compile(r"(?:v|version\s+|release\s+)?\d+\.\d+(?:\.\d+)*"
                              r"(?:[-.]?(?:a|b|rc|dev|post|alpha|beta)\d*)?(?![\w+]|\.\d|\.\s)", re.I)
#: ... or one naming a version beside a word about releases ("Python-Markdown 3.4 Release Notes",
#: "Major changes in 5.0"); a version alone in a heading is often no release ("OAuth 2.0", "TLS 1.3")
_RELEASE_WORDS = re.compile(r"\b(?:releases?|changelog|change log|changes|history|what[’']s new|new in)\b", re.I)
#: the words of a question about releases: what changed, when, since which version
_ABOUT_RELEASES = re.compile(r"\b(?:versions?|release[sd]?|changelog|change log|changes|changed|history|upgrad\w*"
                            r"|deprecat\w*|removed|introduced|added|since|when did|new in|what[’']s new|breaking"
                            r"|migrat\w*|dropped)\b", re.I)
#: cosine similarity that means "unrelated" and "clearly about it", per embedding model
CALIBRATION = {"all-MiniLM-L6-v2": (0.15, 0.55), "text-embedding-3-small": (0.15, 0.50)}
DEFAULT_CALIBRATION = (0.15, 0.55)


@dataclass
class Retrieval:
    passages: list[Passage] = field(default_factory=list)  # empty when nothing relevant is known
    confidence: float = 0.0
    citations: list[dict] = field(default_factory=list)

    @property
    def grounded(self) -> bool:
        return bool(self.passages)


def _stem(term: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if len(term) > len(suffix) + 2 and term.endswith(suffix):
            return term[: -len(suffix)]
    return term


def coverage(question: str, hit: Hit) -> float:
    """Share of the question's words (stemmed, no stop words) found in the chunk or its headings."""
    terms = {_stem(t) for t in query_terms(question)}
    if not terms:
        return 0.0
    text = f"{hit.chunk.title} {hit.chunk.heading} {hit.chunk.content}".lower()
    found = {_stem(t) for t in re.findall(r"[\w][\w'.+-]*[\w+]|[\w]", text)}
    return len(terms & found) / len(terms)


def unmatched(question: str, hits: list[Hit]) -> list[str]:
    """The question's words (no stop words) that none of ``hits`` contains, in any inflection (a
    candidate's word starting with the question word's stem) or, for a code identifier
    (``Response.elapsed``), part by part. The candidates are the best matches of the question's
    words among all the project's chunks (BM25 finds a rare word wherever it is), so a word missing
    from them is, nearly always, missing from the documentation."""
    found = set()
    for hit in hits:
        found.update(re.findall(r"[\w][\w'.+-]*[\w+]|[\w]",
                                f"{hit.chunk.title} {hit.chunk.heading} {hit.chunk.content}".lower()))
    vocabulary = sorted(found)

    def known(word: str) -> bool:
        stem = _stem(word)
        at = bisect_left(vocabulary, stem)
        return at < len(vocabulary) and vocabulary[at].startswith(stem)

    missing = []
    for term in query_terms(question):
        # (mutmut's "XX'.-XX" for "'.-" is equivalent: the terms are lower-case, it strips no more)
        term = term.removesuffix("'s").strip("'.-")
        parts = [p for p in re.split(r"[./_:+-]+", term) if len(p) > 1]
        if term and not known(term) and not (len(parts) > 1 and all(map(known, parts))):
            missing.append(term)
    return missing


def confidence(question: str, best: Hit, model: str | None) -> float:
    cover = coverage(question, best)
    if best.similarity is None or model is None:
        return round(cover, 4)
    low, high = CALIBRATION.get(model, DEFAULT_CALIBRATION)
    meaning = min(1.0, max(0.0, (best.similarity - low) / (high - low)))
    return round(0.6 * meaning + 0.4 * cover, 4)


def page_title(title: str) -> str:
    """The page's own title, without a site name after " — " or " | "."""
    return re.split(r"\s+[—|]\s+", title)[0].strip()


def _unit(vector: list[float] | tuple[float, ...]) -> tuple[float, ...]:
    """``vector`` scaled to length 1, so that a dot product is a cosine; a zero vector stays as it is."""
    norm = math.sqrt(sum(x * x for x in vector))
    if not norm:
        return tuple(vector)
    return tuple(x / norm for x in vector)


def topic_title(title: str) -> str:
    """What a page's title says the page is about: its own title without the words of the site's
    name (the part after " — " or " | "). Every page shares those words, and questions name the
    product ("cookiecutter", "mypy"), so they made titles that are little more than the product's
    name ("cookiecutter package", an API reference; "Cookiecutter: Better Project Templates", the
    table of contents) close to any question and outrank the page that answers. A title made only
    of the site's words is kept whole."""
    own = page_title(title)
    parts = re.split(r"\s+[—|]\s+", title, maxsplit=1)
    if len(parts) < 2:
        return own
    site = {word.lower() for word in re.findall(r"[\w.]+", parts[1])}
    # (mutmut's "XX.,:XX" for ".,:" is equivalent: the word is lower-cased before it is stripped)
    kept = [word for word in own.split() if word.lower().strip(".,:") not in site]
    return " ".join(kept) if kept else own


@lru_cache(maxsize=4096)
def _title_vector(model: str, title: str) -> tuple[float, ...]:
    embedder = default_embedder()
    return _unit(embedder.embed([title])[0])


def rerank_by_title(hits: list[Hit], vector: list[float], model: str) -> list[Hit]:
    """Add ``TITLE_WEIGHT`` × cos(question, the page's topic title) to each candidate's score (cached
    per title)."""
    question = _unit(vector)
    rescored = []
    for hit in hits:
        title = topic_title(hit.chunk.title)
        if not title:
            rescored.append(hit)
            continue
        cosine = sum(a * b for a, b in zip(question, _title_vector(model, title)))
        rescored.append(replace(hit, score=hit.score + TITLE_WEIGHT * cosine))
    return sorted(rescored, key=lambda h: -h.score)


def asks_about_releases(question: str) -> bool:
    """Whether the question names a version or asks what changed, when, since which release."""
    return bool(_VERSION.search(question) or _ABOUT_RELEASES.search(question))


def about_a_release(hit: Hit) -> bool:
    """Whether a heading of the chunk's path (the page's own heading first) is a release: an entry
    of a changelog ("Changes > Version 2.0.1", "History > 1.7.1 (2019-04-21)"), a release-notes page
    ("Python-Markdown 3.4 Release Notes"). Not the page title: many sites put a versioned name in
    every title ("Built-in types - mypy 1.0.1 documentation", after a separator ``page_title`` does
    not know)."""
    return any(_RELEASE_HEADING.match(part) or _RELEASE_WORDS.search(part) and _VERSION.search(part)
               for part in (p.strip() for p in hit.chunk.heading.split(" > ")))


def demote_release_notes(question: str, hits: list[Hit]) -> list[Hit]:
    """Take ``RELEASE_PENALTY`` off the chunks about one release unless the question asks about
    releases. A changelog mentions every feature again, by the words a question about it uses
    ("multipart-encoded files", "follow redirects"), one entry a chunk, each scored on its own: it
    took the first place from the guide that explains the feature (the dev corpora's Requests,
    Werkzeug and Cookiecutter), while a question about a release is left as it was. ``question`` is
    the text searched: a short follow-up carries the previous question's words, so "and uploads?"
    after "what changed in 2.0?" still asks about a release."""
    if asks_about_releases(question):
        return hits
    demoted = [replace(hit, score=hit.score - RELEASE_PENALTY) if about_a_release(hit) else hit for hit in hits]
    return sorted(demoted, key=lambda h: -h.score)


def rank_pages(hits: list[Hit]) -> list[tuple[float, list[Hit]]]:
    """(score, hits) per page (a Q&A pair is its own page), best page first."""
    pages: dict[str, list[Hit]] = {}
    for hit in hits:
        pages.setdefault(hit.chunk.url or f"source:{hit.chunk.source_id}", []).append(hit)
    scored = []
    for group in pages.values():
        scores = sorted((h.score for h in group), reverse=True)
        scored.append((scores[0] + SAME_PAGE_BONUS * sum(scores[1:2]), group))
    return sorted(scored, key=lambda entry: -entry[0])


def ranked_pages(project_id: str, query: str, vector: list[float] | None,
                 model: str | None) -> list[tuple[float, list[Hit]]]:
    """The project's pages for ``query``, best first, each with its matching chunks (best first)."""
    hits = default_index().search(project_id, query, vector, model, k=CANDIDATES)
    if hits and vector is not None:
        try:
            hits = rerank_by_title(hits, vector, model)
        except Exception:
            dependency_failed("RetrievalFailures", "title reranking skipped: embedding the titles failed")
    return rank_pages(demote_release_notes(query, hits))


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+|\n+", text) if len(s.strip()) > 3]


def snippet(question: str, content: str, limit: int = 200) -> str:
    """The passage's sentence that shares most words with the question, shortened to ``limit``."""
    terms = {_stem(t) for t in query_terms(question)}
    sentences = _sentences(content) or [content]
    best = max(sentences, key=lambda s: len(terms & {_stem(w) for w in query_terms(s)}))
    return best if len(best) <= limit else best[: limit - 1].rsplit(" ", 1)[0] + "…"


def text_fragment_url(url: str, snippet_text: str) -> str:
    """``url#:~:text=start,end`` so browsers scroll to and highlight the passage (HTML pages only)."""
    if urlsplit(url).path.lower().endswith((".pdf", ".txt")):
        return url
    words = snippet_text.rstrip("…").split()
    if len(words) < 2:
        return url
    encode = lambda part: quote(  # noqa: E731
        " ".join(part),
        safe="",  # pragma: no mutate (safe="XXXX" is the same: quote never escapes a letter)
    )
    fragment = encode(words) if len(words) <= 8 else f"{encode(words[:4])},{encode(words[-4:])}"
    return f"{url.partition('#')[0]}#:~:text={fragment}"


def choose(pages: list[tuple[float, list[Hit]]]) -> list[tuple[float, Hit]]:
    """(page score, hit) of the passages to quote: the best page's two best chunks, then the best chunk
    of each further page scoring at least ``RELATIVE_CUTOFF`` of the best page's score (a page at
    exactly that share is used), ``MAX_PASSAGES`` in all."""
    chosen = [(pages[0][0], h) for h in pages[0][1][:2]]
    for page_score, group in pages[1:]:
        if len(chosen) >= MAX_PASSAGES or page_score < RELATIVE_CUTOFF * pages[0][0]:
            break
        chosen.append((page_score, group[0]))
    return chosen


def _passage(hit: Hit) -> Passage:
    c = hit.chunk
    return Passage(chunk_id=c.chunk_id, source_id=c.source_id, url=c.url, title=c.title, heading=c.heading,
                   content=c.content, score=round(hit.score, 4), is_qa=c.is_qa)


def _off_subject(question: str, query: str, vector: list[float] | None,
                 pages: list[tuple[float, list[Hit]]]) -> bool:
    """Whether the question asks about something none of the candidates mention: some of its words
    are in none of them and, when the question could be embedded, those words carry its meaning.
    Without a vector (or if embedding fails), an undocumented word is enough."""
    missing = unmatched(question, [h for _, group in pages for h in group])
    if not missing or vector is None:
        return bool(missing)
    without = question
    for word in missing:  # the whole word only ("road" leaves "abroad" alone)
        without = re.sub(rf"(?<!\w){re.escape(word)}(?!\w)", " ", without, flags=re.I)
    try:
        # the question's own vector is ``vector`` unless a follow-up's context was added to the query
        # (embedding it again when it is the query gives the same vector: mutmut's "and False" / "or
        # True" here are equivalent)
        texts = [without] if query == question else [question, without]
        *asked, rest = default_embedder().embed(texts)
    except Exception:
        dependency_failed("RetrievalFailures", "embedding the question without its undocumented words failed")
        return True
    alike = sum(a * b for a, b in zip(_unit(asked[0] if asked else vector), _unit(rest)))
    return round(alike, 3) < CARRIES_MEANING  # rounded: the same question declines alike in every process


def retrieve(project_id: str, question: str, context: str | None = None) -> Retrieval:
    """The passages for ``question``; ``context`` (the previous question) helps short follow-ups."""
    query = question if context is None or len(query_terms(question)) > 4 else f"{context} {question}"
    embedder = default_embedder()
    vector, model = None, None
    if embedder is not None:
        try:
            vector, model = embedder.embed([query])[0], embedder.model
        except Exception:  # the embedding service failing must not stop the answer: BM25 still works
            dependency_failed("RetrievalFailures", "query embedding failed; searching with BM25 only")
    pages = ranked_pages(project_id, query, vector, model)
    if not pages:
        return Retrieval()
    best = pages[0][1][0]
    score = confidence(question, best, model)
    # (mutmut's None for ``query`` here is equivalent: the question is then embedded again, to the same vector)
    if score < GROUNDED_AT or score < FOCUSED_AT and _off_subject(question, query, vector, pages):
        return Retrieval(confidence=score)
    chosen = choose(pages)
    citations, seen = [], set()
    for page_score, hit in chosen:
        key = hit.chunk.url or hit.chunk.source_id
        if key in seen:
            continue
        seen.add(key)
        text = snippet(question, hit.chunk.content)
        citations.append({
            "sourceId": hit.chunk.source_id,
            "url": text_fragment_url(hit.chunk.url, text) if hit.chunk.url else None,
            "title": hit.chunk.title,
            "snippet": text,
            "score": round(min(1.0, page_score), 4),
        })
    return Retrieval(passages=[_passage(h) for _, h in chosen], confidence=score, citations=citations)
