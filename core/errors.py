"""Errors a user can cause and fix; the entry points print them as one line."""


class CascadeError(Exception):
    """A problem in the user's config, data or arguments, with a message naming it."""


class ConfigError(CascadeError):
    """The YAML config is malformed or names something that does not exist."""


class InputDataError(CascadeError):
    """An input dataset is missing, empty, or holds values the config forbids."""
