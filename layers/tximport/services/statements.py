"""Statement checks of an import: what processing gathers per statement is checked against the rules
(tximport.statements.rules) and the account's history, reported on the import (`statement.statements`
of `?include=report`, warnings in `errorDetails`), and the history is kept: an import's statements
are added when it completes and removed when it is reverted.
"""

from __future__ import annotations

from tximport.models import ErrorDetail, Import, Severity, TransactionSign
from tximport.statements.collect import StatementCollector
from tximport.statements.models import STATEMENT_REPEATED, StatementRecord, StatementReport
from tximport.statements.rules import assess, repeated
from tximport.storage.statements import StatementHistory

#: statements an import document keeps (the ones with failed checks and each account's last come first)
MAX_REPORTED_STATEMENTS = 100
#: warnings listed in errorDetails per check code (the report lists every statement it keeps)
MAX_WARNINGS_PER_CODE = 20


class StatementService:
    def __init__(self, history: StatementHistory) -> None:
        self.history = history

    def collector(self, imp: Import) -> StatementCollector:
        """A collector for one run over the import's file, knowing each account's last confirmed statement."""
        return StatementCollector({a.id: self.history.last(imp.tenant, a.id) for a in imp.bank_accounts},
                                  {a.id: a.currency for a in imp.bank_accounts})

    def assess(self, imp: Import, collector: StatementCollector) -> list[ErrorDetail]:
        """Check every statement the run saw; keep the reports on `imp`; answer the warnings."""
        reversed_accounts = frozenset(a.id for a in imp.bank_accounts
                                      if a.transaction_sign == TransactionSign.REVERSED)
        identifiers = {a.id: a.account_identifier for a in imp.bank_accounts}
        # each statement follows the account's statement before it in the file, else its last confirmed one
        last = dict(collector.last)
        in_file: set[str] = set()  # accounts whose `last` is a statement of this file
        seen: dict[tuple[object, ...], StatementReport] = {}
        reports = []
        for totals in collector.finish(reversed_accounts=reversed_accounts):
            account = totals.bank_account_id
            identifier = identifiers.get(account)
            report = assess(totals, None, account_identifier=identifier)
            identity = report.identity()
            earlier = seen.get(identity) if identity is not None else None
            if earlier is not None:  # the file holds this statement twice: it follows nothing new
                report.checks.append(repeated(report, earlier))
                reports.append(report)
                continue
            if identity is not None:
                seen[identity] = report
            if totals.foreign:  # another currency's lines: their own figures alone, never the account's history
                reports.append(report)
                continue
            if last.get(account) is not None:
                report = assess(totals, last[account], account_identifier=identifier, in_file=account in in_file)
            reports.append(report)
            record = report.record(imp.id)
            if record is not None:
                last[account] = record
                in_file.add(account)
        imp.statements = _kept(reports)
        imp.statement_count = len(reports)
        return warnings(reports)

    @staticmethod
    def repeated_lines(imp: Import) -> list[tuple[str, int, int]]:
        """(bank account id, first line, last line) of each statement the file holds twice, its repeat's lines:
        they start as `skip` (see `ProcessingService`)."""
        return [(s.bank_account_id, s.first_line, s.last_line) for s in imp.statements
                if s.first_line is not None and s.last_line is not None
                and any(c.code == STATEMENT_REPEATED for c in s.checks)]

    def confirmed(self, imp: Import) -> None:
        """The import completed: its statements join the accounts' histories."""
        self.history.put(imp.tenant, _records(imp))

    def reverted(self, imp: Import) -> None:
        """The import was reverted: its statements leave the histories (the previous closing is the last again)."""
        self.history.remove(imp.tenant, _records(imp))


def _records(imp: Import) -> list[StatementRecord]:
    return [r for r in (s.record(imp.id) for s in imp.statements) if r is not None]


def _kept(reports: list[StatementReport]) -> list[StatementReport]:
    if len(reports) <= MAX_REPORTED_STATEMENTS:
        return reports
    last = {r.bank_account_id: r.index for r in reports if not r.foreign}
    first = [i for i, r in enumerate(reports) if r.checks or last.get(r.bank_account_id) == r.index]
    rest = [i for i, r in enumerate(reports) if not (r.checks or last.get(r.bank_account_id) == r.index)]
    keep = sorted((first + rest)[:MAX_REPORTED_STATEMENTS])
    return [reports[i] for i in keep]


def warnings(reports: list[StatementReport]) -> list[ErrorDetail]:
    """One warning per failed check (at most MAX_WARNINGS_PER_CODE of a code, then one that counts the rest)."""
    found: list[ErrorDetail] = []
    counts: dict[str, int] = {}
    for report in reports:
        for check in report.checks:
            n = counts[check.code] = counts.get(check.code, 0) + 1
            if n <= MAX_WARNINGS_PER_CODE:
                found.append(ErrorDetail(
                    severity=Severity.WARNING, code=check.code, line_number=check.line_number,
                    target=f"bankAccounts/{report.bank_account_id}/statements/{report.index}",
                    message=f"statement {report.statement_id or report.index} of bank account "
                            f"{report.bank_account_id}: {check.message}"))
    for code, n in counts.items():
        if n > MAX_WARNINGS_PER_CODE:
            found.append(ErrorDetail(severity=Severity.WARNING, code=code,
                                     message=f"{n - MAX_WARNINGS_PER_CODE} more statement(s) fail {code}; "
                                             "see statement.statements of the report"))
    return found
