"""The chunk index on OpenSearch: BM25 plus k-NN (HNSW), hybrid through a search pipeline.

- One index per embedding dimension (``<prefix>-<dims>``): a chunk is written to the index of its
  vector's length (MiniLM's 384, OpenAI's 1536 or 3072 all fit), documents keyed by chunk id so that
  re-indexing overwrites instead of duplicating; a chunk re-embedded with another dimension leaves
  its old index. BM25, listing and deletes read the whole family (``<prefix>-*``); k-NN and the
  hybrid query read the index of the query vector's dimension.
- The k-NN engine is a setting (``BOTPLOT_KNN_ENGINE``): ``faiss`` in AWS, ``lucene`` on the local
  node (the Maven build of the k-NN plugin carries no faiss JNI library). Both filter efficiently.
  So is the vector encoding (``BOTPLOT_KNN_ENCODING``, the template's ``VectorEncoding``): fp16 in
  AWS halves the k-NN memory a chunk needs (see the README's capacity model).
- The project filter sits inside the k-NN clause and in the BM25 clause's ``filter``, so neither
  part can return another project's chunks.
- Hybrid scoring uses a ``normalization-processor`` pipeline (min-max, arithmetic mean with
  ``HYBRID_WEIGHTS``); ``base.combine`` computes the same scores for the embedded index (a chunk
  missing from one list scores 0 there, the lowest one in a list 0.001).
- SigV4 signing: service ``es`` for a managed domain (the template's default) or ``aoss``. The
  template sets ``OPENSEARCH_SIGV4=true``, so an existing domain behind a custom host name is signed
  too; unset, only ``*.amazonaws.com`` hosts are (a local node takes no signature).
- Only writers create: the pipeline and the index are created by the first ``upsert`` of a
  process that writes (the crawl worker and the knowledge function, whose roles may ``PUT``).
  Reads and deletes never create anything: a missing index holds no chunks, so they find none.
  The chat function's role may only read, and a read path that tried to create would be refused
  on every request.
- Text is tokenized as the embedded index's FTS5 ``unicode61`` tokenizer does (``ANALYSIS``: split
  at every character that is not a letter or digit, lower-cased, accents folded, Porter stems), so
  a question in words ("max retries") finds ``max_retries`` on both backends. An analyzer cannot
  change in place, so each index is versioned: chunks live in ``<prefix>_v<ANALYSIS_VERSION>-<dims>``
  behind the alias ``<prefix>-<dims>`` that every read and write names. A writer finding that name
  on an index of an older analysis (before versions: the concrete index itself) copies it into the
  current version and swaps the alias in one step (see ``_migrate``).
"""

from __future__ import annotations

import time

from opensearchpy.exceptions import NotFoundError, RequestError, TransportError

from botplot.config import aws_region
from botplot.knowledge.index.base import (CANDIDATES, FIELD_WEIGHTS, HYBRID_WEIGHTS, ChunkPosition, ChunkRecord, Hit,
                                          combine, identifier_terms, identifiers_field,
                                          query_terms)

PIPELINE = "botplot-hybrid"
DEFAULT_DIMENSIONS = 1536
ENGINES = ("faiss", "lucene")
# How vectors are stored, per engine: fp16 is faiss's 16-bit scalar quantizer (half the memory),
# int7 Lucene's built-in scalar quantization (a quarter); queries stay float32 either way.
ENCODINGS = {"faiss": {"fp32": None, "fp16": {"name": "sq", "parameters": {"type": "fp16"}}},
             "lucene": {"fp32": None, "int7": {"name": "sq", "parameters": {"confidence_interval": 0}}}}
# OpenSearch refuses from + size beyond index.max_result_window (10,000 by default)
RESULT_WINDOW = 10_000
#: bumped whenever ``ANALYSIS`` or a text field's mapping changes: existing indexes are then migrated
ANALYSIS_VERSION = 2
ANALYSIS = {
    "tokenizer": {"botplot_words": {"type": "pattern", "pattern": "[^\\p{L}\\p{N}]+"}},
    "analyzer": {"botplot_text": {"type": "custom", "tokenizer": "botplot_words",
                                  "filter": ["lowercase", "asciifolding", "porter_stem"]}},
}
TEXT = {"type": "text", "analyzer": "botplot_text"}
RETRY_SECONDS = 0.2
#: how long a migration's copy may take before the writer gives up (the next writer resumes it)
MIGRATION_SECONDS = 600
LIST_SORT = [{"url": {"order": "asc", "missing": "_first"}}, {"ordinal": "asc"}, {"chunk_id": "asc"}]


