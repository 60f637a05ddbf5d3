"""Small helpers for the format tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

from tximport.formats.base import (
    BytesSource,
    LineError,
    ParsedLine,
    ParseEvent,
    ParseOptions,
    Source,
    StatementAccount,
)


def run(parser: Callable[[Source, ParseOptions], Iterator[ParseEvent]], data: bytes | Source,
        **options: Any) -> list[ParseEvent]:
    """All events of a parse."""
    source = BytesSource(data) if isinstance(data, bytes) else data
    return list(parser(source, ParseOptions(**options)))


def lines(events: list[ParseEvent]) -> list[ParsedLine]:
    return [e for e in events if isinstance(e, ParsedLine)]


def errors(events: list[ParseEvent]) -> list[LineError]:
    return [e for e in events if isinstance(e, LineError)]


def accounts(events: list[ParseEvent]) -> list[StatementAccount]:
    return [e for e in events if isinstance(e, StatementAccount)]


def total(events: list[ParseEvent]) -> Decimal:
    return sum((line.amount for line in lines(events)), Decimal(0))
