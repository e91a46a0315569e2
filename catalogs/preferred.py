"""Preferred solutions and project event ids.

* :func:`preference_keys`: sort keys putting an event's preferred solution first. SeisComP scevent's
  priority list AGENCY > STATUS > TIME: configured agency priority (lower number wins, unknown
  providers last), then review status (SeisComP scores, science.md section 1), then recency
  (``updated_time_utc``; a missing time ranks after every known one).
* :func:`mint_event_id`: a project event id derived from inputs and never a provider id:
  ``qe`` + origin time ``YYYYMMDDTHHMMSS`` (UTC, floored to the second) + ``-`` + 6 hex of sha1 of
  ``provider:provider_event_id`` of the solution that created the event. Kept once assigned.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["STATUS_SCORES", "status_score", "preference_keys", "mint_event_id", "mint_event_ids"]

# SeisComP scevent status scores (science.md section 1). Our additions: an evaluation *mode*
# given instead of a status ranks "manual" above "automatic" (automatic below manual), and an
# unknown/missing status ranks with "automatic".
STATUS_SCORES: dict[str, float] = {
    "rejected": -100.0,
    "reported": -1.0,
    "preliminary": 0.0,
    "confirmed": 1.0,
    "reviewed": 2.0,
    "final": 3.0,
    "manual": 0.5,
    "automatic": -0.5,
}
_UNKNOWN_STATUS = -0.5
_UNKNOWN_PRIORITY = 1_000_000
NULL_TIME = int(np.iinfo(np.int64).min)


def status_score(status: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """SeisComP-style score of each review status (higher is better)."""
    lowered = pc.utf8_lower(pc.fill_null(status, ""))
    keys = pa.array(list(STATUS_SCORES))
    idx = pc.index_in(lowered, value_set=keys).to_numpy(zero_copy_only=False)
    scores = np.array(list(STATUS_SCORES.values()), dtype=np.float64)
    out = np.full(len(lowered), _UNKNOWN_STATUS, dtype=np.float64)
    known = ~np.isnan(idx.astype(np.float64))
    out[known] = scores[idx[known].astype(np.int64)]
    return out


def _priority(provider: pa.Array | pa.ChunkedArray, priority: Mapping[str, int]) -> np.ndarray:
    names = pc.utf8_upper(pc.fill_null(provider, ""))
    if not priority:
        return np.full(len(names), _UNKNOWN_PRIORITY, dtype=np.int64)
    keys = pa.array(list(priority))
    idx = pc.index_in(names, value_set=keys).to_numpy(zero_copy_only=False).astype(np.float64)
    vals = np.array(list(priority.values()), dtype=np.int64)
    out = np.full(len(names), _UNKNOWN_PRIORITY, dtype=np.int64)
    known = ~np.isnan(idx)
    out[known] = vals[idx[known].astype(np.int64)]
    return out


def micros(col: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Timestamps as int64 microseconds, nulls as the smallest int64 (``NULL_TIME``)."""
    ints = pc.cast(pc.cast(col, pa.timestamp("us", tz="UTC")), pa.int64())
    return np.asarray(pc.fill_null(ints, NULL_TIME).to_numpy(zero_copy_only=False), dtype=np.int64)


def preference_keys(solutions: pa.Table, priority: Mapping[str, int]) -> list[np.ndarray]:
    """Sort keys for :func:`numpy.lexsort` (last key is primary): the first row after sorting is
    the preferred solution. Needs ``provider``, ``review_status``, ``updated_time_utc``;
    ``first_seen_utc`` and ``solution_id`` are used as tie-breakers when present.

    Order (SeisComP scevent AGENCY > STATUS > TIME): agency priority ascending (unknown last),
    review status score descending, ``updated_time_utc`` descending (missing last), then the
    latest seen, then the solution id (deterministic)."""
    n = solutions.num_rows
    zero = np.zeros(n, dtype=np.int64)
    tie_seen = zero
    if "first_seen_utc" in solutions.column_names:
        seen = micros(solutions.column("first_seen_utc"))
        tie_seen = -np.where(seen == NULL_TIME, 0, seen)
    tie_id = zero
    if "solution_id" in solutions.column_names:
        ranks = pc.rank(pc.fill_null(solutions.column("solution_id"), ""), "ascending")
        tie_id = np.asarray(ranks.to_numpy(zero_copy_only=False))
    updated = micros(solutions.column("updated_time_utc"))
    missing = (updated == NULL_TIME).astype(np.int64)
    return [
        tie_id,
        tie_seen,
        -np.where(missing == 1, 0, updated),  # newer first
        missing,  # a missing update time ranks after every known one
        -status_score(solutions.column("review_status")),
        _priority(solutions.column("provider"), priority),
    ]


def mint_event_id(origin_time_us: int | None, provider: str, provider_event_id: str) -> str:
    """A project event id derived from inputs: ``qeYYYYMMDDTHHMMSS-xxxxxx`` (origin time, then 6 hex
    of sha1 of ``provider:provider_event_id`` of the alias that created the event)."""
    tbl = pa.table({
        "origin_time_utc": pa.array([origin_time_us], pa.int64()).cast(pa.timestamp("us", tz="UTC")),
        "provider": [provider], "provider_event_id": [provider_event_id],
    })
    return mint_event_ids(tbl)[0]


def mint_event_ids(rows: pa.Table) -> list[str]:
    """:func:`mint_event_id` for every row (``origin_time_utc``, ``provider``, ``provider_event_id``)."""
    micros = pc.cast(pc.cast(rows.column("origin_time_utc"), pa.timestamp("us", tz="UTC")), pa.int64())
    naive = pc.floor_temporal(pc.cast(micros, pa.timestamp("us")), unit="second")  # UTC wall time, no tz lookups
    t = pc.cast(naive, pa.timestamp("s"))
    stamps = pc.fill_null(pc.strftime(t, "%Y%m%dT%H%M%S"), "00000000T000000").to_pylist()
    keys = pc.binary_join_element_wise(rows.column("provider"), rows.column("provider_event_id"), ":").to_pylist()
    return [f"qe{s}-{hashlib.sha1(k.encode()).hexdigest()[:6]}" for s, k in zip(stamps, keys)]
