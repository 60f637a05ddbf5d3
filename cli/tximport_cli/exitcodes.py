"""Exit codes of the `tximport` client commands: one place, printed by `tximport --help`."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    ERROR = 1
    IMPORT_FAILED = 2
    NOT_CONFIRMED = 3
    TIMED_OUT = 4
    FORMAT_UNDETECTED = 5
    UNREACHABLE = 6
    RECONCILIATION_FAILED = 7
    INTERRUPTED = 130


MEANINGS: dict[ExitCode, str] = {
    ExitCode.OK: "success (an import reached complete)",
    ExitCode.ERROR: "usage error, or the API refused the request (4xx/5xx: error code, message and target "
                    "are printed)",
    ExitCode.IMPORT_FAILED: "the import ended in status error, or its revert in revertFailed (its error details are "
                            "printed)",
    ExitCode.NOT_CONFIRMED: "the import awaits confirmation: declined at the prompt, or no terminal to ask "
                            "and no --yes",
    ExitCode.TIMED_OUT: "the import (or reconciliation) did not reach the awaited status within --timeout",
    ExitCode.FORMAT_UNDETECTED: "--format auto could not tell the format (ambiguous or unknown: the "
                                "candidates are printed; pass --format)",
    ExitCode.UNREACHABLE: "the API could not be reached (connection refused: is `make run` running?)",
    ExitCode.RECONCILIATION_FAILED: "the reconciliation ended FAILED (its failureReason is printed)",
    ExitCode.INTERRUPTED: "interrupted (Ctrl-C)",
}


def describe() -> str:
    """The exit code table as `--help` prints it."""
    return "exit codes:\n" + "\n".join(f"  {int(code):<4} {text}" for code, text in MEANINGS.items())
