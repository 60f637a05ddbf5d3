"""Pagination cursors are sealed with the deployment's key: a client can follow them, never forge or
change one, nor use one in another tenant's or another listing's pages."""

from __future__ import annotations

import pytest

from tximport.errors import ValidationFailed
from tximport.storage.pagination import CursorSigner, encode_cursor

KEY = b"k" * 32
SCOPE = "org\x1fco\x1fimports\x1f"


def _refused(signer: CursorSigner, sealed: str | None, scope: str = SCOPE) -> None:
    with pytest.raises(ValidationFailed) as refused:
        signer.open(sealed, scope)
    assert (refused.value.code, refused.value.target, refused.value.status_code) == ("InvalidCursor", "cursor", 400)


def test_a_sealed_cursor_opens_to_the_storage_cursor():
    signer = CursorSigner(KEY)
    cursor = encode_cursor({"pk": "T#org#co", "sk": "IMPORT#0190f7a2"})
    sealed = signer.seal(cursor, SCOPE)
    assert sealed is not None and sealed.startswith(f"{cursor}.")
    assert signer.open(sealed, SCOPE) == cursor
    assert signer.seal(None, SCOPE) is None and signer.open(None, SCOPE) is None and signer.open("", SCOPE) is None


@pytest.mark.parametrize("forged", [
    {"pk": 1}, {"x": "y"}, {"c": -100}, {"pk": "T#other#tenant", "sk": "IMPORT#1"}, {"day": "zz"},
])
def test_a_cursor_made_up_by_a_client_is_refused(forged):
    signer = CursorSigner(KEY)
    plain = encode_cursor(forged)
    _refused(signer, plain)
    _refused(signer, f"{plain}.{'A' * 43}")
    _refused(signer, CursorSigner(b"another key of at least 32 bytes!!").seal(plain, SCOPE))


def test_a_changed_cursor_is_refused():
    signer = CursorSigner(KEY)
    sealed = signer.seal(encode_cursor({"c": 1, "s": 100}), SCOPE)
    assert sealed is not None
    cursor, mac = sealed.split(".")
    _refused(signer, encode_cursor({"c": 1, "s": 101}) + "." + mac)
    _refused(signer, cursor + "." + ("B" if mac[0] != "B" else "C") + mac[1:])
    _refused(signer, sealed + "x")


def test_a_cursor_is_valid_for_its_own_tenant_and_listing_only():
    signer = CursorSigner(KEY)
    sealed = signer.seal(encode_cursor({"day": "2024-03-01"}), "org\x1fco\x1fledger\x1facc-1")
    _refused(signer, sealed, "org\x1fco\x1fledger\x1facc-2")
    _refused(signer, sealed, "org\x1fco2\x1fledger\x1facc-1")
    _refused(signer, sealed, "org\x1fco\x1freviewtransactions\x1facc-1")


@pytest.mark.parametrize("garbage", ["%%%", "a.b", "é." + "A" * 43, "x" * 3000 + "." + "A" * 43, "\ud800"])
def test_garbage_is_refused(garbage: str):
    _refused(CursorSigner(KEY), garbage)


def test_a_short_key_is_refused():
    with pytest.raises(ValueError, match="32 bytes"):
        CursorSigner(b"short")
