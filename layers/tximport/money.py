"""Currencies and their minor units, and money as the API writes it.

The file-import document writes amounts as integers in minor units (`transactionAmount: -5000` is
50.00): a currency's minor units are its ISO 4217 exponent (JPY 0, EUR 2, BHD 3). The exponents come
from the `iso4217` package (ISO's current list one). The codes the public-transactions document still
lists although ISO has withdrawn them come from ISO 4217 list three (historic denominations), below.

Inside, money is always Decimal. An amount with more decimals than its currency has is refused where it
enters (a rejected line or a refused transaction), never rounded; so `minor_units` and `money_text`
only ever move the decimal point or add zeros.
"""

from __future__ import annotations

from decimal import Context, Decimal

import iso4217

#: withdrawn codes the public-transactions document still lists, with their minor units as ISO 4217
#: list three (historic denominations) gives them
HISTORIC_EXPONENTS: dict[str, int] = {
    "ANG": 2,  # Netherlands Antillean guilder, replaced by XCG (2025)
    "BGN": 2,  # Bulgarian lev, replaced by EUR (2026)
    "BYR": 0,  # Belarusian ruble, replaced by BYN (2016)
    "CUC": 2,  # Cuban convertible peso (2021)
    "HRK": 2,  # Croatian kuna, replaced by EUR (2023)
    "MRO": 2,  # Mauritanian ouguiya, replaced by MRU (2018)
    "SLL": 2,  # Sierra Leonean leone, replaced by SLE (2023)
    "STD": 2,  # Sao Tome and Principe dobra, replaced by STN (2018)
    "VEF": 2,  # Venezuelan bolivar fuerte, replaced by VES (2018)
    "ZWL": 2,  # Zimbabwean dollar, replaced by ZWG (2024)
}

#: the minor units of a currency ISO 4217 gives none ("N.A.": gold, SDR, testing codes): whole units
NO_MINOR_UNIT = 0

#: wide enough for any amount the ledger stores (38 significant digits) moved by any exponent: the
#: default context (28 digits) would round
_EXACT = Context(prec=80)

#: the minor units assumed when a line's currency is not known (neither the line, its statement nor its
#: bank account names one), or the code is not an ISO 4217 code
DEFAULT_EXPONENT = 2


def _current_exponents() -> dict[str, int]:
    table: dict[str, int] = {}
    for code, entry in iso4217.raw_table.items():
        units = str(entry.get("CcyMnrUnts") or "").strip()
        if code:
            table[code] = int(units) if units.isdigit() else NO_MINOR_UNIT
    return table


#: every currency with its minor units: ISO 4217 list one, then the historic codes above
EXPONENTS: dict[str, int] = {**HISTORIC_EXPONENTS, **_current_exponents()}

#: the currencies `POST /api/public/v1/transactions` accepts (`currency`, `originalCurrency`): exactly
#: the document's list, in its order
_DOCUMENT_LIST = """
AFN EUR ALL DZD USD AOA XCD ARS AMD AWG AUD AZN BSD BHD BDT BBD BYR BZD XOF BMD BTN INR BOB BOV BAM BWP NOK
BRL BND BGN BIF KHR XAF CAD CVE KYD CLF CLP CNY COP COU KMF CDF NZD CRC HRK CUC CUP ANG CZK DKK DJF DOP EGP
SVC ERN ETB FKP FJD XPF GMD GEL GHS GIP GTQ GBP GNF GYD HTG HNL HKD HUF ISK IDR XDR IRR IQD ILS JMD JPY JOD
KZT KES KPW KRW KWD KGS LAK LBP LSL ZAR LRD LYD CHF MOP MKD MGA MWK MYR MVR MRO MUR XUA MXN MXV MDL MNT MAD
MZN MMK NAD NPR NIO NGN OMR PKR PAB PGK PYG PEN PHP PLN QAR RON RUB RWF SHP WST STD SAR RSD SCR SLL SGD XSU
SBD SOS SSP LKR SDG SRD SZL SEK CHE CHW SYP TWD TJS TZS THB TOP TTD TND TRY TMT UGX UAH AED USN UYI UYU UZS
VUV VEF VND YER ZMW ZWL XBA XBB XBC XBD XTS XXX XAU XPD XPT XAG
"""
PUBLIC_CURRENCIES: tuple[str, ...] = tuple(_DOCUMENT_LIST.split())


def exponent(currency: str | None) -> int:
    """The minor units of `currency` (ISO 4217); DEFAULT_EXPONENT for an unknown or missing code."""
    if not currency:
        return DEFAULT_EXPONENT
    return EXPONENTS.get(currency.upper(), DEFAULT_EXPONENT)


def decimals(amount: Decimal) -> int:
    """How many decimals `amount` needs (trailing zeros do not count: `0.2400` needs 2)."""
    places = amount.as_tuple().exponent
    if not isinstance(places, int) or places >= 0:
        return 0
    return max(0, -amount.normalize(_EXACT).as_tuple().exponent)  # type: ignore[operator]


def fits(amount: Decimal, currency: str | None) -> bool:
    """Whether `amount` is a whole number of the currency's minor units (`0.001 EUR` is not)."""
    return decimals(amount) <= exponent(currency)


def minor_units(amount: Decimal, currency: str | None) -> int:
    """`amount` as an integer of minor units (`-50.00 EUR` -> -5000, `1500 JPY` -> 1500).

    An amount that does not fit (only data stored before amounts were checked) is rounded half-even
    here; the exact decimal is always written beside it."""
    return int(amount.scaleb(exponent(currency), _EXACT).to_integral_value(context=_EXACT))


def money_text(amount: Decimal, currency: str | None) -> str:
    """`amount` with its currency's decimals (`"500.00"`, `"0.24"`, `"1500"` for JPY); an amount with
    more decimals than that is written exactly, never rounded."""
    places = exponent(currency)
    if decimals(amount) > places:
        return format(amount.normalize(_EXACT), "f")
    return format(amount.quantize(Decimal(1).scaleb(-places), context=_EXACT), "f")
