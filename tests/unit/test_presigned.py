"""The local stack's check of presigned S3 URLs, with botocore (which signs them) as the oracle."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import unquote, urlsplit

import boto3
import pytest
from botocore.config import Config

from tximport_cli.local import presigned

SECRETS = {"AKIDLOCAL": "local-secret-key"}
HOST = "127.0.0.1:4566"


def _url(key: str, *, expires: int = 900, secret: str = "local-secret-key", token: str | None = "tok",
         version: str = "s3v4") -> str:
    s3 = boto3.client("s3", endpoint_url=f"http://{HOST}", region_name="us-east-1", aws_access_key_id="AKIDLOCAL",
                      aws_secret_access_key=secret, aws_session_token=token,
                      config=Config(signature_version=version, s3={"addressing_style": "path"}))
    return s3.generate_presigned_url("put_object", Params={"Bucket": "bucket", "Key": key}, ExpiresIn=expires)


def _check(url: str, *, method: str = "PUT", host: str = HOST, now: datetime | None = None,
           headers: dict[str, str] | None = None):
    parts = urlsplit(url)
    # a WSGI server hands the path over percent-decoded
    return presigned.check(method=method, path=unquote(parts.path).encode(), query_string=parts.query,
                           headers={"host": host, **(headers or {})}, secrets=SECRETS, now=now)


@pytest.mark.parametrize("key", [
    "uploads/org-1/co-1/0190f7a2-5b1e-7c3d-9a4b-1234567890ab",
    "uploads/a b/c+d/e=f&g",
    "uploads/ünïcødé/€/x~y_z.-",
    "uploads/quote'(paren)*!/semi;colon:at@dollar$",
])
def test_urls_botocore_signed_are_accepted(key):
    assert _check(_url(key)) is None


def test_a_url_without_a_session_token_is_accepted():
    assert _check(_url("uploads/o/c/i", token=None)) is None


@pytest.mark.parametrize(("change", "code"), [
    (lambda u: u.replace("/uploads/o/c/i1", "/uploads/o/c/i2"), "SignatureDoesNotMatch"),
    (lambda u: u.replace("/uploads/o/c/i1", "/uploads/o/x/i1"), "SignatureDoesNotMatch"),
    (lambda u: u.replace("X-Amz-Expires=900", "X-Amz-Expires=901"), "SignatureDoesNotMatch"),
    (lambda u: u.replace("X-Amz-Security-Token=tok", "X-Amz-Security-Token=other"), "SignatureDoesNotMatch"),
    (lambda u: u + "&extra=1", "SignatureDoesNotMatch"),
    (lambda u: u[:-1] + ("0" if u[-1] != "0" else "1"), "SignatureDoesNotMatch"),
    (lambda u: u.replace("X-Amz-Credential=AKIDLOCAL", "X-Amz-Credential=AKIDOTHER"), "InvalidAccessKeyId"),
    (lambda u: u.replace("X-Amz-Algorithm=AWS4-HMAC-SHA256", "X-Amz-Algorithm=AWS4-HMAC-SHA1"),
     "AuthorizationQueryParametersError"),
    (lambda u: u.replace("X-Amz-Expires=900", "X-Amz-Expires=604801"), "AuthorizationQueryParametersError"),
    (lambda u: u.replace("X-Amz-SignedHeaders=host", "X-Amz-SignedHeaders="), "AuthorizationQueryParametersError"),
])
def test_a_changed_url_is_refused(change, code):
    refusal = _check(change(_url("uploads/o/c/i1")))
    assert refusal is not None and refusal.code == code
    assert refusal.status in (400, 403)


def test_another_method_or_host_than_signed_is_refused():
    url = _url("uploads/o/c/i1")
    assert _check(url, method="GET").code == "SignatureDoesNotMatch"
    assert _check(url, host="localhost:4566").code == "SignatureDoesNotMatch"


def test_a_url_signed_with_another_secret_is_refused():
    assert _check(_url("uploads/o/c/i1", secret="not-the-secret")).code == "SignatureDoesNotMatch"


def test_expiry_and_clock_skew():
    url = _url("uploads/o/c/i1", expires=60)
    signed = datetime.now(UTC)
    assert _check(url, now=signed + timedelta(seconds=55)) is None
    expired = _check(url, now=signed + timedelta(seconds=65))
    assert (expired.status, expired.code, expired.message) == (403, "AccessDenied", "Request has expired")
    early = _check(url, now=signed - timedelta(minutes=20))
    assert (early.status, early.code) == (403, "AccessDenied")


def test_the_refusal_is_s3s_xml():
    body = presigned.S3Refusal(403, "AccessDenied", "Request has expired & <gone>").xml("REQ1").decode()
    assert "<Code>AccessDenied</Code>" in body and "<RequestId>REQ1</RequestId>" in body
    assert "&amp; &lt;gone>" in body


# --- signature version 2 (a default boto3 S3 client's presigned URLs) -----------------------------------
@pytest.mark.parametrize("key", ["uploads/o/c/i1", "uploads/a b/c+d/e=f&g", "uploads/ünïcødé/€/x~y_z.-"])
def test_version_2_urls_botocore_signed_are_accepted(key):
    url = _url(key, version="s3")
    assert "Signature=" in url and "X-Amz-Signature" not in url
    assert _check(url) is None


@pytest.mark.parametrize("change", [
    lambda u: u.replace("/uploads/o/c/i1", "/uploads/o/c/i2"),
    lambda u: u.replace("x-amz-security-token=tok", "x-amz-security-token=other"),
])
def test_a_changed_version_2_url_is_refused(change):
    url = _url("uploads/o/c/i1", version="s3")
    assert _check(change(url)).code == "SignatureDoesNotMatch"
    assert _check(url, method="GET").code == "SignatureDoesNotMatch"
    # version 2 signs the Content-Type: a PUT with another one than signed is refused, as by S3
    assert _check(url, headers={"content-type": "text/csv"}).code == "SignatureDoesNotMatch"


def test_a_version_2_url_expires():
    url = _url("uploads/o/c/i1", version="s3", expires=60)
    now = datetime.now(UTC)
    assert _check(url, now=now + timedelta(seconds=55)) is None
    assert _check(url, now=now + timedelta(seconds=65)).message == "Request has expired"
