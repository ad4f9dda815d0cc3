"""Handlers for the browser pages `/browse` and `/audit`, and the files they load from `/static`."""

from __future__ import annotations

import html
import logging
from pathlib import Path

from starlette.responses import FileResponse, HTMLResponse, Response

from service.errors import NotFound
from service.handlers.context import services

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parents[1] / "static"
IGV_SCRIPT = STATIC_DIR / "node_modules" / "igv" / "dist" / "igv.esm.min.js"
INSTALL_COMMAND = "npm ci --prefix service/static"

# Only these names are served, so no request path can reach another file.
ASSETS: dict[str, tuple[Path, str]] = {
    "browse.js": (STATIC_DIR / "browse.js", "text/javascript"),
    "headers.js": (STATIC_DIR / "headers.js", "text/javascript"),
    "tickets.js": (STATIC_DIR / "tickets.js", "text/javascript"),
    "browse.css": (STATIC_DIR / "browse.css", "text/css"),
    "audit.js": (STATIC_DIR / "audit.js", "text/javascript"),
    "audit-api.js": (STATIC_DIR / "audit-api.js", "text/javascript"),
    "audit-verify.js": (STATIC_DIR / "audit-verify.js", "text/javascript"),
    "audit.css": (STATIC_DIR / "audit.css", "text/css"),
    "igv.esm.min.js": (IGV_SCRIPT, "text/javascript"),
}

# Ticket URLs may point at any host (S3 presigned URLs), so connect-src stays open.
# Scripts may only come from this node. igv.js injects its own style elements.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; "
        "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
        "connect-src 'self' http: https: data: blob:; object-src 'none'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
}

# The audit page talks only to this node's consent chain API and injects no styles.
AUDIT_PAGE_HEADERS = {
    **PAGE_HEADERS,
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'"
    ),
}


def _missing_igv_page() -> HTMLResponse:
    command = html.escape(INSTALL_COMMAND)
    body = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<title>Consentry: igv.js is not installed</title></head><body>"
        "<h1>igv.js is not installed</h1>"
        f"<p>The track browser needs igv.js from npm. Run <code>{command}</code> "
        "in the Consentry checkout, then reload this page.</p></body></html>"
    )
    return HTMLResponse(body, status_code=503, headers={"Cache-Control": "no-store"})


# (path, description) of each link on the index page; the handler drops the
# consent chain and broker links when the node runs without them.
_PAGE_LINKS = (
    ("/browse", "open htsget tracks in igv.js with a passport"),
    ("/audit", "access decisions on the consent chain, each receipt verified in the browser"),
)
_API_LINKS = (
    ("/reads/service-info", "htsget 1.3 reads; API explorer at /ui/"),
    ("/variants/service-info", "htsget 1.3 variants"),
    ("/ga4gh/drs/v1/service-info", "DRS 1.5; API explorer at /ga4gh/drs/v1/ui/"),
    ("/consent-chain/checkpoint", "signed head of the consent chain; decisions at "
                                  "/consent-chain/decisions"),
    ("/broker/.well-known/openid-configuration", "the embedded passport broker"),
)


def get_index() -> Response:
    """Serve a page linking the browser pages and the service-info of each API."""
    node = services()
    skipped = set()
    if node.consent is None:
        skipped.update({"/audit", "/consent-chain/checkpoint"})
    if node.auth.broker is None:
        skipped.add("/broker/.well-known/openid-configuration")
    sections = []
    for title, links in (("Pages", _PAGE_LINKS), ("APIs", _API_LINKS)):
        items = "".join(
            f"<li><a href='{html.escape(path)}'>{html.escape(path)}</a>: "
            f"{html.escape(text)}</li>"
            for path, text in links if path not in skipped
        )
        sections.append(f"<h2>{title}</h2><ul>{items}</ul>")
    body = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<title>Consentry</title></head><body><h1>Consentry</h1>"
        "<p>GA4GH htsget and DRS with a consent chain.</p>"
        f"{''.join(sections)}</body></html>"
    )
    return HTMLResponse(body, headers=AUDIT_PAGE_HEADERS)


def get_browse() -> Response:
    if not IGV_SCRIPT.is_file():
        logger.warning("igv.js is missing at %s, so /browse returns 503; run %r",
                       IGV_SCRIPT, INSTALL_COMMAND)
        return _missing_igv_page()
    return FileResponse(STATIC_DIR / "browse.html", media_type="text/html",
                        headers=PAGE_HEADERS)


def get_audit() -> Response:
    """Serve the audit page, which needs no npm package."""
    return FileResponse(STATIC_DIR / "audit.html", media_type="text/html",
                        headers=AUDIT_PAGE_HEADERS)


def get_asset(asset: str) -> Response:
    if asset not in ASSETS:
        raise NotFound(f"no static asset named {asset!r}")
    path, media_type = ASSETS[asset]
    if not path.is_file():
        raise NotFound(f"static asset {asset!r} is missing; run {INSTALL_COMMAND!r}")
    headers = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}
    return FileResponse(path, media_type=media_type, headers=headers)
