"""One exception type for mistakes a user can fix.

Entries (`python -m irlkit`, `irlkit.demos`, ...) print these as a single paragraph and exit
non-zero without a traceback; anything else is a bug and keeps its traceback.
"""


class IrlkitError(Exception):
    """A problem with the user's input, named together with how to fix it."""


class StoreError(IrlkitError):
    """A dataset is missing, malformed, tampered with, or does not fit what was asked."""


class SchemaVersionError(StoreError):
    """A dataset was written by a newer irlkit than this one."""
