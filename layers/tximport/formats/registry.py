"""The formats the service accepts. A new format is one module and one entry here."""

from __future__ import annotations

from tximport.errors import NotFound
from tximport.formats import camt, csv_mapped, json_v0, mt940, ofx, qif
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
            hands_blocks=True,
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
            hands_blocks=True,
            template=("tximport-3column.csv", "text/csv",
                      "date,description,amount\n2024-01-31,Salary,2500.00\n2024-02-01,Rent,-950.00\n"),
        ),
        FileFormat(
            file_format="CSV#mapped#v1",
            description="CSV export of any bank, read through the import's column mapping",
            variant="mapped",
            version=1,
            file_extensions=("CSV", "TXT", "TSV"),
            accounts_supported="single",
            parser=csv_mapped.parse_csv_mapped,
            hands_blocks=True,
            template=csv_mapped.TEMPLATE_MAPPED,
            options_schema=csv_mapped.mapping_options_schema(),
            validate_mapping=csv_mapped.CsvMapping.from_json,
        ),
        FileFormat(
            file_format="QIF#v1",
            description="Quicken Interchange Format: bank, credit card and cash sections",
            variant="QIF",
            version=1,
            file_extensions=("QIF",),
            accounts_supported="multi",
            parser=qif.parse_qif,
            amount_target="T",
            date_target="D",
            template=qif.TEMPLATE,
        ),
        FileFormat(
            file_format="JSON#v0",
            description="JSON document of bank accounts and their transactions",
            variant="JSON",
            version=0,
            file_extensions=("JSON",),
            accounts_supported="multi",
            parser=json_v0.parse_json_v0,
            template=json_v0.TEMPLATE,
            options_schema={"document": json_v0.JSON_SCHEMA},
        ),
        FileFormat(
            file_format="XML#OFX#v1",
            description="OFX 1.x (SGML) and 2.x (XML) statements, QFX: bank and credit card accounts",
            variant="OFX",
            version=1,
            file_extensions=("OFX", "QFX"),
            accounts_supported="multi",
            parser=ofx.parse_ofx,
            amount_target="STMTTRN/TRNAMT",
            date_target="STMTTRN/DTPOSTED",
        ),
        FileFormat(
            file_format="CAMT053#v1",
            reversals=True,
            description="ISO 20022 camt.053 bank to customer statement (versions .001.02 to .001.13)",
            variant="camt.053",
            version=1,
            file_extensions=("XML", "TXT"),
            accounts_supported="multi",
            parser=camt.parse_camt053,
        ),
        FileFormat(
            file_format="CAMT052#v1",
            reversals=True,
            description="ISO 20022 camt.052 bank to customer account report (intraday)",
            variant="camt.052",
            version=1,
            file_extensions=("XML", "TXT"),
            accounts_supported="multi",
            parser=camt.parse_camt052,
        ),
        FileFormat(
            file_format="CAMT054#v1",
            reversals=True,
            description="ISO 20022 camt.054 bank to customer debit/credit notification",
            variant="camt.054",
            version=1,
            file_extensions=("XML", "TXT"),
            accounts_supported="multi",
            parser=camt.parse_camt054,
        ),
        FileFormat(
            file_format="MT940#v1",
            reversals=True,
            description="SWIFT MT940 statements and MT942 interim reports",
            variant="MT940",
            version=1,
            file_extensions=("STA", "MT940", "TXT", "940"),
            accounts_supported="multi",
            parser=mt940.parse_mt940,
            amount_target=":61:",
            date_target=":61:",
        ),
    )
}


def get_format(file_format: str) -> FileFormat:
    try:
        return FORMATS[file_format]
    except KeyError:
        raise NotFound(f"unknown file format {file_format!r}", code="UnknownFileFormat",
                       target="fileFormat") from None
