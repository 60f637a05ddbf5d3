"""Statement truth: the rules that say whether a bank account's statements add up and fit together
(the arithmetic of each statement, a running-balance column, continuity with the account's last
confirmed statement, overlap with earlier ones, pending lines matched by their booked lines).

Pure domain code: the rules take a statement's aggregates (`StatementTotals`) and the account's
statement history (`StatementRecord`) and answer checks; they read and write nothing.
"""
