"""The chunk index on OpenSearch: BM25 plus k-NN (faiss HNSW), hybrid through a search pipeline.

- One index per embedding dimension (``botplot-chunks-<dims>``), documents keyed by chunk id so
  that re-indexing overwrites instead of duplicating.
- The project filter sits inside the k-NN clause (faiss efficient filtering) and in the BM25
  clause's ``filter``, so neither part can return another project's chunks.
- Hybrid scoring uses a ``normalization-processor`` pipeline (min-max, arithmetic mean with
  ``HYBRID_WEIGHTS``), the same scoring the embedded index computes.
- SigV4 signing: service ``es`` for a managed domain (the template's default) or ``aoss``.
- Only writers create: the pipeline and the index are created by the first ``upsert`` of a
  process that writes (the crawl worker and the knowledge function, whose roles may ``PUT``).
  Reads and deletes never create anything: a missing index holds no chunks, so they find none.
  The chat function's role may only read, and a read path that tried to create would be refused
  on every request.
"""

from __future__ import annotations

from opensearchpy.exceptions import NotFoundError, RequestError

from botplot.config import aws_region
from botplot.knowledge.index.base import CANDIDATES, FIELD_WEIGHTS, HYBRID_WEIGHTS, ChunkRecord, Hit, combine

PIPELINE = "botplot-hybrid"
DEFAULT_DIMENSIONS = 1536


def _client(url: str, service: str):
    from opensearchpy import AWSV4SignerAuth, OpenSearch, RequestsHttpConnection

    auth = None
    if ".amazonaws.com" in url:
        import boto3

        auth = AWSV4SignerAuth(boto3.Session().get_credentials(), aws_region(), service)
    return OpenSearch(hosts=[url], http_auth=auth, use_ssl=url.startswith("https"), verify_certs=True,
                      connection_class=RequestsHttpConnection, timeout=10, max_retries=2, retry_on_timeout=True)


def _error_type(response: dict) -> str | None:
    error = response["error"]
    return error.get("type") if isinstance(error, dict) else None


