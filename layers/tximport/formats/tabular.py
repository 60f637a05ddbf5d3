"""The fixed tabular layouts: `CSV#4col#v1` (date, description, credit, debit) and
`Tabular3column#v1` (date, description, signed amount).

Both are the mapped CSV engine (`tximport.formats.csv_mapped`) with a fixed mapping by position, so
they read the same encodings, delimiters (`,` `;` tab `|`), number styles and date styles. The header
row is optional: the first row is a header when its date cell holds no digit.
"""

from __future__ import annotations

from collections.abc import Iterator

from tximport.formats.base import ParseEvent, ParseOptions, Source
from tximport.formats.csv_mapped import CsvMapping, parse_with_mapping
from tximport.formats.encoding import guarded

MAPPING_4COL = CsvMapping.from_json({"columns": {"date": 0, "description": 1, "credit": 2, "debit": 3}})
MAPPING_3COL = CsvMapping.from_json({"columns": {"date": 0, "description": 1, "amount": 2}})

TEMPLATE_4COL = (
    "tximport-4col.csv",
    "text/csv",
    "date,description,credit,debit\n2024-01-31,Salary,2500.00,\n2024-02-01,Rent,,950.00\n",
)
TEMPLATE_3COL = (
    "tximport-3column.csv",
    "text/csv",
    "date,description,amount\n2024-01-31,Salary,2500.00\n2024-02-01,Rent,-950.00\n",
)


@guarded
def parse_csv_4col(source: Source, options: ParseOptions) -> Iterator[ParseEvent]:
    """Date, description, credit, debit: amount = credit - |debit|."""
    # returned, not re-yielded: the guard iterates it, one generator frame less per row
    return parse_with_mapping(source, options, MAPPING_4COL, expected_columns=4)


@guarded
def parse_tabular_3col(source: Source, options: ParseOptions) -> Iterator[ParseEvent]:
    """Date, description, signed amount."""
    return parse_with_mapping(source, options, MAPPING_3COL, expected_columns=3)
