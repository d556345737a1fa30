"""Errors users see. Messages are Japanese, short, and say what to do next."""


class AssistantError(Exception):
    """Base for every error shown to a user (never a stack trace)."""

    exit_code = 1


class InputError(AssistantError):
    """The user's input cannot be used as given."""

    exit_code = 2


class DataError(AssistantError):
    """A data file (manifest, registry, rules, eval set) is malformed."""


class IndexError_(AssistantError):
    """The index cannot be built or opened."""
