"""The support-measure assistant: cited answers from METI regional-bureau slide decks."""

__version__ = "0.1.0"
