"""Issue 8 bullets through HTTP that the contract tier does not replay: full filtered pages with the filter
kept in links.next, unknown routes answered by the api function in the envelope, polls counted without
changing the import, the tenant's ledger across accounts."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

from tests.support.client import Api


def test_a_status_filter_fills_its_pages_and_keeps_the_filter_in_links_next(api: Api):
    made = [api.create_import(api.create_account()) for _ in range(5)]
    for import_id, upload in (made[1], made[3]):  # an empty file: these end in error
        api.upload(upload, b"")
        api.wait(import_id, "error")
    waiting = [import_id for import_id, _ in made[0::2]]
    first = api.ok("GET", "/imports", params={"status": "awaitingFileUpload", "pageSize": 2})
    assert len(first["data"]) == 2 and {i["status"] for i in first["data"]} == {"awaitingFileUpload"}
    query = parse_qs(urlparse(first["links"]["next"]).query)
    assert query["status"] == ["awaitingFileUpload"] and query["pageSize"] == ["2"]
    seen = [i["id"] for i in first["data"]]
    link = first["links"]["next"]
    assert [i["id"] for i in first["data"]] == [waiting[2], waiting[1]]  # a full page, the error ones skipped
    while link:
        page = api.ok("GET", link)
        assert page["data"] and {i["status"] for i in page["data"]} == {"awaitingFileUpload"}
        seen += [i["id"] for i in page["data"]]
        link = (page.get("links") or {}).get("next")
    assert seen == list(reversed(waiting))
    assert api.ok("GET", "/imports", params={"status": "complete"})["data"] == []


def test_unknown_routes_answer_404_in_the_envelope_with_or_without_a_token(api: Api):
    for token in (api.token, "not-a-token"):
        answer = api.call("GET", "/nowhere/at/all", token=token)
        assert answer.status_code == 404
        assert answer.json() == {"data": None, "links": None, "meta": {},
                                 "error": {"code": "RouteNotFound", "message": "no such route"}}


def test_a_path_answered_with_other_methods_is_405_naming_them_in_each_dialect(api: Api):
    """A route's path with a method it does not take is 405 with `Allow` (it was 404 RouteNotFound), in the
    dialect's own error shape; a path no route has stays 404."""
    cases = [("PATCH", "/imports/x", "GET, DELETE"), ("PATCH", "/import-sessions/x", "DELETE, GET, PUT"),
             ("PUT", "/baas/api/v1/reconciliations", "GET, POST")]
    for method, path, allowed in cases:
        answer = api.call(method, path)
        reconciliations = path.startswith("/baas/")  # its document's codes know no 405: NOT_FOUND
        assert answer.status_code == (404 if reconciliations else 405), (path, answer.text)
        assert sorted(answer.headers["Allow"].split(", ")) == sorted(allowed.split(", ")), path
        body = answer.json()
        code, field = ((body["details"]["reason"], body["details"]["field"]) if reconciliations else
                       (body["code"], body["field"]) if isinstance(body["error"], str) else
                       (body["error"]["code"], body["error"]["target"]))
        assert (code, field) == ("MethodNotAllowed", "method"), body
    assert api.call("PATCH", "/nowhere/at/all").status_code == 404


def test_a_poll_is_counted_but_never_changes_the_import(api: Api):
    import_id, _ = api.create_import(api.create_account())
    first = api.get_import(import_id)
    second = api.get_import(import_id)
    assert (first["statusMonitor"]["pollAttempts"], second["statusMonitor"]["pollAttempts"]) == (1, 2)
    assert second["updated"] == first["updated"]  # the versioned document did not change
    assert second["statusMonitor"]["pollFirstAttempt"] == first["statusMonitor"]["pollFirstAttempt"]
    listed = api.ok("GET", "/imports")["data"][0]
    assert listed["statusMonitor"]["pollAttempts"] == 2


def test_the_tenants_ledger_across_accounts_by_account_dates_and_import(api: Api):
    one, two = api.create_account("GB33BUKB20201555555555"), api.create_account("DE89370400440532013000")
    first = api.import_file(one, b"Date,Description,Amount\n2024-01-02,Coffee,-3.50\n2024-01-05,Tea,-2.00\n")
    api.confirm_and_complete(first["id"])
    second = api.import_file(two, b"Date,Description,Amount\n2024-01-03,Salary,2500.00\n")
    api.confirm_and_complete(second["id"])
    everything = api.ok("GET", "/transactions", params={"pageSize": 2})
    assert [r["description"] for r in everything["data"]] == ["Tea", "Salary"]
    rest = api.ok("GET", everything["links"]["next"])
    assert [r["description"] for r in rest["data"]] == ["Coffee"] and not rest["links"]
    ranged = api.ok("GET", "/transactions", params={"dateFrom": "2024-01-03", "dateTo": "2024-01-05",
                                                    "bankAccountId": one})["data"]
    assert [r["description"] for r in ranged] == ["Tea"]
    by_import = api.ok("GET", "/transactions", params={"importId": second["id"]})["data"]
    assert [(r["description"], r["transactionAmount"], r["importId"]) for r in by_import] == [
        ("Salary", 250000, second["id"])]
    assert api.call("GET", "/transactions", params={"bankAccountId": "nope"}).status_code == 404
