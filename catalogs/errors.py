"""Exceptions raised by the catalogs layer.

Tree::

    CatalogError
    ├── ParseError           a file or response could not be read (names file, row/line, column)
    ├── ProviderError        an FDSN provider failed (carries provider name and URL)
    │   ├── TransientProviderError   timeouts, 429, 503, resets: worth retrying
    │   └── PermanentProviderError   400 and other refusals: never retried
    └── UnknownFormat        ``catalog import`` could not detect the file's format
"""

from __future__ import annotations


class CatalogError(Exception):
    """Base class of every catalogs error."""


class ParseError(CatalogError):
    """Input could not be parsed. ``source``, ``row`` (1-based) and ``column`` locate the problem."""

    def __init__(self, message: str, source: str = "", row: int | None = None, column: str | None = None) -> None:
        self.source = source
        self.row = row
        self.column = column
        where = source
        if row is not None:
            where += f", row {row}"
        if column:
            where += f", column {column!r}"
        super().__init__(f"{where}: {message}" if where else message)


class UnknownFormat(CatalogError):
    """The format of a file could not be detected."""


class ProviderError(CatalogError):
    """An FDSN provider request failed."""

    def __init__(self, provider: str, message: str, url: str | None = None, status: int | None = None) -> None:
        self.provider = provider
        self.url = url
        self.status = status
        super().__init__(f"{provider}: {message}" + (f" ({url})" if url else ""))


class TransientProviderError(ProviderError):
    """Timeouts, HTTP 429/503/5xx, connection resets: retried with backoff."""


class PermanentProviderError(ProviderError):
    """HTTP 400 and other refusals: not retried; the message carries the server's text."""
