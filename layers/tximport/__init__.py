"""tximport: import bank statement files into a ledger.

The domain package shared by every Lambda handler (deployed as a Lambda layer).

Decimal arithmetic (a sign taken, amounts summed into balances) runs at 80 significant digits in every thread
(`decimal.DefaultContext`, which new threads copy, and this thread's context): the ledger stores amounts of up
to 38 significant digits exactly, and the default 28 would round them and every balance they enter.
"""

import decimal as _decimal

#: the precision of Decimal arithmetic: any stored amount (38 digits) and any sum of them, exactly
DECIMAL_PRECISION = 80

_decimal.DefaultContext.prec = DECIMAL_PRECISION
_decimal.getcontext().prec = DECIMAL_PRECISION