class QueryFailed(RuntimeError):
    """A part of a search failed inside a 200 answer (OpenSearch reports ``msearch`` errors per part)."""


def similarity(score: float) -> float:
    """The inner product behind a k-NN ``innerproduct`` score: OpenSearch maps ``ip >= 0`` to
    ``1 + ip`` and ``ip < 0`` to ``1 / (1 - ip)`` so that scores stay positive (both engines)."""
    return score - 1.0 if score >= 1.0 else 1.0 - 1.0 / score


def _client(url: str, service: str, sign: bool | None = None):
    from opensearchpy import AWSV4SignerAuth, OpenSearch, RequestsHttpConnection

    auth = None
    if sign or (sign is None and ".amazonaws.com" in url):
        import boto3

        auth = AWSV4SignerAuth(boto3.Session().get_credentials(), aws_region(), service)
    return OpenSearch(hosts=[url], http_auth=auth, use_ssl=url.startswith("https"), verify_certs=True,
                      connection_class=RequestsHttpConnection, timeout=10, max_retries=2, retry_on_timeout=True)


def _error_type(response: dict) -> str | None:
    error = response["error"]
    return error.get("type") if isinstance(error, dict) else None


def _being_created(error) -> bool:
    """The answer to a read that reached an index whose shard has not started yet (the moments
    while a writer creates it), or one deleted under it (the old index a migration replaces by an
    alias): "all shards failed" with no shard having failed. Such a read is tried once more
    (``RETRY_SECONDS`` later): by then a migrated name leads to the new index; an index still being
    created holds nothing, so the read finds nothing rather than failing."""
    return (isinstance(error, dict) and error.get("type") == "search_phase_execution_exception"
            and not error.get("failed_shards") and not error.get("root_cause"))


def _doc(chunk: ChunkRecord) -> dict:
    doc = {"chunk_id": chunk.chunk_id, "project_id": chunk.project_id, "source_id": chunk.source_id,
           "url": chunk.url, "title": chunk.title, "heading": chunk.heading, "content": chunk.content,
           "identifiers": identifiers_field(chunk),
           "token_count": chunk.token_count, "ordinal": chunk.ordinal, "is_qa": chunk.is_qa,
           "embedding_model": chunk.embedding_model}
    if chunk.embedding is not None:
        doc["embedding"] = chunk.embedding
    return doc


def _record(source: dict) -> ChunkRecord:
    return ChunkRecord(chunk_id=source["chunk_id"], project_id=source["project_id"], source_id=source["source_id"],
                       url=source.get("url"), title=source.get("title", ""), heading=source.get("heading", ""),
                       content=source["content"], token_count=source.get("token_count", 0),
                       ordinal=source.get("ordinal", 0), is_qa=source.get("is_qa", False))


