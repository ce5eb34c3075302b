"""Knowledge: crawling, extraction, chunking, embeddings, the chunk index and retrieval."""
