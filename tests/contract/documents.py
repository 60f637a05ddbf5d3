"""The request and response examples of the two documents in shared/reference, as a client written against
them sends and expects them (ids and dates normalised: they are the document's own), and the check that an
answer has the documented shape and types.

A documented value fixes the type of its field: a number is an integer (the document writes money as
integers of minor units), a string is a string (and one written as an ISO datetime must be one, with
milliseconds and a Z), a list is a list whose items have the shape of its first documented item. A
documented null fixes nothing (the document shows `"links": null` where we give links), and a documented
empty string (an unknown bankIdentifier) may be null. Our own fields
beside the documented ones are allowed: a client ignores what it does not know.
"""

from __future__ import annotations

import re
from typing import Any

DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


def mismatches(actual: Any, documented: Any, where: str = "$") -> list[str]:
    """Where `actual` departs from the documented example's shape and types (empty when it conforms)."""
    if documented is None:
        return []
    if isinstance(documented, bool):
        return [] if isinstance(actual, bool) else [f"{where}: {actual!r} is not a boolean"]
    if isinstance(documented, int | float):
        if isinstance(actual, bool) or not isinstance(actual, int):
            return [f"{where}: {actual!r} is not an integer"]
        return []
    if isinstance(documented, str):
        if documented == "" and actual is None:
            return []  # the document writes an unknown value as "" (bankIdentifier): we write null
        if not isinstance(actual, str):
            return [f"{where}: {actual!r} is not a string"]
        if DATETIME.match(documented) and not DATETIME.match(actual):
            return [f"{where}: {actual!r} is not an ISO datetime with milliseconds and Z"]
        return []
    if isinstance(documented, list):
        if not isinstance(actual, list):
            return [f"{where}: {actual!r} is not a list"]
        if not documented:
            return []
        return [m for i, item in enumerate(actual) for m in mismatches(item, documented[0], f"{where}[{i}]")]
    if not isinstance(actual, dict):
        return [f"{where}: {actual!r} is not an object"]
    found = []
    for key, value in documented.items():
        if key not in actual:
            found.append(f"{where}.{key}: missing")
        else:
            found.extend(mismatches(actual[key], value, f"{where}.{key}"))
    return found


# --- 002: the file-import document ------------------------------------------------------------------
FILE_FORMATS_RESPONSE = {
    "data": [{"fileFormat": "CSV#4col#v1", "description": "CSV file with 4 columns", "variant": "4col",
              "version": 1, "maxFileSize": 250000000, "fileExtensions": ["CSV"], "accountsSupported": "single"}],
    "meta": {}, "error": None,
}

#: POST /imports (the document's Postman variables filled in by the test)
CREATE_IMPORT_REQUEST = {"data": {
    "source": "test", "apiType": "single", "fileFormat": "Tabular3column#v1", "fileName": "test",
    "bankId": "168efa64-5317-4607-b1d5-1e66eb8c3cda", "description": "This is my description",
    "dateStyle": "bigEndian",
    "bankAccounts": [{"id": "<bankAccountId>", "countryCode": "GBR", "accountIdentifier": "<bankAccountId>"}],
}}

CREATE_IMPORT_RESPONSE = {
    "data": {
        "id": "4760ec90-0ae3-4a6f-9f68-5d9f4b85bb3e", "status": "awaitingFileUpload",
        "importResponse": {
            "_id": "4760ec90-0ae3-4a6f-9f68-5d9f4b85bb3e", "companyId": "237fff2a-2820-4902-b089-d320befddc53",
            "dateStyle": "bigEndian", "fileFormat": "Tabular3column#v1", "fileName": "test",
            "description": "This is my description",
            "bankAccounts": [{"id": "60faaf04-6bb1-4b31-b23c-ade85b680228", "countryCode": "GBR",
                              "accountIdentifier": "60faaf04-6bb1-4b31-b23c-ade85b680228",
                              "transactionSign": "original"}],
            "bankId": "168efa64-5317-4607-b1d5-1e66eb8c3cda", "reviewLevel": "fullReview", "source": "test",
            "apiType": "single", "fuzzyAccountMatching": False, "bypassReplayValidation": False,
        },
    },
    "links": {"uploadPath": "https://bucket.s3.eu-west-1.amazonaws.com/test/237fff2a/4760ec90?X-Amz-Signature=x"},
    "meta": {}, "error": None,
}

#: the document's statement: five lines whose sums it shows (5000 + 220 and -5000 - 5000 - 1000)
STATEMENT_CSV = (b"Date,Description,Amount\n2004-10-11,Shoe purchase,-50.00\n"
                 b"2004-10-12,Shoe purchase another pair,-50.00\n2004-10-13,Shoes refund,50.00\n"
                 b"2004-10-14,T-shirt purchase,-10.00\n2004-10-15,Coffee purchase refund,2.20\n")

