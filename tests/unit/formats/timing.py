"""The one timing check the tests allow: a reader's CPU time grows about linearly with its input.

A quadratic reader fails it by a wide margin (8x the input costs 64x the time), a linear one passes
with room to spare even on a busy machine: each size runs `runs` times and the fastest run counts.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from tximport.formats.base import BytesSource, FileError, ParseOptions


def cpu_seconds(parser: Callable[..., Iterator[Any]], data: bytes, runs: int = 3, **options: Any) -> float:
    """The fastest of `runs` parses of `data` (CPU seconds); a FileError ends a parse like its last event."""
    best = float("inf")
    for _ in range(runs):
        start = time.process_time()
        try:
            for _event in parser(BytesSource(data), ParseOptions(**options)):
                pass
        except FileError:
            pass
        best = min(best, time.process_time() - start)
    return best


def assert_linear(parser: Callable[..., Iterator[Any]], make: Callable[[int], bytes], size: int,
                  factor: int = 8, limit: float = 16.0, **options: Any) -> None:
    """`make(n)` builds an input of about n units; parsing `factor` times more may cost at most `limit`
    times the CPU time."""
    small, large = make(size), make(size * factor)
    cpu_seconds(parser, small, runs=1, **options)  # warm caches and imports
    t_small = max(cpu_seconds(parser, small, **options), 1e-4)
    t_large = cpu_seconds(parser, large, **options)
    assert t_large < limit * t_small, (
        f"{len(large):,} bytes took {t_large:.3f} s, {t_large / t_small:.1f}x the {t_small:.4f} s of "
        f"{len(small):,} bytes (limit {limit:g}x for {factor}x the size)")
