"""Evaluation: datasets, the per-mode development benchmark, and the harness behind ``assistant eval``."""

from .dataset import Gold, Item, gold_slides, load_dataset
from .dev import ModeResult, evaluate

__all__ = ["Gold", "Item", "ModeResult", "evaluate", "gold_slides", "load_dataset"]