GET_IMPORT_RESPONSE = {
    "data": {
        "validationDetails": [], "fileName": "test", "companyId": "237fff2a-2820-4902-b089-d320befddc53",
        "reviewLevel": "fullReview", "fileFormat": "Tabular3column#v1",
        "s3FilePath": "test/237fff2a-2820-4902-b089-d320befddc53/229c6267-4187-4f52-b0c2-3678f79d7520",
        "status": "awaitingConfirmation", "dateStyle": "bigEndian",
        "bankAccounts": [{"accountIdentifier": "60faaf04-6bb1-4b31-b23c-ade85b680228",
                          "id": "60faaf04-6bb1-4b31-b23c-ade85b680228", "transactionSign": "original",
                          "countryCode": "GBR"}],
        "fuzzyAccountMatching": False,
        "statement": {"summary": {
            "accountDetailsCount": 1, "transactionRangeStartDate": "2004-10-11T11:30:00.000Z",
            "transactionCreditSum": 5220, "transactionCreditCount": 2, "transactionDetailsCount": 5,
            "transactionDateOverlapCount": 0, "transactionDebitSum": -11000,
            "transactionRangeEndDate": "2004-10-15T11:30:00.000Z", "transactionDebitCount": 3},
            "id": "70f29b27-c49f-487b-bc4d-219e3b781f7e"},
        "executionArn": "arn:aws:states:eu-west-1:635610206560:execution:Step:0e699cfd",
        "bankId": "168efa64-5317-4607-b1d5-1e66eb8c3cda", "bypassReplayValidation": False,
        "_id": "229c6267-4187-4f52-b0c2-3678f79d7520",
        "statusMonitor": {"pollFirstAttempt": "2022-08-17T10:21:36.811Z", "pollAttempts": 10,
                          "pollLastAttempt": "2022-08-17T10:23:14.019Z"},
        "fileUploaded": True, "validationDetailsCount": 0, "organisationId": "f5a9de10-4d8a-44ca-b27a-c364c8c0199b",
        "created": "2022-08-17T10:20:21.945Z", "updated": "2022-08-17T10:20:21.945Z", "accountIdentifiers": [],
        "errorDetails": [], "description": "This is my description", "sourceProduct": "sage.integrate.myproduct",
        "apiType": "single",
    },
    "links": None, "meta": {}, "error": None,
}

ERROR_IMPORT_RESPONSE = {
    "data": {
        "validationDetails": [], "fileName": "newImport", "companyId": "237fff2a", "reviewLevel": "fullReview",
        "fileFormat": "JSON#v0", "s3FilePath": "test/237fff2a/a6556b59", "status": "error",
        "dateStyle": "littleEndian",
        "bankAccounts": [{"accountIdentifier": "JEFF2", "id": "60faaf04", "transactionSign": "original",
                          "countryCode": "GBR", "bankIdentifier": ""}],
        "fuzzyAccountMatching": True, "executionArn": "arn:aws:states:eu-west-1:635610206560:execution:Step:2fdb",
        "bankId": "168efa64", "bypassReplayValidation": False, "_id": "a6556b59", "fileUploaded": True,
        "validationDetailsCount": 0, "organisationId": "f5a9de10", "created": "2022-08-17T09:26:15.822Z",
        "updated": "2022-08-17T09:26:15.822Z",
        "errorDetails": [{"severity": "error", "message": "Failed to parse file", "code": "ProcessingError"}],
        "description": "This is my description", "sourceProduct": "sage.integrate.myproduct", "apiType": "multi",
    },
    "links": None, "meta": {}, "error": None,
}

ERROR_DETAILS_RESPONSE = {"data": [{
    "code": "RequiredValueMissing", "actualValue": "actualValue",
    "message": "Invalid postcode: postcode must 8 characters long in the format NE13 9AA", "lineNumber": 1,
    "target": "$['toplevel']['nextlevel'][0].['postcode']"}]}

REVIEW_RESPONSE = {
    "data": [{
        "transactionId": "2004-10-11T11:30:00.000Z-52e6d2e9-60faaf04-1-1", "bankAccountId": "60faaf04",
        "transactionAmount": -5000, "transactionType": "DEBIT", "datePosted": "2004-10-11T11:30:00.000Z",
        "description": "Shoe purchase", "possibleDuplicate": False}],
    "links": {}, "meta": {"transactionCount": 5, "creditCount": 2, "debitCount": 3, "dateOverlapCount": 0},
    "error": None,
}
#: the document's review rows: (transactionAmount, transactionType, datePosted, description)
REVIEW_ROWS = [
    (-5000, "DEBIT", "2004-10-11T00:00:00.000Z", "Shoe purchase"),
    (-5000, "DEBIT", "2004-10-12T00:00:00.000Z", "Shoe purchase another pair"),
    (5000, "CREDIT", "2004-10-13T00:00:00.000Z", "Shoes refund"),
    (-1000, "DEBIT", "2004-10-14T00:00:00.000Z", "T-shirt purchase"),
    (220, "CREDIT", "2004-10-15T00:00:00.000Z", "Coffee purchase refund"),
]

#: GET /imports/{id}/amendtransactions with this body (the document writes the id unquoted)
AMEND_REQUEST = {"data": {"flipTransactions": {"bankAccountIds": ["<bankAccountId>"]}}}

LIST_IMPORTS_RESPONSE = {"data": [ERROR_IMPORT_RESPONSE["data"]], "links": {}, "meta": {}, "error": None}

# --- 001: the public transactions document ----------------------------------------------------------
PUBLIC_REQUEST = {"transactions": [{
    "accountIdentifier": "<accountIdentifier>", "transactionId": "string", "text": "string", "creditDebit": "credit",
    "amount": "string", "currency": "AFN", "originalAmount": "string", "originalCurrency": "AFN",
    "purchasedAt": "1970-01-01", "valutaAt": "1970-01-01", "bookedAt": "1970-01-01"}]}
PUBLIC_RESPONSE = {"existingTransactions": 0, "newTransactions": 0, "errorTransactions": 0}
