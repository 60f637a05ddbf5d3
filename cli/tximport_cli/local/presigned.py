"""S3's check of a presigned URL, for the local stack.

moto stores whatever reaches a presigned URL: a URL whose key, expiry or signature was changed, or
one that expired an hour ago, still uploads. S3 refuses those with a 403, and a client can tell. This
module recomputes the signature the way S3 does from the request as it arrived, with the secret of the
access key the URL names, and checks the validity window: Signature Version 4 query authentication (the
canonical request with `UNSIGNED-PAYLOAD`; what the service signs) written out here, and version 2
(what a default boto3 S3 client still signs) through botocore's own signer. botocore signs the URLs; the
tests use it as the oracle for both.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, unquote, urlsplit

ALGORITHM = "AWS4-HMAC-SHA256"
#: the longest validity S3 accepts for a SigV4 presigned URL (7 days)
MAX_EXPIRES_SECONDS = 7 * 24 * 3600
#: how far in the future X-Amz-Date may lie (S3 allows for clock skew)
MAX_CLOCK_SKEW = timedelta(minutes=15)


@dataclass(frozen=True)
class S3Refusal:
    """What S3 answers instead of doing the request."""

    status: int
    code: str
    message: str

    def xml(self, request_id: str) -> bytes:
        """S3's XML error body."""
        message = self.message.replace("&", "&amp;").replace("<", "&lt;")
        return (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{self.code}</Code>'
                f"<Message>{message}</Message><RequestId>{request_id}</RequestId></Error>").encode()


def is_presigned(query_string: str) -> bool:
    """True when the query carries a query signature (version 4 or 2)."""
    return "x-amz-signature=" in query_string.lower() or "Signature=" in query_string


def _params(query_string: str) -> list[tuple[str, str]]:
    pairs = []
    for part in query_string.split("&"):
        if part:
            name, _, value = part.partition("=")
            pairs.append((unquote(name), unquote(value)))
    return pairs


def _encode(text: str) -> str:
    """SigV4's URI encoding: everything but the unreserved characters A-Z a-z 0-9 - _ . ~ as %XX."""
    return quote(text, safe="-_.~")


def canonical_query(params: list[tuple[str, str]]) -> str:
    """Every query parameter but the signature, encoded, sorted by name and value."""
    encoded = sorted((_encode(k), _encode(v)) for k, v in params if k != "X-Amz-Signature")
    return "&".join(f"{k}={v}" for k, v in encoded)


def canonical_uri(path: bytes) -> str:
    """S3 signs the (percent-decoded) path with each byte outside the unreserved set and `/` encoded once."""
    return quote(path, safe="/-_.~")


def signature(secret_key: str, *, method: str, path: bytes, params: list[tuple[str, str]],
              headers: Mapping[str, str], signed_headers: list[str], amz_date: str, scope: str) -> str:
    """The SigV4 signature of a presigned request (payload UNSIGNED-PAYLOAD)."""
    canonical_headers = "".join(f"{name}:{' '.join(headers.get(name, '').split())}\n" for name in signed_headers)
    canonical_request = "\n".join([method, canonical_uri(path), canonical_query(params), canonical_headers,
                                   ";".join(signed_headers), "UNSIGNED-PAYLOAD"])
    string_to_sign = "\n".join([ALGORITHM, amz_date, scope, hashlib.sha256(canonical_request.encode()).hexdigest()])
    date, region, service, terminal = scope.split("/")
    key = ("AWS4" + secret_key).encode()
    for part in (date, region, service, terminal):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()


