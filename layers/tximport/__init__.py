"""tximport: import bank statement files into a ledger.

The domain package shared by every Lambda handler (deployed as a Lambda layer).
"""
