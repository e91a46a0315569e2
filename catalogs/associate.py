"""Cross-agency association: which incoming solution rows are the same physical earthquake.

One quake is one project event, whatever the number of agencies and re-ingests. The rules, in order:

1. **Aliases first.** A row whose ``(provider, provider_event_id)`` -- or any of its ``alias_ids``
   (same provider) -- is already known maps straight to that event. Rows of one batch that share a
   key or are linked by alias ids form one group (connected components, vectorised with scipy).
2. **Windows next.** Groups that no alias resolves are matched against the existing events and
   against each other with the ComCat/libcomcat association windows (|dt| <= 16 s, distance <=
   100 km, |dM| <= 0.5 by default; ``Settings.association_*``). Candidates come from one sort by
   time and ``numpy.searchsorted`` (no O(n^2) scan). A connected group of candidates in which no
   provider repeats is one quake and is merged whole, vectorised. Only ambiguous groups (a provider
   twice, e.g. an aftershock seconds later) go through a greedy union: each row ranks its
   candidates with libcomcat's score ``sqrt(dt^2 + dd^2 + dm^2)``, every term normalised by its
   maximum among that row's candidates, and takes its best candidate first (round by round), ties
   between rows being settled by the closeness within the windows.
3. **Never merge what one provider calls distinct.** An event holds at most one id per provider
   unless that provider's own alias list links them, and two existing events are never merged.
   A missing magnitude does not block a match (its term counts as 0).

The preferred solution and the project event id come from :mod:`catalogs.preferred` (SeisComP's
AGENCY > STATUS > TIME; ``qeYYYYMMDDTHHMMSS-xxxxxx``, never a provider id, kept once assigned).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from catalogs.distance import haversine_km
from catalogs.fdsn import Provider
from catalogs.preferred import (
    NULL_TIME,
    STATUS_SCORES,
    micros,
    mint_event_id,
    mint_event_ids,
    preference_keys,
    status_score,
)

log = logging.getLogger(__name__)

__all__ = [
    "AssociationParams",
    "Association",
    "associate",
    "associate_rows",
    "preference_keys",
    "mint_event_id",
    "mint_event_ids",
    "status_score",
    "STATUS_SCORES",
]

_SEP = "\x1f"

class AssociationSettings(Protocol):
    """What association reads from the settings (``expedition.settings.Settings`` satisfies it)."""

    @property
    def association_dt_s(self) -> float: ...
    @property
    def association_distance_km(self) -> float: ...
    @property
    def association_dmag(self) -> float: ...
    @property
    def providers(self) -> Sequence[Provider]: ...


@dataclass(frozen=True)
class AssociationParams:
    """Association windows and the agency priority (lower number wins)."""

    dt_s: float = 16.0
    distance_km: float = 100.0
    dmag: float = 0.5
    priority: Mapping[str, int] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: AssociationSettings) -> AssociationParams:
        """The windows and provider priorities of a settings object."""
        return cls(
            dt_s=float(settings.association_dt_s),
            distance_km=float(settings.association_distance_km),
            dmag=float(settings.association_dmag),
            priority={p.name.upper(): int(p.priority) for p in settings.providers},
        )


@dataclass(frozen=True)
class Association:
    """Result of :func:`associate` for ``n`` incoming rows."""

    event_ids: pa.Array  # string, one per incoming row
    is_new_event: np.ndarray  # bool, one per incoming row: its event did not exist before
    candidate_pairs: int  # unordered candidate pairs inside the windows (for logs and benchmarks)
    conflicts: list[str] = field(default_factory=list)  # alias links that span two existing events


def _keys(provider: pa.Array | pa.ChunkedArray, ids: pa.Array | pa.ChunkedArray) -> pa.Array:
    joined = pc.binary_join_element_wise(pc.utf8_upper(provider), ids, _SEP)
    return joined.combine_chunks() if isinstance(joined, pa.ChunkedArray) else joined


def _codes(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Dense integer codes of a string array."""
    enc = pc.dictionary_encode(values)
    if isinstance(enc, pa.ChunkedArray):
        enc = enc.combine_chunks()
    return np.asarray(enc.indices.to_numpy(zero_copy_only=False), dtype=np.int64)


