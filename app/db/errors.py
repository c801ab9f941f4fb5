"""Storage errors that callers outside this package may need to name."""


class DatabaseUnavailable(Exception):
    """The database could not be reached or dropped the connection; the request can be retried."""
