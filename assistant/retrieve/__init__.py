"""Retrieval: BM25, dense and hybrid (reciprocal rank fusion) over passages, ranked as slides."""
