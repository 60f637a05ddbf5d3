"""One page of a reconciliation's entries, read in O(page): the run's result chunks with the manual
overrides laid over them.

A run writes its records in chunks of `chunk_size`: the listing ALL in entry order, and one listing per
match status (MATCHED, UNMATCHED), each in entry order, with the first entry index of every chunk kept on
the reconciliation. A manual override moves one entry from its run status (`base_status`) to another
status. The entries of listing X are then (run's X minus entries moved away) merged with (entries moved
into X), in entry order. The merged rank of the start of chunk j is `j * chunk_size - removed before it +
added before it`, known without reading anything, so a page reads only the chunk where it starts and the
ones it runs into; overrides (at most MAX_OVERRIDES small items) are held in memory.
"""

from __future__ import annotations

import heapq
from bisect import bisect_left
from collections.abc import Callable, Iterator

from tximport.reconciliation.models import Override, ResultChunks
from tximport.reconciliation.records import EntryRecord
from tximport.storage.reconciliation_results import ALL

Overrides = dict[int, tuple[Override, EntryRecord]]


def page(results: ResultChunks, listing: str, overrides: Overrides, offset: int, size: int,
         read: Callable[[str], list[EntryRecord]]) -> tuple[list[EntryRecord], int]:
    """Records `offset` to `offset + size` of `listing` (ALL or a match status) and the listing's total."""
    if listing == ALL:
        return _page_all(results, overrides, offset, size, read)
    removed = sorted(i for i, (o, _) in overrides.items() if o.base_status == listing and o.status != listing)
    added = sorted(i for i, (o, _) in overrides.items() if o.status == listing and o.base_status != listing)
    total = results.counts.get(listing, 0) - len(removed) + len(added)
    if offset >= total or size <= 0:
        return [], total
    keys, firsts = results.keys.get(listing, []), results.firsts.get(listing, [])

    def rank_of_chunk(j: int) -> int:
        bound = firsts[j]
        return j * results.chunk_size - bisect_left(removed, bound) + bisect_left(added, bound)

    start = 0
    for j in range(1, len(firsts)):  # the last chunk that starts at or before `offset`
        if rank_of_chunk(j) > offset:
            break
        start = j
    bound = firsts[start] if start > 0 else -1
    position = rank_of_chunk(start) if start > 0 else 0
    gone = set(removed)
    base = (r for j in range(start, len(keys)) for r in read(keys[j]) if r.index not in gone)
    extra = (overrides[i][1] for i in added if i >= bound)
    out: list[EntryRecord] = []
    for record in heapq.merge(base, extra, key=lambda r: r.index):
        if position >= offset:
            out.append(overrides[record.index][1] if record.index in overrides else record)
            if len(out) == size:
                break
        position += 1
    return out, total


def _page_all(results: ResultChunks, overrides: Overrides, offset: int, size: int,
              read: Callable[[str], list[EntryRecord]]) -> tuple[list[EntryRecord], int]:
    total = results.counts.get(ALL, 0)
    keys = results.keys.get(ALL, [])
    out: list[EntryRecord] = []
    chunk_no, chunk = -1, []
    for index in range(offset, min(offset + size, total)):
        if index // results.chunk_size != chunk_no:
            chunk_no = index // results.chunk_size
            chunk = read(keys[chunk_no])
        record = chunk[index % results.chunk_size]
        out.append(overrides[index][1] if index in overrides else record)
    return out, total


def all_records(results: ResultChunks, read: Callable[[str], list[EntryRecord]]) -> Iterator[EntryRecord]:
    """Every record of a run, in entry order (the workflow's input to the next run)."""
    for key in results.keys.get(ALL, []):
        yield from read(key)


def record_at(results: ResultChunks, index: int, read: Callable[[str], list[EntryRecord]]) -> EntryRecord:
    """One entry's record as the run left it (one chunk read)."""
    return read(results.keys[ALL][index // results.chunk_size])[index % results.chunk_size]
