"""The one-to-one assignment of the matching engine: maximise the summed gain, where leaving a row
unassigned is worth 0, per connected component of the candidate graph.

Written here (numpy only) rather than taken from scipy, whose wheels (~140 MB unpacked with their
libraries) would push the Lambda layer past Lambda's 250 MB limit; scipy's `linear_sum_assignment` stays
the oracle of the tests (tests/unit/reconciliation). Components are small in practice (bank lines with the
same amount near the same day): at 100,000 x 100,000 generated entries the largest had 41 x 40 nodes, and
over 99% of pairs stand alone. Tiny components are solved by enumeration, the others by the Hungarian
algorithm with potentials (shortest augmenting paths, O(n^2 m) with the column loop in numpy). Both break
ties by the first row and column in the caller's order, so the answer depends only on that order.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import permutations

import numpy as np

#: components with at most this many rows (and at most ENUMERATE_COLUMNS columns) are enumerated
ENUMERATE_ROWS = 3
ENUMERATE_COLUMNS = 6


def components(edges: Iterable[tuple[int, int]]) -> list[tuple[list[int], list[int]]]:
    """The connected components of a bipartite graph given as (row, column) edges: (rows, columns) of
    each, both sorted, components in the order of their smallest row."""
    parent: dict[tuple[int, int], tuple[int, int]] = {}

    def find(node: tuple[int, int]) -> tuple[int, int]:
        root = node
        while parent[root] != root:
            root = parent[root]
        while parent[node] != root:  # path compression
            parent[node], node = root, parent[node]
        return root

    for row, col in edges:
        a, b = (0, row), (1, col)
        parent.setdefault(a, a)
        parent.setdefault(b, b)
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    groups: dict[tuple[int, int], tuple[list[int], list[int]]] = {}
    for node in parent:
        side, index = node
        groups.setdefault(find(node), ([], []))[side].append(index)
    out = [(sorted(rows), sorted(cols)) for rows, cols in groups.values()]
    out.sort(key=lambda rc: rc[0][0] if rc[0] else -1)
    return out


def assign(gain: np.ndarray) -> list[tuple[int, int]]:
    """(row, column) pairs of a maximum-gain matching of `gain` (rows x columns, gains >= 0, 0 = no edge);
    pairs of gain 0 are left out."""
    rows, cols = gain.shape
    if rows == 0 or cols == 0:
        return []
    if rows > cols:
        return [(r, c) for c, r in assign(gain.T)]
    small = rows <= ENUMERATE_ROWS and cols <= ENUMERATE_COLUMNS
    pairs = _enumerate(gain) if small else _hungarian(-gain)
    return [(r, c) for r, c in pairs if gain[r, c] > 0]


def _enumerate(gain: np.ndarray) -> list[tuple[int, int]]:
    """Every injection of rows into columns, in lexicographic order; the first best wins."""
    rows, cols = gain.shape
    values = gain.tolist()
    best, best_total = None, -1.0
    for choice in permutations(range(cols), rows):
        total = sum(values[r][c] for r, c in enumerate(choice))
        if total > best_total + 1e-12:
            best, best_total = choice, total
    return list(enumerate(best or ()))


def _hungarian(cost: np.ndarray) -> list[tuple[int, int]]:
    """Minimum-cost assignment of every row (rows <= columns): Kuhn-Munkres with potentials, rows added one
    at a time along a shortest augmenting path (the column scan vectorised)."""
    n, m = cost.shape
    u = np.zeros(n + 1)
    v = np.zeros(m + 1)
    owner = np.zeros(m + 1, dtype=np.int64)  # owner[j]: the row (1-based) holding column j; 0 = free
    way = np.zeros(m + 1, dtype=np.int64)
    for i in range(1, n + 1):
        owner[0] = i
        j0 = 0
        minv = np.full(m + 1, np.inf)
        used = np.zeros(m + 1, dtype=bool)
        while True:
            used[j0] = True
            i0 = owner[j0]
            free = ~used[1:]
            reduced = cost[i0 - 1] - u[i0] - v[1:]
            better = free & (reduced < minv[1:])
            minv[1:][better] = reduced[better]
            way[1:][better] = j0
            masked = np.where(free, minv[1:], np.inf)
            j1 = int(np.argmin(masked)) + 1
            delta = masked[j1 - 1]
            held = np.flatnonzero(used)
            u[owner[held]] += delta
            v[held] -= delta
            minv[1:][free] -= delta
            j0 = j1
            if owner[j0] == 0:
                break
        while j0:
            j1 = int(way[j0])
            owner[j0] = owner[j1]
            j0 = j1
    return sorted((int(owner[j]) - 1, j - 1) for j in range(1, m + 1) if owner[j])


def total(gain: np.ndarray, pairs: Sequence[tuple[int, int]]) -> float:
    """The summed gain of `pairs`."""
    return float(sum(gain[r, c] for r, c in pairs))
