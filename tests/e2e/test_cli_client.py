"""The `tximport` client commands against the local stack, run as a person runs them (a subprocess)."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import uuid
from decimal import Decimal
from pathlib import Path

import pytest

from tests.e2e.conftest import ROOT, StackProcess
from tests.support.client import Api
from tests.support.samples import SAMPLES
from tximport_cli.exitcodes import ExitCode

pytestmark = pytest.mark.e2e



class Cli:
    """Runs `tximport` for one fresh tenant, stdout piped (so: not a terminal)."""

    def __init__(self, stack: StackProcess) -> None:
        self.organisation, self.company = f"org-{uuid.uuid4().hex[:8]}", f"co-{uuid.uuid4().hex[:8]}"
        self.token = stack.token_for(self.organisation, self.company)
        self.api = Api(stack.base_url, self.token, self.organisation, self.company)
        self.env = {**os.environ, "TXIMPORT_API_URL": stack.base_url, "TXIMPORT_TOKEN": self.token,
                    "PYTHONUNBUFFERED": "1"}
        self.env.pop("NO_COLOR", None)

    def __call__(self, *args: str, stdin: str = "", env: dict[str, str] | None = None
                 ) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "tximport_cli.main", *args], cwd=ROOT, input=stdin,
                              capture_output=True, text=True, timeout=120, env={**self.env, **(env or {})})


@pytest.fixture()
def cli(real_stack: StackProcess) -> Cli:
    return Cli(real_stack)


def _account(cli: Cli, identifier: str) -> str:
    done = cli("accounts", "create", "--identifier", identifier, "--bank-id", "ABNA", "--country", "NLD",
               "--currency", "EUR", "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["id"]


def test_import_camt_with_auto_format_and_yes_lands_in_the_ledger(cli: Cli):
    # Given an account whose identifier is the IBAN of the sample statement
    account_id = _account(cli, "NL77ABNA0574908765")
    # When the file is imported with the format detected and confirmation given up front
    done = cli("import", str(SAMPLES / "camt053" / "oca-test-camt053.xml"), "--format", "auto",
               "--account", "NL77ABNA0574908765", "--yes")
    # Then the import completes, the report was printed, and the ledger holds the statement's lines
    assert done.returncode == ExitCode.OK, done.stdout + done.stderr
    assert "detected CAMT053#v1" in done.stdout
    assert "uploading oca-test-camt053.xml: 11,415 of 11,415 bytes" in done.stdout
    assert "status: awaitingConfirmation" in done.stdout and "status: complete" in done.stdout
    assert "credits                     1 totalling 1405.31" in done.stdout
    assert "date range                  2014-01-05 to 2014-01-05" in done.stdout  # the statement's days
    assert "\x1b[" not in done.stdout + done.stderr  # piped: plain text, no escape codes
    ledger = cli.api.ledger(account_id)
    assert len(ledger) == 4
    assert sum(Decimal(row["amount"]) for row in ledger) == Decimal("-12.99")


def test_fuzzy_matches_a_files_domestic_account_to_its_iban_account(cli: Cli, real_stack: StackProcess):
    """The sample OFX names BANKID 30001 and ACCTID 12345678901; the tenant's account is the IBAN holding them.
    Exact matching finds no account for it; --fuzzy does, on the service and when naming discovered accounts."""
    sample = str(SAMPLES / "ofx" / "oca-test_ofx_iban.ofx")
    account_id = _account(cli, "FR7630001007941234567890185")
    refused = cli("import", sample, "--yes")
    assert refused.returncode != ExitCode.OK and "no bank account matches" in refused.stderr, refused.stderr
    named = cli("import", sample, "--yes", "--account", account_id)
    assert named.returncode != ExitCode.OK, named.stdout
    done = cli("import", sample, "--yes", "--fuzzy", "--account", account_id)
    assert done.returncode == ExitCode.OK, done.stdout + done.stderr
    assert len(cli.api.ledger(account_id)) > 0
    other = Cli(real_stack)  # another tenant: discovery, then the discovered account named by the fuzzy rules
    _account(other, "FR7699999007941234567890188")  # the same number at another bank (99999) is not the file's
    account_id = _account(other, "FR7630001007941234567890185")
    done = other("import", sample, "--yes", "--fuzzy")
    assert done.returncode == ExitCode.OK, done.stdout + done.stderr
    assert f"file account 12345678901: bank account {account_id}" in done.stdout
    assert len(other.api.ledger(account_id)) > 0


def test_csv_import_uses_the_suggested_mapping_and_json_output_parses(cli: Cli):
    account_id = _account(cli, "CSV-" + uuid.uuid4().hex[:6])
    done = cli("import", str(SAMPLES / "csv" / "oca-debit_credit_amount.csv"), "--account", account_id, "--yes",
               "--json")
    assert done.returncode == ExitCode.OK, done.stderr
    answer = json.loads(done.stdout)  # stdout is one JSON document; progress went to stderr
    assert answer["fileFormat"] == "CSV#mapped#v1" and answer["status"] == "complete"
    assert answer["import"]["mapping"]["columns"]["debit"] == "Debit"
    assert answer["report"]["transactionDetailsCount"] == 4
    amounts = sorted(row["amount"] for row in cli.api.ledger(account_id))
    assert amounts == sorted(["20.00", "-13.50", "-33.50", "-1500.00"])
    ledger = cli("ledger", account_id, "--json")
    assert ledger.returncode == 0 and len(json.loads(ledger.stdout)) == 4


def test_without_yes_and_without_a_terminal_the_import_waits(cli: Cli, tmp_path: Path):
    account_id = _account(cli, "WAIT-" + uuid.uuid4().hex[:6])
    statement = tmp_path / "statement.csv"
    statement.write_text("date,description,amount\n2024-01-02,Coffee,-3.50\n2024-01-03,Salary,2500.00\n")
    done = cli("import", str(statement), "--account", account_id)
    assert done.returncode == ExitCode.NOT_CONFIRMED, done.stdout + done.stderr
    assert "detected Tabular3column#v1" in done.stdout
    assert "status: awaitingFileUpload" not in done.stdout  # uploaded: the status never seems to go back
    import_id = next(i["id"] for i in cli.api.ok("GET", "/imports")["data"])
    assert cli.api.get_import(import_id)["status"] == "awaitingConfirmation"
    review = cli("review", import_id, "--json")
    assert [r["amount"] for r in json.loads(review.stdout)] == ["-3.50", "2500.00"]
    confirmed = cli("confirm", import_id)
    assert confirmed.returncode == ExitCode.OK, confirmed.stderr
    assert cli.api.get_import(import_id)["status"] == "complete"
    shown = cli("show", import_id, "--json")
    assert json.loads(shown.stdout)["import"]["status"] == "complete"


def test_the_report_counts_possible_duplicates_apart_from_the_ledger_lines_on_the_files_days(cli: Cli, tmp_path: Path):
    account_id = _account(cli, "DUP-" + uuid.uuid4().hex[:6])
    first = tmp_path / "first.csv"
    first.write_text("date,description,amount\n2024-01-02,Coffee,-3.50\n2024-01-03,Salary,2500.00\n")
    assert cli("import", str(first), "--account", account_id, "--yes").returncode == ExitCode.OK
    # a later statement repeats the coffee and covers the salary's day with a new line
    second = tmp_path / "second.csv"
    second.write_text("date,description,amount\n2024-01-02,Coffee,-3.50\n2024-01-03,Bread,-2.00\n")
    done = cli("import", str(second), "--account", account_id)
    assert done.returncode == ExitCode.NOT_CONFIRMED, done.stdout + done.stderr
    assert "possible duplicates         1\n" in done.stdout  # the coffee
    assert "ledger lines on these days  2\n" in done.stdout  # the coffee and the salary


def test_ambiguous_csv_stops_and_lists_the_candidates(cli: Cli, tmp_path: Path):
    account_id = _account(cli, "AMB-" + uuid.uuid4().hex[:6])
    statement = tmp_path / "ambiguous.csv"
    statement.write_text("2024-01-02,Coffee,3.50,100.00\n2024-01-03,Salary,2500.00,2600.00\n")
    done = cli("import", str(statement), "--account", account_id, "--yes")
    assert done.returncode == ExitCode.FORMAT_UNDETECTED
    assert "format: ambiguous" in done.stdout
    assert "CSV#4col#v1" in done.stdout and "CSV#mapped#v1" in done.stdout
    assert cli.api.ok("GET", "/imports")["data"] == []  # nothing was created


def test_an_import_that_fails_exits_2_with_its_errors(cli: Cli, tmp_path: Path):
    account_id = _account(cli, "ERR-" + uuid.uuid4().hex[:6])
    statement = tmp_path / "dates.csv"
    statement.write_text("date,description,amount\n01/02/2024,Coffee,-3.50\n03/04/2024,Tea,-2.00\n")
    done = cli("import", str(statement), "--account", account_id, "--format", "Tabular3column#v1", "--yes")
    assert done.returncode == ExitCode.IMPORT_FAILED, done.stdout + done.stderr
    assert "AmbiguousDateStyle" in done.stdout
    assert "ended in error" in done.stderr


def test_api_errors_print_code_message_and_target(cli: Cli, tmp_path: Path):
    statement = tmp_path / "s.csv"
    statement.write_text("date,description,amount\n2024-01-02,Coffee,-3.50\n")
    account_id = _account(cli, "API-" + uuid.uuid4().hex[:6])
    done = cli("import", str(statement), "--account", account_id, "--format", "NoSuchFormat#v9")
    assert done.returncode == ExitCode.ERROR
    assert "404 UnknownFileFormat" in done.stderr and "target: fileFormat" in done.stderr
    bad_token = cli("list", env={"TXIMPORT_TOKEN": "not-a-token"})
    assert bad_token.returncode == ExitCode.ERROR and "401" in bad_token.stderr
    missing = cli("show", "no-such-import", "--json")
    assert missing.returncode == ExitCode.ERROR
    assert json.loads(missing.stdout)["error"]["status"] == 404


def test_unreachable_api_says_to_start_the_stack(cli: Cli):
    done = cli("formats", env={"TXIMPORT_API_URL": "http://127.0.0.1:9"})
    assert done.returncode == ExitCode.UNREACHABLE
    assert "is `make run` running?" in done.stderr
    # the connection options before the command, or after it (which wins)
    before = cli("--api-url", "http://127.0.0.1:9", "formats")
    assert before.returncode == ExitCode.UNREACHABLE and "127.0.0.1:9 " in before.stderr
    after = cli("--api-url", "http://127.0.0.1:9", "formats", "--api-url", "http://127.0.0.1:8")
    assert after.returncode == ExitCode.UNREACHABLE and "127.0.0.1:8 " in after.stderr


def test_plain_output_when_no_color_is_set_and_help_lists_exit_codes(cli: Cli):
    formats = cli("formats", env={"NO_COLOR": "1"})
    assert formats.returncode == 0 and "CAMT053#v1" in formats.stdout and "\x1b[" not in formats.stdout
    usage = cli("--help")
    assert "exit codes:" in usage.stdout and "5    --format auto could not tell" in usage.stdout
    assert cli("import").returncode == ExitCode.ERROR  # usage errors are 1


def test_detect_endpoint_answers_layout_and_refuses_large_samples(cli: Cli):
    content = base64.b64encode(b"Date;Text;Amount\n02.01.2024;Coffee;-3,50\n31.01.2024;Salary;2500,00\n")
    found = cli.api.ok("POST", "/fileformats/detect", json={"data": {"content": content.decode()}})["data"]
    assert found["fileFormat"] == "Tabular3column#v1"
    assert found["csv"]["delimiter"] == ";" and found["csv"]["decimalSeparator"] == ","
    assert found["csv"]["dateStyle"] == "littleEndian"
    big = base64.b64encode(b"x" * (64 * 1024 + 1)).decode()
    refused = cli.api.call("POST", "/fileformats/detect", json={"data": {"content": big}})
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "DetectSampleTooLarge"
    # qa48a 9: a sample longer than any JSON string may be (100,000 characters) is a sample too large all the same
    bigger = base64.b64encode(b"x" * 200_000).decode()
    refused = cli.api.call("POST", "/fileformats/detect", json={"data": {"content": bigger}})
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "DetectSampleTooLarge"
    assert refused.json()["error"]["details"] == [{"maxBytes": 65536}]
    no_token = cli.api.session.post(f"{cli.api.base_url}/fileformats/detect", json={"data": {"content": "eA=="}},
                                    timeout=10)
    assert no_token.status_code == 401


def test_import_without_account_discovers_the_files_accounts_and_creates_them(cli: Cli):
    sample = str(SAMPLES / "camt053" / "oca-test-camt053.xml")
    # no account matches: the command says which accounts the file holds and how to go on
    refused = cli("import", sample, "--format", "auto", "--yes")
    assert refused.returncode == ExitCode.ERROR
    assert "NL77ABNA0574908765" in refused.stdout + refused.stderr
    assert "--create-accounts" in refused.stderr
    # with --create-accounts the file's account is created and the statement imported
    done = cli("import", sample, "--format", "auto", "--yes", "--create-accounts")
    assert done.returncode == ExitCode.OK, done.stdout + done.stderr
    (account,) = [a for a in cli.api.ok("GET", "/bankaccounts")["data"]
                  if a["accountIdentifier"] == "NL77ABNA0574908765"]
    assert len(cli.api.ledger(account["id"])) == 4
    # the discovery imports were deleted: the list shows the one real import as complete
    statuses = [i["status"] for i in cli.api.ok("GET", "/imports")["data"]]
    assert statuses.count("complete") == 1


def test_create_accounts_creates_account_numbers_too_and_one_import_does_it_all(cli: Cli):
    sample = str(SAMPLES / "mt940" / "mt940-jejik-ing.sta")
    done = cli("import", sample, "--format", "MT940#v1", "--yes", "--create-accounts", "--country", "NLD")
    assert done.returncode == ExitCode.OK, done.stdout + done.stderr
    created = cli.api.ok("GET", "/bankaccounts")["data"]
    assert created and all(a["countryCode"] == "NLD" for a in created)  # not IBANs: account numbers
    imports = cli.api.ok("GET", "/imports")["data"]
    assert [i["status"] for i in imports] == ["complete"]  # discovery went on: no second upload, no second import


def test_a_discovery_that_ends_in_error_prints_the_error_details_and_exits_2(cli: Cli, tmp_path: Path):
    broken = tmp_path / "broken.json"
    broken.write_text('{"bankAccounts": [{"accountIdentifier": "X1", "transactions": [{"datePosted": "soon"}]}]}')
    done = cli("import", str(broken), "--format", "JSON#v0", "--yes", "--create-accounts")
    assert done.returncode == ExitCode.IMPORT_FAILED == 2, done.stdout + done.stderr
    assert "ended in error" in done.stderr


def test_revert_removes_the_imports_lines_and_says_how_many(cli: Cli):
    account_id = _account(cli, "NL77ABNA0574908765")
    done = cli("import", str(SAMPLES / "camt053" / "oca-test-camt053.xml"), "--format", "CAMT053#v1",
               "--account", "NL77ABNA0574908765", "--yes", "--json")
    assert done.returncode == ExitCode.OK, done.stdout + done.stderr
    import_id = json.loads(done.stdout)["importId"]
    assert len(cli.api.ledger(account_id)) == 4
    reverted = cli("revert", import_id)
    assert reverted.returncode == ExitCode.OK, reverted.stdout + reverted.stderr
    assert f"import {import_id} reverted: 4 line(s) removed" in reverted.stdout
    assert cli.api.ledger(account_id) == []
    missing = cli("revert", "../../etc")  # an id is one path segment, whatever it holds
    assert missing.returncode == ExitCode.ERROR and "path.import_id" in missing.stderr, missing.stderr


def test_a_file_naming_no_account_says_to_pass_the_account_and_a_directory_is_no_file(cli: Cli):
    done = cli("import", str(SAMPLES / "qif" / "oca-test_qif.qif"), "--format", "QIF#v1", "--yes")
    assert done.returncode == ExitCode.IMPORT_FAILED, done.stdout + done.stderr
    assert "the file names no bank account; pass --account ID|IBAN" in done.stderr
    folder = cli("import", str(SAMPLES / "qif"), "--yes")
    assert folder.returncode == ExitCode.ERROR and "a directory, not a file" in folder.stderr


def test_session_create_sends_its_target_value_as_a_json_number(cli: Cli):
    """The dialect takes `target_value` as the JSON number document 000 types it (number text is a 400)."""
    cli.api.ok("POST", "/workspaces", expect=201, json={"name": "Casa"})
    account = _account(cli, f"NL{uuid.uuid4().int % 10**10:010d}")
    done = cli("session", "create", "--account", account, "--month", "2024-03", "--target", "2438.85", "--json")
    assert done.returncode == 0, done.stderr
    assert Decimal(str(json.loads(done.stdout)["target_value"])) == Decimal("2438.85")
