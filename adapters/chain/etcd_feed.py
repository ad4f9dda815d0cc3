"""`EtcdChainFeed`: what followers read, watch and cosign in a chain kept in etcd."""

from __future__ import annotations

import logging
from collections.abc import Iterator

from adapters.chain.block_codec import BlockFormatError, decode_block
from adapters.chain.etcd_gateway import (
    EtcdGateway,
    GatewayError,
    Json,
    WatchStream,
    decode_bytes,
    encode_bytes,
    int_field,
)
from adapters.chain.etcd_keys import ChainKeys
from consent_chain.errors import StoreUnavailable
from consent_chain.replication_core import FeedEvent, FeedPage

logger = logging.getLogger(__name__)

# A watch with no message for this long is reopened, so a follower attached
# to a member that was cut off from the others finds a live member again.
WATCH_IDLE_SECONDS = 10.0



def call_etcd(gateway: EtcdGateway, keys: ChainKeys, path: str, body: Json) -> Json:
    """Call the gateway, reporting a rejected request as StoreUnavailable for the chain's prefix."""
    try:
        return gateway.call(path, body)
    except GatewayError as error:
        raise StoreUnavailable(f"etcd call {path} under {keys.prefix} failed: {error}") from error

class EtcdChainFeed:
    """Reads and watches one chain's block and cosignature keys in etcd."""

    def __init__(self, gateway: EtcdGateway, keys: ChainKeys, chain_id: str) -> None:
        self._gateway = gateway
        self.keys = keys
        self.chain_id = chain_id

    def _call(self, path: str, body: Json) -> Json:
        return call_etcd(self._gateway, self.keys, path, body)

    def read_blocks(self, start_height: int, limit: int) -> FeedPage:
        """Return the blocks at heights >= `start_height`, at most `limit`, in height order."""
        return self._read(self.keys.block(start_height), self.keys.blocks_end, limit)

    def read_cosignatures(self, start_height: int) -> FeedPage:
        """Return every cosignature stored for heights >= `start_height`."""
        return self._read(self.keys.cosignatures_from(start_height),
                          self.keys.cosignatures_end, 0)

    def _read(self, key: bytes, range_end: bytes, limit: int) -> FeedPage:
        body: Json = {"key": encode_bytes(key), "range_end": encode_bytes(range_end)}
        if limit:
            body["limit"] = str(limit)
        response = self._call("/v3/kv/range", body)
        revision = int_field(response.get("header", {}), "revision")
        events = [
            event for event in (self.event_for(kv, revision) for kv in response.get("kvs", []))
            if event is not None
        ]
        return FeedPage(events, revision, bool(response.get("more")))

    def event_for(self, kv: Json, revision: int) -> FeedEvent | None:
        """Turn one key-value of a range or watch response into an event (None: other key)."""
        key, value = decode_bytes(kv.get("key")), decode_bytes(kv.get("value"))
        height = self.keys.parse_block(key)
        if height is not None:
            try:
                return FeedEvent("block", height, revision, block=decode_block(value))
            except BlockFormatError as error:
                return FeedEvent("block", height, revision, malformed=str(error))
        cosignature = self.keys.parse_cosignature(key)
        if cosignature is not None:
            return FeedEvent("cosignature", cosignature[0], revision, member=cosignature[1],
                             cosignature=value)
        return None

    def watch(self, start_revision: int) -> EtcdFeedWatch:
        """Watch every key of the chain from store revision `start_revision` on."""
        stream = self._gateway.watch(self.keys.root, self.keys.root_end, start_revision)
        logger.debug("watching %s from revision %d on %s", self.keys.prefix, start_revision,
                     stream.endpoint)
        return EtcdFeedWatch(self, stream)

    def publish_cosignature(self, height: int, member: str, value: bytes) -> bool:
        """Store `member`'s cosignature for `height` unless one exists; return whether it did."""
        key = encode_bytes(self.keys.cosignature(height, member))
        response = self._call("/v3/kv/txn", {
            "compare": [{"key": key, "target": "CREATE", "result": "EQUAL",
                         "create_revision": "0"}],
            "success": [{"request_put": {"key": key, "value": encode_bytes(value)}}],
        })
        return bool(response.get("succeeded"))


class EtcdFeedWatch:
    """An open etcd watch, yielding FeedEvents for block and cosignature writes."""

    def __init__(self, feed: EtcdChainFeed, stream: WatchStream) -> None:
        self._feed = feed
        self._stream = stream

    def events(self) -> Iterator[FeedEvent]:
        """Yield events until the stream ends, is idle for WATCH_IDLE_SECONDS or is canceled."""
        for message in self._stream.messages(WATCH_IDLE_SECONDS):
            result = message.get("result")
            if result is None:
                logger.warning("etcd watch on %s returned an error: %s", self._stream.endpoint,
                               message.get("error", message))
                return
            if result.get("canceled"):
                logger.warning("etcd watch on %s was canceled (compact_revision=%s): %s",
                               self._stream.endpoint, result.get("compact_revision", "-"),
                               result.get("cancel_reason", ""))
                return
            for event in result.get("events", []):
                if event.get("type") == "DELETE":
                    logger.warning("a chain key was deleted from etcd: %r",
                                   decode_bytes(event.get("kv", {}).get("key")))
                    continue
                kv = event.get("kv", {})
                converted = self._feed.event_for(kv, int_field(kv, "mod_revision"))
                if converted is not None:
                    yield converted

    def close(self) -> None:
        """Close the stream."""
        self._stream.close()