def check(*, method: str, path: bytes, query_string: str, headers: Mapping[str, str],
          secrets: Mapping[str, str], now: datetime | None = None) -> S3Refusal | None:
    """None when S3 would accept this presigned request, else what it would answer.

    `path` is the request's path, percent-decoded (as a WSGI server hands it over); `headers` are keyed
    in lower case; `secrets` maps access key ids to their secret keys.
    """
    params = _params(query_string)
    given = dict(params)
    now = now or datetime.now(UTC)
    if "AWSAccessKeyId" in given and "Signature" in given:
        return _check_v2(method=method, path=path, query_string=query_string, given=given, headers=headers,
                         secrets=secrets, now=now)
    if given.get("X-Amz-Algorithm") != ALGORITHM:
        return S3Refusal(400, "AuthorizationQueryParametersError", "X-Amz-Algorithm only supports 'AWS4-HMAC-SHA256'")
    credential = given.get("X-Amz-Credential", "").split("/")
    amz_date, expires = given.get("X-Amz-Date", ""), given.get("X-Amz-Expires", "")
    signed_headers = [h for h in given.get("X-Amz-SignedHeaders", "").split(";") if h]
    if len(credential) != 5 or credential[4] != "aws4_request" or not signed_headers or "host" not in signed_headers:
        return S3Refusal(400, "AuthorizationQueryParametersError",
                         "the query's X-Amz-Credential or X-Amz-SignedHeaders is malformed")
    try:
        signed_at = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        lifetime = int(expires)
    except ValueError:
        return S3Refusal(400, "AuthorizationQueryParametersError", "X-Amz-Date or X-Amz-Expires is malformed")
    if not 1 <= lifetime <= MAX_EXPIRES_SECONDS:
        return S3Refusal(400, "AuthorizationQueryParametersError",
                         "X-Amz-Expires must be between 1 and 604800 seconds")
    if now > signed_at + timedelta(seconds=lifetime):
        return S3Refusal(403, "AccessDenied", "Request has expired")
    if signed_at > now + MAX_CLOCK_SKEW:
        return S3Refusal(403, "AccessDenied", "Request is not valid yet")
    secret = secrets.get(credential[0])
    if secret is None:
        return S3Refusal(403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.")
    expected = signature(secret, method=method, path=path, params=params, headers=headers,
                         signed_headers=signed_headers, amz_date=amz_date, scope="/".join(credential[1:]))
    if not hmac.compare_digest(expected.encode(), given.get("X-Amz-Signature", "").encode("utf-8", "replace")):
        return _MISMATCH
    return None


_MISMATCH = S3Refusal(403, "SignatureDoesNotMatch", "The request signature we calculated does not match the "
                                                    "signature you provided. Check your key and signing method.")


def _check_v2(*, method: str, path: bytes, query_string: str, given: dict[str, str], headers: Mapping[str, str],
              secrets: Mapping[str, str], now: datetime) -> S3Refusal | None:
    """Signature version 2 query authentication: `Expires` (epoch seconds) and an HMAC-SHA1 over the
    method, Content-MD5, Content-Type, expiry, x-amz-* headers (the query's count as headers) and the
    resource, computed by botocore's signer."""
    from botocore.auth import HmacV1Auth
    from botocore.awsrequest import HTTPHeaders
    from botocore.credentials import Credentials

    try:
        expires = int(given["Expires"])
    except (KeyError, ValueError):
        return S3Refusal(403, "AccessDenied", "Query-string authentication requires the Signature, Expires "
                                              "and AWSAccessKeyId parameters")
    if now.timestamp() > expires:
        return S3Refusal(403, "AccessDenied", "Request has expired")
    secret = secrets.get(given["AWSAccessKeyId"])
    if secret is None:
        return S3Refusal(403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.")
    signed = HTTPHeaders()
    for name, value in [*headers.items(), *given.items()]:
        if name.lower().startswith("x-amz-") or (name in headers and name in ("content-type", "content-md5")):
            signed[name.lower()] = value

    class _Signer(HmacV1Auth):
        def _get_date(self) -> str:  # query authentication signs the expiry where a header would sign a date
            return str(expires)

    auth = _Signer(Credentials(given["AWSAccessKeyId"], secret))
    # the resource: the path, and those query parameters that name a subresource (botocore picks them)
    string_to_sign = auth.canonical_string(method, urlsplit(f"{canonical_uri(path)}?{query_string}"), signed)
    expected = auth.sign_string(string_to_sign)
    if not hmac.compare_digest(expected.encode(), given["Signature"].encode("utf-8", "replace")):
        return _MISMATCH
    return None