def _window_pairs(t: np.ndarray, usable: np.ndarray, dt_us: int) -> tuple[np.ndarray, np.ndarray]:
    """Every unordered pair of usable points with |t_a - t_b| <= dt, once, from one sort and
    ``searchsorted`` (no O(n^2) scan): each point is paired with the points after it in time."""
    idx = np.flatnonzero(usable)
    order = idx[np.argsort(t[idx], kind="stable")]
    ts = t[order]
    hi = np.searchsorted(ts, ts + dt_us, side="right")
    counts = hi - np.arange(1, len(ts) + 1)
    total = int(counts.sum())
    first = np.repeat(np.arange(len(ts)), counts)
    offset = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
    return order[first], order[first + 1 + offset]


class _UnionFind:
    def __init__(self, n: int, masks: list[int], existing: np.ndarray) -> None:
        self.parent = list(range(n))
        self.mask = masks
        self.existing = existing.tolist()

    def find(self, a: int) -> int:
        parent = self.parent
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    def union(self, a: int, b: int) -> bool:
        """Merge unless both are existing events or they share a provider."""
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return False
        if (self.existing[ra] and self.existing[rb]) or (self.mask[ra] & self.mask[rb]):
            return False
        if self.existing[rb] and not self.existing[ra]:
            ra, rb = rb, ra
        self.parent[rb] = ra
        self.mask[ra] |= self.mask[rb]
        return True


def associate(
    rows: pa.Table,
    events: pa.Table,
    aliases: pa.Table,
    params: AssociationParams,
) -> Association:
    """Assign every incoming solution row to a project event.

    ``rows``: solution rows (:data:`catalogs.rows.SOLUTION_ROW_SCHEMA`). ``events``: existing events
    near the rows in time (``event_id``, ``origin_time_utc``, ``origin_latitude_deg``,
    ``origin_longitude_deg``, ``magnitude_value``). ``aliases``: existing ``(provider,
    provider_event_id, event_id)`` rows for the incoming keys and alias ids and for ``events``.
    Pure: reads nothing, writes nothing."""
    n = rows.num_rows
    if n == 0:
        return Association(pa.array([], pa.string()), np.zeros(0, dtype=bool), 0)
    rows = rows.combine_chunks()
    prov_up = pc.utf8_upper(rows.column("provider")).combine_chunks()
    row_keys = _keys(rows.column("provider"), rows.column("provider_event_id"))

    # -- existing events and their provider sets ---------------------------------------------
    alias_event = aliases.column("event_id").to_pylist() if aliases.num_rows else []
    event_list = list(dict.fromkeys([*events.column("event_id").to_pylist(), *alias_event]))
    ev_index = {e: i for i, e in enumerate(event_list)}
    m = len(event_list)
    alias_prov = pc.utf8_upper(aliases.column("provider")).combine_chunks() if aliases.num_rows else pa.array([], pa.string())
    providers = pc.unique(pa.concat_arrays([alias_prov, prov_up]))
    row_pcode = np.asarray(pc.index_in(prov_up, value_set=providers).to_numpy(zero_copy_only=False), dtype=np.int64)
    alias_pcode = np.asarray(pc.index_in(alias_prov, value_set=providers).to_numpy(zero_copy_only=False), dtype=np.int64)
    alias_ev = np.array([ev_index[e] for e in alias_event], dtype=np.int64)

    # -- step 1: alias links -> connected components over rows, keys and existing events -------
    row_comp, row_event, conflicts = _alias_components(rows, prov_up, row_keys, aliases, alias_ev, event_list)

    # -- step 2: window matching for groups no alias resolved ------------------------------------
    free = row_event < 0
    node = np.where(free, m + row_comp, row_event)  # union-find node of each row
    n_nodes = m + int(row_comp.max()) + 1
    node_masks = _provider_masks(n_nodes, [(alias_ev, alias_pcode), (node, row_pcode)], len(providers))
    existing = np.zeros(n_nodes, dtype=bool)
    existing[:m] = True
    uf = _UnionFind(n_nodes, node_masks, existing)
    pairs = 0
    if free.any():
        pairs = _match_windows(rows, events, ev_index, node, free, prov_up, params, uf)

    # -- step 3: event id per row -----------------------------------------------------------------
    parent = np.asarray(uf.parent, dtype=np.int64)
    while True:  # pointer jumping until every node points at its root
        grand = parent[parent]
        if np.array_equal(grand, parent):
            break
        parent = grand
    roots = parent[node]
    is_new = roots >= m
    label = roots.copy()
    minted: list[str] = []
    if is_new.any():
        new_idx = np.flatnonzero(is_new)
        keys = [k[new_idx] for k in preference_keys(rows, params.priority)]
        order = np.lexsort([*keys, roots[new_idx]])
        sorted_roots = roots[new_idx][order]
        first = order[np.concatenate(([True], sorted_roots[1:] != sorted_roots[:-1]))]
        creators = rows.select(["origin_time_utc", "provider", "provider_event_id"]).take(pa.array(new_idx[first]))
        minted = mint_event_ids(creators)  # from each new event's preferred row
        lookup = np.full(n_nodes, -1, dtype=np.int64)
        lookup[roots[new_idx][first]] = np.arange(len(first))
        label[new_idx] = m + lookup[roots[new_idx]]
    event_ids = pc.take(pa.array(event_list + minted, pa.string()), pa.array(label))
    for msg in conflicts:
        log.warning("association conflict: %s", msg)
    return Association(event_ids, is_new, pairs, conflicts)


