"""Ingest: manifest, segmentation into slides, program tagging."""
