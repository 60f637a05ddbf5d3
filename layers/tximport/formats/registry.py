"""The formats the service accepts. A new format is one module and one entry here."""

from __future__ import annotations

from tximport.errors import NotFound
from tximport.formats.base import FileFormat
from tximport.formats.tabular import parse_csv_4col, parse_tabular_3col

FORMATS: dict[str, FileFormat] = {
    f.file_format: f
    for f in (
        FileFormat(
            file_format="CSV#4col#v1",
            description="CSV file with 4 columns: date, description, credit, debit",
            variant="4col",
            version=1,
            file_extensions=("CSV",),
            accounts_supported="single",
            parser=parse_csv_4col,
            template=("tximport-4col.csv", "text/csv",
                      "date,description,credit,debit\n2024-01-31,Salary,2500.00,\n2024-02-01,Rent,,950.00\n"),
        ),
        FileFormat(
            file_format="Tabular3column#v1",
            description="CSV file with 3 columns: date, description, signed amount",
            variant="3column",
            version=1,
            file_extensions=("CSV", "TXT"),
            accounts_supported="single",
            parser=parse_tabular_3col,
            template=("tximport-3column.csv", "text/csv",
                      "date,description,amount\n2024-01-31,Salary,2500.00\n2024-02-01,Rent,-950.00\n"),
        ),
    )
}


def get_format(file_format: str) -> FileFormat:
    try:
        return FORMATS[file_format]
    except KeyError:
        raise NotFound(f"unknown file format {file_format!r}", code="UnknownFileFormat",
                       target="fileFormat") from None