class OpenSearchIndex:
    def __init__(self, url: str | None, service: str = "es", prefix: str = "botplot-chunks",
                 dimensions: int = DEFAULT_DIMENSIONS, engine: str = "faiss", encoding: str = "fp32",
                 sign: bool | None = None):
        """``dimensions`` only names the index of chunks that carry no vector (no embedder)."""
        if not url:
            raise RuntimeError("OPENSEARCH_URL is not set")
        if engine not in ENGINES:
            raise ValueError(f"k-NN engine must be one of {ENGINES}, not {engine!r}")
        if encoding not in ENCODINGS[engine]:
            raise ValueError(f"the {engine} engine stores vectors as {', '.join(ENCODINGS[engine])}, not {encoding!r}")
        self.encoding = encoding
        self.client = _client(url, service, sign)
        self.prefix = prefix
        self.family = f"{prefix}-*"  # the aliases (and indexes from before versions), never a copy in progress
        self.dimensions = dimensions
        self.engine = engine
        self._ready: set[str] = set()

    def index_for(self, dimensions: int) -> str:
        """The name reads and writes use: an alias of the current version's index."""
        return f"{self.prefix}-{dimensions}"

    def stored_index(self, dimensions: int) -> str:
        """The concrete index of the current analysis version behind :meth:`index_for`."""
        return f"{self.prefix}_v{ANALYSIS_VERSION}-{dimensions}"

    def _ensure(self, dimensions: int) -> str:
        """Before the first write to an index: create the hybrid pipeline, then the index using it
        by default, or migrate an index of an older analysis. One ``GET`` per index and process is
        the usual cost."""
        index, stored = self.index_for(dimensions), self.stored_index(dimensions)
        if index in self._ready:
            return index
        try:
            current = next(iter(self.client.indices.get(index=index)))
        except NotFoundError:
            current = None
        if current == stored:
            self._ready.add(index)
            return index
        self.client.transport.perform_request("PUT", f"/_search/pipeline/{PIPELINE}", body={
            "description": "BotPlot hybrid: min-max normalised BM25 and k-NN, weighted mean",
            "phase_results_processors": [{"normalization-processor": {
                "normalization": {"technique": "min_max"},
                "combination": {"technique": "arithmetic_mean", "parameters": {"weights": list(HYBRID_WEIGHTS)}},
            }}],
        })
        self._create(stored, dimensions, alias=None if current else index)
        if current:
            self._migrate(current, stored, index)
        self._ready.add(index)
        return index

    def _create(self, stored: str, dimensions: int, alias: str | None) -> None:
        body = {
            "settings": {"index": {"knn": True, "number_of_shards": 1, "auto_expand_replicas": "0-1",
                                   "search.default_pipeline": PIPELINE}, "analysis": ANALYSIS},
            "mappings": {"properties": {
                "chunk_id": {"type": "keyword"}, "project_id": {"type": "keyword"},
                "source_id": {"type": "keyword"}, "url": {"type": "keyword"},
                "title": TEXT, "heading": TEXT, "content": TEXT, "identifiers": TEXT,
                "token_count": {"type": "integer"}, "ordinal": {"type": "integer"},
                "is_qa": {"type": "boolean"}, "embedding_model": {"type": "keyword"},
                "embedding": {"type": "knn_vector", "dimension": dimensions, "method": {
                    "name": "hnsw", "engine": self.engine, "space_type": "innerproduct",
                    "parameters": self._hnsw_parameters()}},
            }},
        }
        if alias:
            body["aliases"] = {alias: {}}
        try:
            self.client.indices.create(index=stored, body=body)
        except RequestError as error:  # another writer created it meanwhile
            if error.error != "resource_already_exists_exception":
                raise

    def _migrate(self, old: str, stored: str, alias: str) -> None:
        """Copy the older index ``old`` into ``stored`` and move the name ``alias`` to it.

        Reads go on finding every chunk in ``old`` until one atomic alias action deletes it and
        points the name at the copy. Writes to ``old`` are blocked meanwhile, so none can be lost
        after the copy started: a writer of another process fails (its message is retried) rather
        than writing to an index about to go. A writer dying midway leaves ``old`` blocked and
        whole; the next writer's copy fills in what is missing (``op_type: create``) and swaps.
        Of two writers migrating at once, the second finds the name moved, or fails once if ``old``
        went in the middle of its copy (then its message is retried and finds the migration done)."""
        try:
            self._copy(old, stored)
            self.client.indices.update_aliases(body={"actions": [
                {"remove_index": {"index": old}}, {"add": {"index": stored, "alias": alias}}]})
        except NotFoundError:  # another writer swapped first: ``old`` is gone
            if next(iter(self.client.indices.get(index=alias))) != stored:
                raise

    def _copy(self, old: str, stored: str) -> None:
        self.client.indices.put_settings(index=old, body={"index": {"blocks": {"write": True}}})
        task = self.client.reindex(body={"source": {"index": old}, "conflicts": "proceed",
                                         "dest": {"index": stored, "op_type": "create"}},
                                   params={"wait_for_completion": "false", "refresh": "true"})["task"]
        for _ in range(MIGRATION_SECONDS * 4):
            status = self.client.tasks.get(task_id=task)
            if status.get("completed"):
                break
            time.sleep(0.25)
        else:
            raise TimeoutError(f"copying {old} into {stored} took over {MIGRATION_SECONDS} s")
        failures = status.get("error") or status.get("response", {}).get("failures")
        if failures:
            raise RuntimeError(f"copying {old} into {stored} failed: {failures}")

    def _hnsw_parameters(self) -> dict:
        parameters = {"ef_construction": 128, "m": 16}
        encoder = ENCODINGS[self.engine][self.encoding]
        return {**parameters, "encoder": encoder} if encoder else parameters

    def upsert(self, chunks: list[ChunkRecord]) -> None:
        if not chunks:
            return
        from opensearchpy.helpers import bulk

        by_dimensions: dict[int, list[ChunkRecord]] = {}
        for c in chunks:
            by_dimensions.setdefault(len(c.embedding) if c.embedding else self.dimensions, []).append(c)
        for dimensions, group in by_dimensions.items():
            index = self._ensure(dimensions)
            bulk(self.client, ({"_index": index, "_id": c.chunk_id, "_source": _doc(c)} for c in group),
                 refresh="wait_for")
            # the same chunk written earlier with another dimension must not be found twice (an
            # exclusion matches concrete indexes, not an alias: both names are excluded)
            others = f"{self.family},-{index},-{self.stored_index(dimensions)}"
            self.client.delete_by_query(index=others, refresh=True, body={
                "query": {"ids": {"values": [c.chunk_id for c in group]}}},
                params={"allow_no_indices": "true", "ignore_unavailable": "true"})

    def delete(self, project_id: str, chunk_ids: list[str]) -> None:
        if not chunk_ids:
            return
        self._delete_where(body={"query": {"bool": {"filter": [
            {"term": {"project_id": project_id}}, {"terms": {"chunk_id": chunk_ids}}]}}})

    def delete_source(self, project_id: str, source_id: str) -> None:
        self._delete_where(body={"query": {"bool": {"filter": [
            {"term": {"project_id": project_id}}, {"term": {"source_id": source_id}}]}}})

    def _delete_where(self, body: dict) -> None:
        try:
            self.client.delete_by_query(index=self.family, refresh=True, body=body,
                                        params={"allow_no_indices": "true"})
        except NotFoundError:  # no index yet: nothing was ever indexed, so nothing to delete
            pass

    def list_source(self, project_id: str, source_id: str, limit: int, offset: int = 0,
                    after: ChunkPosition | None = None) -> list[ChunkRecord]:
        """A page of a source's chunks in (url, ordinal, chunk_id) order. After a position, one
        ``search_after`` query of ``limit`` hits whatever the depth (the sort is total: chunk ids are
        unique). Pages beyond OpenSearch's result window (from + size > 10,000) by offset are reached
        with ``search_after`` too: the chunks before the page are walked through by their sort keys only."""
        if after is not None and offset:
            raise ValueError("a page starts after an offset or after a position, not both")
        query = {"bool": {"filter": [{"term": {"project_id": project_id}}, {"term": {"source_id": source_id}}]}}
        if after is not None:
            hits = self._list_page(query, limit, [after.url, after.ordinal, after.chunk_id], with_source=True)
            return [_record(h["_source"]) for h in hits]
        sort_after = None
        while offset + limit > RESULT_WINDOW:
            step = min(offset, RESULT_WINDOW)
            page = self._list_page(query, step, sort_after, with_source=False)
            if len(page) < step:
                return []
            sort_after, offset = page[-1]["sort"], offset - step
        hits = self._list_page(query, limit, sort_after, with_source=True, start=offset)
        return [_record(h["_source"]) for h in hits]

    def _list_page(self, query: dict, size: int, after: list | None, with_source: bool, start: int = 0) -> list[dict]:
        body = {"size": size, "sort": LIST_SORT, "query": query, "track_total_hits": False,
                "_source": {"excludes": ["embedding", "identifiers"]} if with_source else False}
        if after is None:
            body["from"] = start
        else:
            body["search_after"] = after
            if start:  # search_after takes no offset: skip within the page
                body["size"] = start + size
        for attempt in (1, 2):
            try:
                result = self.client.search(index=self.family, body=body, params={"allow_no_indices": "true"})
                break
            except TransportError as error:
                if not (error.status_code == 503 and isinstance(error.info, dict)
                        and _being_created(error.info.get("error"))):
                    raise
                if attempt == 2:
                    return []
                time.sleep(RETRY_SECONDS)
        hits = result["hits"]["hits"]
        return hits[start:] if after is not None else hits

    def _bm25_clause(self, project_id: str, text: str) -> dict:
        fields = [f"{name}^{weight:g}" for name, weight in FIELD_WEIGHTS.items()]
        # the words the embedded index searches: the question's without stop words, and its
        # identifiers as the identifiers field holds them (``base.identifier_terms``)
        query = " ".join(dict.fromkeys(query_terms(text) + identifier_terms(text)))
        return {"bool": {"must": [{"multi_match": {"query": query, "fields": fields}}],
                         "filter": [{"term": {"project_id": project_id}}]}}

    def _knn_clause(self, project_id: str, vector: list[float], model: str) -> dict:
        return {"knn": {"embedding": {"vector": vector, "k": CANDIDATES, "filter": {"bool": {"filter": [
            {"term": {"project_id": project_id}}, {"term": {"embedding_model": model}}]}}}}}

    def search(self, project_id: str, text: str, vector: list[float] | None, model: str | None,
               k: int = 10, mode: str = "hybrid") -> list[Hit]:
        """BM25, k-NN and (hybrid mode) the fused query in one ``msearch`` round trip.

        A missing index means nothing was indexed there yet (no hits from that part); any other
        failed part raises ``QueryFailed``, which the caller counts, rather than passing as no hits.
        """
        use_vector = vector is not None and model is not None and mode != "bm25"
        vector_index = self.index_for(len(vector)) if use_vector else None
        queries: dict[str, tuple[str, dict, int]] = {}
        if mode != "vector":
            queries["bm25"] = (self.family, self._bm25_clause(project_id, text), CANDIDATES)
        if use_vector:
            queries["knn"] = (vector_index, self._knn_clause(project_id, vector, model), CANDIDATES)
        if mode == "hybrid" and use_vector:
            queries["fused"] = (vector_index, {"hybrid": {"queries": [queries["bm25"][1], queries["knn"][1]]}}, k)
        if not queries:
            return []
        body = []
        for index, query, size in queries.values():
            body += [{"index": index, "allow_no_indices": True},
                     {"size": size, "query": query, "_source": {"excludes": ["embedding", "identifiers"]}}]
        for attempt in (1, 2):
            responses = self.client.msearch(body=body)["responses"]
            if attempt == 2 or not any(_being_created(r.get("error")) for r in responses):
                break
            time.sleep(RETRY_SECONDS)
        results: dict[str, dict[str, tuple[float, dict]]] = {}
        for name, response in zip(queries, responses):
            if "error" in response:
                if _error_type(response) == "index_not_found_exception" or _being_created(response["error"]):
                    continue  # nothing indexed with this dimension yet
                raise QueryFailed(f"OpenSearch {name} query failed: {response['error']}")
            hits = response["hits"]["hits"]
            results[name] = {h["_id"]: (h["_score"], h["_source"]) for h in hits
                             if h["_source"]["project_id"] == project_id}
        bm25, knn = results.get("bm25", {}), results.get("knn", {})
        if "fused" in results:
            scores = {cid: score for cid, (score, _) in results["fused"].items()}
        else:
            scores = combine({c: s for c, (s, _) in bm25.items()}, {c: s for c, (s, _) in knn.items()}, mode)
        sources = {cid: src for part in results.values() for cid, (_, src) in part.items()}
        best = sorted(scores, key=lambda cid: (-scores[cid], cid))[:k]
        return [Hit(_record(sources[cid]), scores[cid], bm25.get(cid, (0.0, None))[0],
                    similarity(knn[cid][0]) if cid in knn else None) for cid in best if cid in sources]
