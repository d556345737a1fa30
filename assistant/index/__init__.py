"""Index: embeddings into chromadb, BM25 over fugashi tokens, built atomically."""