def _doc(chunk: ChunkRecord) -> dict:
    doc = {"chunk_id": chunk.chunk_id, "project_id": chunk.project_id, "source_id": chunk.source_id,
           "url": chunk.url, "title": chunk.title, "heading": chunk.heading, "content": chunk.content,
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
                 dimensions: int = DEFAULT_DIMENSIONS):
        if not url:
            raise RuntimeError("OPENSEARCH_URL is not set")
        self.client = _client(url, service)
        self.index = f"{prefix}-{dimensions}"
        self.dimensions = dimensions
        self._ready = False

    def _ensure(self) -> None:
        """Before the first write: create the hybrid pipeline, then the index using it by default.

        An existing index was created with its pipeline, so one ``HEAD`` per process is the usual cost.
        """
        if self._ready:
            return
        if self.client.indices.exists(index=self.index):
            self._ready = True
            return
        self.client.transport.perform_request("PUT", f"/_search/pipeline/{PIPELINE}", body={
            "description": "BotPlot hybrid: min-max normalised BM25 and k-NN, weighted mean",
            "phase_results_processors": [{"normalization-processor": {
                "normalization": {"technique": "min_max"},
                "combination": {"technique": "arithmetic_mean", "parameters": {"weights": list(HYBRID_WEIGHTS)}},
            }}],
        })
        text = {"type": "text", "analyzer": "english"}
        try:
            self.client.indices.create(index=self.index, body={
                "settings": {"index": {"knn": True, "number_of_shards": 1, "search.default_pipeline": PIPELINE}},
                "mappings": {"properties": {
                    "chunk_id": {"type": "keyword"}, "project_id": {"type": "keyword"},
                    "source_id": {"type": "keyword"}, "url": {"type": "keyword"},
                    "title": text, "heading": text, "content": text,
                    "token_count": {"type": "integer"}, "ordinal": {"type": "integer"},
                    "is_qa": {"type": "boolean"}, "embedding_model": {"type": "keyword"},
                    "embedding": {"type": "knn_vector", "dimension": self.dimensions, "method": {
                        "name": "hnsw", "engine": "faiss", "space_type": "innerproduct",
                        "parameters": {"ef_construction": 128, "m": 16}}},
                }},
            })
        except RequestError as error:  # another writer created it meanwhile
            if error.error != "resource_already_exists_exception":
                raise
        self._ready = True

    def upsert(self, chunks: list[ChunkRecord]) -> None:
        if not chunks:
            return
        self._ensure()
        from opensearchpy.helpers import bulk

        bulk(self.client, ({"_index": self.index, "_id": c.chunk_id, "_source": _doc(c)} for c in chunks),
             refresh="wait_for")

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
            self.client.delete_by_query(index=self.index, refresh=True, body=body)
        except NotFoundError:  # no index yet: nothing was ever indexed, so nothing to delete
            pass

    def list_source(self, project_id: str, source_id: str, limit: int, offset: int) -> list[ChunkRecord]:
        try:
            result = self.client.search(index=self.index, body={
            "from": offset, "size": limit, "_source": {"excludes": ["embedding"]},
            "sort": [{"url": "asc"}, {"ordinal": "asc"}],
            "query": {"bool": {"filter": [{"term": {"project_id": project_id}}, {"term": {"source_id": source_id}}]}},
            })
        except NotFoundError:  # no index yet: no chunks
            return []
        return [_record(h["_source"]) for h in result["hits"]["hits"]]

    def _bm25_clause(self, project_id: str, text: str) -> dict:
        fields = [f"{name}^{weight:g}" for name, weight in FIELD_WEIGHTS.items()]
        return {"bool": {"must": [{"multi_match": {"query": text, "fields": fields}}],
                         "filter": [{"term": {"project_id": project_id}}]}}

    def _knn_clause(self, project_id: str, vector: list[float], model: str) -> dict:
        return {"knn": {"embedding": {"vector": vector, "k": CANDIDATES, "filter": {"bool": {"filter": [
            {"term": {"project_id": project_id}}, {"term": {"embedding_model": model}}]}}}}}

    def search(self, project_id: str, text: str, vector: list[float] | None, model: str | None,
               k: int = 10, mode: str = "hybrid") -> list[Hit]:
        """BM25, k-NN and (hybrid mode) the fused query in one ``msearch`` round trip."""
        use_vector = vector is not None and model is not None and mode != "bm25"
        queries: dict[str, tuple[dict, int]] = {}
        if mode != "vector":
            queries["bm25"] = (self._bm25_clause(project_id, text), CANDIDATES)
        if use_vector:
            queries["knn"] = (self._knn_clause(project_id, vector, model), CANDIDATES)
        if mode == "hybrid" and use_vector:
            queries["fused"] = ({"hybrid": {"queries": [queries["bm25"][0], queries["knn"][0]]}}, k)
        if not queries:
            return []
        body = []
        for query, size in queries.values():
            body += [{"index": self.index}, {"size": size, "query": query, "_source": {"excludes": ["embedding"]}}]
        responses = self.client.msearch(body=body)["responses"]
        results: dict[str, dict[str, tuple[float, dict]]] = {}
        for name, response in zip(queries, responses):
            if "error" in response:
                if _error_type(response) == "index_not_found_exception":
                    return []  # nothing indexed yet
                raise RuntimeError(f"OpenSearch {name} query failed: {response['error']}")
            hits = response["hits"]["hits"]
            results[name] = {h["_id"]: (h["_score"], h["_source"]) for h in hits
                             if h["_source"]["project_id"] == project_id}
        bm25, knn = results.get("bm25", {}), results.get("knn", {})
        if "fused" in results:
            scores = {cid: score for cid, (score, _) in results["fused"].items()}
        else:
            scores = combine({c: s for c, (s, _) in bm25.items()}, {c: s for c, (s, _) in knn.items()}, mode)
        sources = {cid: src for part in results.values() for cid, (_, src) in part.items()}
        best = sorted(scores, key=lambda cid: -scores[cid])[:k]
        # faiss inner-product scores are 1 + cos for unit vectors with cos >= 0: report the cosine
        return [Hit(_record(sources[cid]), scores[cid], bm25.get(cid, (0.0, None))[0],
                    (knn[cid][0] - 1.0) if cid in knn else None) for cid in best if cid in sources]
