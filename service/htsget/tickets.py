"""Build htsget tickets: the URLs whose concatenated bodies form the requested file."""

from __future__ import annotations

import base64
import logging
import time
from dataclasses import dataclass
from typing import Any, TypeVar

from adapters.indexes.binning import BinningIndex
from adapters.indexes.crai import CraiIndex
from adapters.storage.base import Storage
from service.errors import NotFound
from service.htsget import bgzf_search, cram_search
from service.htsget.objects import ObjectCatalog, OpenedObject
from service.htsget.parts import ByteRange, Inline, Part, merge_parts
from service.htsget.query import Query
from service.htsget.resolver import resolve

logger = logging.getLogger(__name__)

IndexT = TypeVar("IndexT", BinningIndex, CraiIndex)

MEDIA_TYPES = {
    "BAM": "application/vnd.ga4gh.bam",
    "CRAM": "application/vnd.ga4gh.cram",
    "VCF": "application/vnd.ga4gh.vcf",
    "BCF": "application/vnd.ga4gh.bcf",
}


@dataclass(frozen=True)
class TicketLimits:
    """How long data URLs stay valid and how many bytes one URL may cover."""

    url_ttl_seconds: int
    max_block_bytes: int


class TicketService:
    """Build htsget tickets for objects in one storage backend."""

    def __init__(self, storage: Storage, catalog: ObjectCatalog, limits: TicketLimits) -> None:
        self.storage = storage
        self.catalog = catalog
        self.limits = limits

    def ticket(self, query: Query, access_expires_at: float | None = None) -> dict[str, Any]:
        """Return the ticket JSON for `query`; raises the spec's errors.

        Data URLs expire after the configured lifetime, or at
        `access_expires_at` (Unix time) if that comes first.
        """
        opened = self.catalog.open(resolve(query.id, query.format))
        parts = merge_parts(self._parts(query, opened), self.limits.max_block_bytes)
        logger.debug("ticket for %s: %d part(s)", opened.keys.data, len(parts))
        ttl = self.limits.url_ttl_seconds
        if access_expires_at is not None:
            ttl = max(1, min(ttl, int(access_expires_at - time.time())))
        urls = [self._url(opened, part, ttl) for part in parts]
        return {"htsget": {"format": query.format, "urls": urls}}

    def _parts(self, query: Query, opened: OpenedObject) -> list[Part]:
        cram = query.format == "CRAM"
        header = (
            cram_search.header_parts(opened) if cram
            else bgzf_search.header_parts(self.catalog, opened)
        )
        if query.header_only:
            eof = bgzf_search.eof_part(opened)
            return [*header, _as_header(eof)]
        body: list[Part]
        if query.regions is None and cram:
            body = [cram_search.whole_body_part(opened)]
        elif query.regions is None:
            span = bgzf_search.whole_body_span(opened)
            body = bgzf_search.span_parts(self.catalog, opened, span)
        elif cram:
            index = self._index(opened, CraiIndex)
            body = cram_search.region_parts(index, opened, query.regions)
        else:
            binning = self._index(opened, BinningIndex)
            spans = bgzf_search.region_spans(binning, opened, query.regions)
            body = []
            for span in spans:
                body += bgzf_search.span_parts(self.catalog, opened, span)
        return [*header, *body, bgzf_search.eof_part(opened)]

    def _index(self, opened: OpenedObject, kind: type[IndexT]) -> IndexT:
        index = self.catalog.index(opened)
        if not isinstance(index, kind):
            raise NotFound(f"the index of {opened.keys.data!r} is of the wrong kind")
        return index

    def _url(self, opened: OpenedObject, part: Part, ttl: int) -> dict[str, Any]:
        if isinstance(part, Inline):
            encoded = base64.b64encode(part.data).decode("ascii")
            media_type = MEDIA_TYPES[opened.keys.format]
            return {"url": f"data:{media_type};base64,{encoded}", "class": part.cls}
        signed = self.storage.range_url(opened.info.key, part.start, part.end, ttl)
        return {"url": signed.url, "headers": dict(signed.headers), "class": part.cls}


def _as_header(part: Part) -> Part:
    if isinstance(part, ByteRange):
        return ByteRange(part.start, part.end, "header")
    return Inline(part.data, "header")
