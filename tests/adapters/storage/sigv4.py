"""An independent check of presigned AWS SigV4 query URLs, as S3 performs it on a GET.

moto does not verify presigned signatures, so tests use this to learn
whether AWS S3 would accept a URL with a given set of request headers.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import parse_qsl, quote, urlsplit


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def _canonical_query(pairs: list[tuple[str, str]]) -> str:
    encoded = sorted((quote(name, safe="-_.~"), quote(value, safe="-_.~")) for name, value in pairs)
    return "&".join(f"{name}={value}" for name, value in encoded)


def presigned_get_is_valid(url: str, headers: dict[str, str], secret_key: str) -> bool:
    """Recompute the SigV4 signature of a presigned GET and compare it with the URL's."""
    parts = urlsplit(url)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    params = dict(pairs)
    sent = {name.lower(): value.strip() for name, value in headers.items()}
    sent["host"] = parts.netloc
    signed_names = params["X-Amz-SignedHeaders"].split(";")
    if any(name not in sent for name in signed_names):
        return False

    canonical_request = "\n".join([
        "GET",
        parts.path,
        _canonical_query([pair for pair in pairs if pair[0] != "X-Amz-Signature"]),
        "".join(f"{name}:{sent[name]}\n" for name in signed_names),
        params["X-Amz-SignedHeaders"],
        "UNSIGNED-PAYLOAD",
    ])
    _, date, region, service, terminator = params["X-Amz-Credential"].split("/")
    scope = f"{date}/{region}/{service}/{terminator}"
    string_to_sign = "\n".join([
        params["X-Amz-Algorithm"],
        params["X-Amz-Date"],
        scope,
        hashlib.sha256(canonical_request.encode()).hexdigest(),
    ])

    key = f"AWS4{secret_key}".encode()
    for part in (date, region, service, terminator):
        key = _hmac(key, part)
    expected = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, params["X-Amz-Signature"])
