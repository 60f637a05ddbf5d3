"""How the `tximport` commands print: rich on a terminal; plain, colourless lines when stdout is not a
terminal or NO_COLOR is set; one JSON document with `--json` (messages then go to stderr)."""

from __future__ import annotations

import json
import os
import re
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from typing import IO, Any

from rich.console import Console
from rich.table import Table


def _plain(stream: IO[str]) -> bool:
    # https://no-color.org: NO_COLOR set and not empty turns colour off
    return bool(os.environ.get("NO_COLOR")) or not (hasattr(stream, "isatty") and stream.isatty())



def json_text(document: Any, indent: int | None = None) -> str:
    """JSON text with each Decimal written as its exact number text (the API answers amounts as JSON numbers that
    the CLI reads as Decimals, and sends them so: a float would not keep every digit or the currency's decimals);
    anything else JSON does not know as its text."""
    mark = uuid.uuid4().hex  # no text of the document holds it: Decimals go as marked strings, then unquoted

    def default(item: Any) -> Any:
        return f"{mark}{format(item, 'f')}" if isinstance(item, Decimal) else str(item)

    return re.sub(f'"{mark}(-?[0-9]+(?:\\.[0-9]+)?)"', r"\1", json.dumps(document, default=default, indent=indent))


class Output:
    def __init__(self, json_mode: bool = False, stream: IO[str] | None = None) -> None:
        self.stream = stream or sys.stdout
        self.json = json_mode
        self.plain = json_mode or _plain(self.stream)
        if self.plain:
            self.console = Console(file=self.stream, color_system=None, force_terminal=False, highlight=False,
                                   soft_wrap=True, emoji=False, markup=False)
        else:
            self.console = Console(file=self.stream, highlight=False, soft_wrap=True, emoji=False)
        self.err = Console(stderr=True, color_system=None if _plain(sys.stderr) else "auto", highlight=False,
                           soft_wrap=True, emoji=False, markup=False)

    # --- text -------------------------------------------------------------------------------------
    def line(self, text: str = "", style: str | None = None) -> None:
        """A line for people (on stderr with --json, so stdout stays one JSON document)."""
        if self.json:
            self.err.print(text, markup=False)
        elif self.plain:
            self.console.print(text, markup=False)
        else:
            self.console.print(text, style=style, markup=False)

    def error(self, text: str) -> None:
        self.err.print(f"tximport: {text}", markup=False, style=None if _plain(sys.stderr) else "red")

    def emit(self, document: Any) -> None:
        """The machine-readable answer of a command (--json)."""
        self.stream.write(json_text(document, indent=2) + "\n")
        self.stream.flush()

    def table(self, title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        cells = [["" if v is None else str(v) for v in row] for row in rows]
        if self.plain:
            if title:
                self.line(title)
            widths = [max(len(c), *(len(r[i]) for r in cells)) if cells else len(c) for i, c in enumerate(columns)]
            self.line("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip())
            for row in cells:
                self.line("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())
            return
        table = Table(title=title, title_justify="left", header_style="bold")
        for column in columns:
            table.add_column(column, overflow="fold")
        for row in cells:
            table.add_row(*row)
        self.console.print(table)

    def pairs(self, title: str | None, items: Sequence[tuple[str, Any]]) -> None:
        self.table(title, ["field", "value"], [(k, v) for k, v in items])

    # --- live feedback ----------------------------------------------------------------------------
    @contextmanager
    def bytes_progress(self, description: str, total: int) -> Iterator[Callable[[int], None]]:
        """A byte progress bar; yields the callback to report each chunk."""
        if self.plain:
            done = [0]
            started = time.monotonic()

            def advance(n: int) -> None:
                done[0] += n

            yield advance
            self.line(f"{description}: {done[0]:,} of {total:,} bytes in {time.monotonic() - started:.1f}s")
            return
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                      TimeRemainingColumn(), console=self.console, transient=False) as progress:
            task = progress.add_task(description, total=total)
            yield lambda n: progress.advance(task, n)

    @contextmanager
    def status(self, text: str) -> Iterator[Callable[[str], None]]:
        """A spinner with the elapsed time; yields `update(text)`. Plain output prints each new text once."""
        started = time.monotonic()
        if self.plain:
            last = [""]

            def update_plain(new: str) -> None:
                if new != last[0]:
                    last[0] = new
                    self.line(f"[{time.monotonic() - started:5.1f}s] {new}")

            update_plain(text)
            yield update_plain
            return
        with self.console.status(text, spinner="dots") as live:
            last_status = [text]

            def update(new: str) -> None:
                if new != last_status[0]:
                    self.console.print(f"[dim]{time.monotonic() - started:5.1f}s[/] {new}")
                    last_status[0] = new
                live.update(f"{new} [dim]({time.monotonic() - started:.1f}s)[/]")

            yield update
