"""The user's mistakes, as one family of exceptions.

A :class:`UserError` (bad data, config, file or flag) is the user's to fix: the command line
prints it as one line naming the file or key and exits with code 2. Any other exception
is a bug and shows its traceback. The subclasses are also ``ValueError`` (``DecodeError``
a ``RuntimeError``), so that Python callers may catch them as before.
"""

from __future__ import annotations

__all__ = ["UserError", "ConfigError", "CheckpointError", "DataError", "StorageError"]


class UserError(Exception):
    """A mistake in what the user gave: reported as one line, exit code 2."""


class ConfigError(UserError, ValueError):
    """A config key or command-line flag is unknown, missing, of the wrong type or value."""


class CheckpointError(UserError, ValueError):
    """A checkpoint or weights file is unreadable, unsafe, or does not fit the model."""


class DataError(UserError, ValueError):
    """A data set's files (annotations, labels, manifest) are missing pieces or inconsistent."""


class StorageError(UserError, OSError):
    """A file could not be written for want of space (the file before it is kept)."""
