"""Exceptions raised by the flows.

They subclass the library trees so that the command line turns them into one ``error: ...`` line::

    CatalogError
    ├── PullFailed        every provider of a pull, or some windows of a backfill, failed
    └── InvalidSpan       a backfill span or window length that cannot be split (also a ValueError)
    ExpeditionError
    └── FlowFailed        a respond / survey / brief flow could not complete
"""

from __future__ import annotations

from catalogs.errors import CatalogError
from expedition.errors import ExpeditionError


class PullFailed(CatalogError):
    """Every provider failed (``pull_catalogs``) or some windows failed (``backfill_catalog``)."""


class FlowFailed(ExpeditionError):
    """A flow could not complete its work; the message says which step and why."""


class InvalidSpan(CatalogError, ValueError):
    """``endtime`` not after ``starttime``, or a window length that is not positive."""