_NO_EVENTS = pa.schema([
    ("event_id", pa.string()), ("origin_time_utc", pa.timestamp("us", tz="UTC")),
    ("origin_latitude_deg", pa.float64()), ("origin_longitude_deg", pa.float64()), ("magnitude_value", pa.float64()),
])
_NO_ALIASES = pa.schema([("provider", pa.string()), ("provider_event_id", pa.string()), ("event_id", pa.string())])


def associate_rows(rows: pa.Table, params: AssociationParams | None = None) -> Association:
    """Which solution rows are the same quake, with no lake: :func:`associate` against no known event.

    ``rows`` may mix catalogs (e.g. a USGS and an EMSC file concatenated); every row gets the
    project event id of its quake, minted from the quake's preferred row. ``params`` defaults to the
    ComCat windows (16 s, 100 km, 0.5 magnitude units). Pure: reads nothing, writes nothing.
    """
    return associate(rows, _NO_EVENTS.empty_table(), _NO_ALIASES.empty_table(), params or AssociationParams())


def _alias_components(
    rows: pa.Table, prov_up: pa.Array, row_keys: pa.Array, aliases: pa.Table, alias_ev: np.ndarray,
    event_list: list[str],
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Step 1: group rows that share a key or an alias id (connected components over rows, keys and
    existing events). Returns each row's component, its existing event index (-1: none) and the
    conflicts (alias links spanning two existing events, which are never merged)."""
    n, m = rows.num_rows, len(event_list)
    known_keys = (_keys(aliases.column("provider"), aliases.column("provider_event_id")) if aliases.num_rows
                  else pa.array([], pa.string()))
    alias_col = rows.column("alias_ids").combine_chunks()
    alias_parent = np.asarray(pc.list_parent_indices(alias_col).to_numpy(zero_copy_only=False), dtype=np.int64)
    alias_vals = pc.list_flatten(alias_col)
    if len(alias_vals) == 0 and pc.count_distinct(row_keys).as_py() == n:
        # Fast path (most batches): no alias ids and no repeated key -- every row is its own group.
        hit = pc.index_in(row_keys, value_set=known_keys).to_numpy(zero_copy_only=False).astype(np.float64)
        row_event = np.full(n, -1, dtype=np.int64)
        known = ~np.isnan(hit)
        row_event[known] = alias_ev[hit[known].astype(np.int64)]
        return np.arange(n, dtype=np.int64), row_event, []
    alias_keys = _keys(pc.take(prov_up, pa.array(alias_parent)), alias_vals) if len(alias_vals) else pa.array([], pa.string())
    valid_alias = np.asarray(pc.is_valid(alias_keys).to_numpy(zero_copy_only=False), dtype=bool)
    all_keys = pa.concat_arrays([row_keys, alias_keys.filter(pa.array(valid_alias))])
    key_owner = np.concatenate([np.arange(n), alias_parent[valid_alias]])
    uniq = pc.unique(all_keys)
    key_code = np.asarray(pc.index_in(all_keys, value_set=uniq).to_numpy(zero_copy_only=False), dtype=np.int64)
    k = len(uniq)
    hit = pc.index_in(uniq, value_set=known_keys).to_numpy(zero_copy_only=False).astype(np.float64)
    known_k = np.flatnonzero(~np.isnan(hit))
    key_event = alias_ev[hit[known_k].astype(np.int64)]
    # Graph nodes: rows [0, n), keys [n, n+k), events [n+k, n+k+m).
    src = np.concatenate([key_owner, n + known_k])
    dst = np.concatenate([n + key_code, n + k + key_event])
    size = n + k + m
    graph = coo_matrix((np.ones(len(src), dtype=np.int8), (src, dst)), shape=(size, size))
    _, comp = connected_components(graph, directed=False)
    row_comp = comp[:n].astype(np.int64)
    ev_comp = comp[n + k:]
    comp_event = np.full(int(comp.max()) + 1, -1, dtype=np.int64)
    comp_event[ev_comp] = np.arange(m)
    row_event = comp_event[row_comp].copy()
    conflicts: list[str] = []
    multi = np.bincount(ev_comp, minlength=len(comp_event)) > 1 if m else np.zeros(len(comp_event), dtype=bool)
    if multi.any():
        primary_hit = pc.index_in(row_keys, value_set=known_keys).to_numpy(zero_copy_only=False).astype(np.float64)
        for i in np.flatnonzero(multi[row_comp]):
            if not np.isnan(primary_hit[i]):
                row_event[i] = alias_ev[int(primary_hit[i])]
            conflicts.append(
                f"{row_keys[int(i)].as_py().replace(_SEP, ':')}: alias ids link several existing events; "
                f"kept {event_list[row_event[i]]} (events are never merged automatically)"
            )
    return row_comp, row_event, conflicts


def _provider_masks(n_nodes: int, members: list[tuple[np.ndarray, np.ndarray]], n_providers: int) -> list[int]:
    """Bit set of the providers of each node (Python ints: any number of providers)."""
    if n_providers <= 62:
        masks = np.zeros(n_nodes, dtype=np.int64)
        for nodes, codes in members:
            np.bitwise_or.at(masks, nodes, np.left_shift(np.int64(1), codes))
        return list(masks.tolist())
    out = [0] * n_nodes
    for nodes, codes in members:
        for nd, c in zip(nodes.tolist(), codes.tolist()):
            out[nd] |= 1 << c
    return out


def _match_windows(
    rows: pa.Table,
    events: pa.Table,
    ev_index: Mapping[str, int],
    node: np.ndarray,
    free: np.ndarray,
    prov_up: pa.Array,
    params: AssociationParams,
    uf: _UnionFind,
) -> int:
    """Union free row groups with existing events or with each other inside the windows."""
    ev_nodes = np.array([ev_index[e] for e in events.column("event_id").to_pylist()], dtype=np.int64)
    t = np.concatenate([micros(rows.column("origin_time_utc")), micros(events.column("origin_time_utc"))])
    lat = np.concatenate([_f64(rows.column("origin_latitude_deg")), _f64(events.column("origin_latitude_deg"))])
    lon = np.concatenate([_f64(rows.column("origin_longitude_deg")), _f64(events.column("origin_longitude_deg"))])
    mag = np.concatenate([_f64(rows.column("magnitude_value")), _f64(events.column("magnitude_value"))])
    pnode = np.concatenate([node, ev_nodes])
    # Provider code per point; existing-event points get -1 (their provider set is checked exactly).
    pprov = np.concatenate([_codes(prov_up), np.full(len(ev_nodes), -1, dtype=np.int64)])
    usable = (t != NULL_TIME) & ~np.isnan(lat) & ~np.isnan(lon)
    is_free = np.concatenate([free, np.zeros(len(ev_nodes), dtype=bool)])
    if not (is_free & usable).any():
        return 0
    a, b = _window_pairs(t, usable, int(round(params.dt_s * 1e6)))
    # At least one side must be a free row; never two rows of one group, never one provider twice.
    keep = (is_free[a] | is_free[b]) & (pnode[a] != pnode[b]) & (pprov[a] != pprov[b])
    a, b = a[keep], b[keep]
    dt = np.abs(t[a] - t[b]) / 1e6
    dd = haversine_km(lat[a], lon[a], lat[b], lon[b])
    dm = np.abs(mag[a] - mag[b])
    dm = np.where(np.isnan(dm), 0.0, dm)  # a missing magnitude does not block a match
    keep = (dd <= params.distance_km) & (dm <= params.dmag + 1e-9)
    a, b, dt, dd, dm = a[keep], b[keep], dt[keep], dd[keep], dm[keep]
    if len(a) == 0:
        return 0
    # Components of the candidate graph where no provider repeats are merged whole, vectorised
    # (the greedy union below would merge all of them too); only the rest needs the scores.
    dirty = _merge_clean_components(uf, pnode[a], pnode[b])
    a, b, dt, dd, dm = a[dirty], b[dirty], dt[dirty], dd[dirty], dm[dirty]
    if len(a):
        # Both directions, from the free side only: each free row ranks its own candidates.
        q, c = np.concatenate([a, b]), np.concatenate([b, a])
        dt, dd, dm = np.tile(dt, 2), np.tile(dd, 2), np.tile(dm, 2)
        own = is_free[q]
        by_q = np.argsort(q[own], kind="stable")
        q, c, dt, dd, dm = (x[own][by_q] for x in (q, c, dt, dd, dm))
        _ranked_union(uf, pnode[q], pnode[c], q, dt, dd, dm, params)
    return int(len(dirty))


def _ranked_union(uf: _UnionFind, a: np.ndarray, b: np.ndarray, q: np.ndarray, dt: np.ndarray, dd: np.ndarray,
                  dm: np.ndarray, params: AssociationParams) -> None:
    """Greedy union of the ambiguous candidate pairs (q grouped by query row): each row tries its
    candidates best first (round by round), ties between rows settled by closeness in the windows."""
    # libcomcat (usgs/libcomcat, libcomcat/dataframes.py associate()): among the candidates of
    # one event, score = sqrt(dt^2 + dd^2 + dm^2) with each term divided by its maximum among
    # those candidates; the smallest score wins (science.md section 1).
    starts = np.flatnonzero(np.concatenate(([True], q[1:] != q[:-1])))
    group = np.repeat(np.arange(len(starts)), np.diff(np.append(starts, len(q))))

    def norm(x: np.ndarray) -> np.ndarray:
        mx = np.maximum.reduceat(x, starts)[group]
        return np.asarray(np.divide(x, mx, out=np.zeros_like(x), where=mx > 0), dtype=np.float64)

    score = np.sqrt(norm(dt) ** 2 + norm(dd) ** 2 + norm(dm) ** 2)
    closeness = np.sqrt((dt / params.dt_s) ** 2 + (dd / params.distance_km) ** 2 + (dm / max(params.dmag, 1e-9)) ** 2)
    by_score = np.lexsort([closeness, score, group])
    rank = np.empty(len(q), dtype=np.int64)
    rank[by_score] = np.arange(len(q)) - starts[group[by_score]]
    order = np.lexsort([closeness, rank])
    a, b = a[order], b[order]
    # Each unordered pair of nodes once, at its first (best) place in the order.
    key = np.minimum(a, b) * (int(max(a.max(), b.max())) + 1) + np.maximum(a, b)
    by_key = np.argsort(key, kind="stable")
    first = np.sort(by_key[np.concatenate(([True], key[by_key][1:] != key[by_key][:-1]))])
    _greedy_union(uf, a[first].tolist(), b[first].tolist())


def _merge_clean_components(uf: _UnionFind, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Merge, without a Python loop, every connected component of the candidate graph in which no
    provider appears twice and at most one existing event takes part: the greedy union would merge
    all of it anyway. Returns the mask of the pairs left for :func:`_greedy_union`."""
    present = np.zeros(len(uf.parent), dtype=bool)
    present[a] = True
    present[b] = True
    nodes = np.flatnonzero(present)
    try:
        m64 = np.array(uf.mask, dtype=np.int64)[nodes]
    except OverflowError:  # more than 63 providers: int64 bit sets do not fit, everything goes to the loop
        return np.ones(len(a), dtype=bool)
    local = np.full(len(uf.parent), -1, dtype=np.int64)
    local[nodes] = np.arange(len(nodes))
    la, lb = local[a], local[b]
    graph = coo_matrix((np.ones(len(a), dtype=np.int8), (la, lb)), shape=(len(nodes), len(nodes)))
    n_comp, label = connected_components(graph, directed=False)
    order = np.argsort(label, kind="stable")
    starts = np.flatnonzero(np.concatenate(([True], label[order][1:] != label[order][:-1])))
    union_bits = np.bitwise_or.reduceat(m64[order], starts)
    bit_count = np.add.reduceat(np.bitwise_count(m64[order]).astype(np.int64), starts)
    existing = np.asarray(uf.existing, dtype=bool)[nodes]
    n_existing = np.add.reduceat(existing[order].astype(np.int64), starts)
    clean = (np.bitwise_count(union_bits).astype(np.int64) == bit_count) & (n_existing <= 1)
    # Representative: the existing event of the component if there is one, else its first node.
    rep = nodes[order][starts].copy()
    ex_nodes = np.flatnonzero(existing)
    rep[label[ex_nodes]] = nodes[ex_nodes]
    parent = np.asarray(uf.parent, dtype=np.int64)
    take = clean[label]
    parent[nodes[take]] = rep[label[take]]
    uf.parent = parent.tolist()
    for r, bits in zip(rep[clean].tolist(), union_bits[clean].tolist()):
        uf.mask[r] = bits
    return np.asarray(~clean[label[la]], dtype=bool)


def _greedy_union(uf: _UnionFind, qn: list[int], cn: list[int]) -> None:
    """:meth:`_UnionFind.union` over the pairs in order, inlined (hot loop: ~2 pairs per row)."""
    parent, mask, existing = uf.parent, uf.mask, uf.existing
    for a, b in zip(qn, cn):
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        while parent[b] != b:
            parent[b] = parent[parent[b]]
            b = parent[b]
        if a == b or (existing[a] and existing[b]) or (mask[a] & mask[b]):
            continue
        if existing[b]:
            a, b = b, a
        parent[b] = a
        mask[a] |= mask[b]


def _f64(col: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return np.asarray(pc.cast(col, pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64)
