"""LinkedIdentities: which visa identities (`{iss, sub}` pairs) belong to one person."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import unquote

from service.auth.models import Visa, VisaType

VisaIdentity = tuple[str, str]


def parse_linked_identities(value: str) -> list[VisaIdentity]:
    """Parse `sub,iss;sub,iss` (each part URI-encoded) into `(iss, sub)` pairs."""
    identities: list[VisaIdentity] = []
    for entry in value.split(";"):
        sub, separator, iss = entry.partition(",")
        if not separator or not sub or not iss or "," in iss:
            raise ValueError(f"entry {entry!r} is not '<uri-encoded-sub>,<uri-encoded-iss>'")
        identities.append((unquote(iss), unquote(sub)))
    return identities


class IdentityLinks:
    """Union-find over visa identities, joined by trusted LinkedIdentities visas."""

    def __init__(self) -> None:
        self._parent: dict[VisaIdentity, VisaIdentity] = {}

    def add_visas(self, visas: Iterable[Visa]) -> None:
        """Join the identities that each LinkedIdentities visa in `visas` asserts."""
        for visa in visas:
            self._find(visa.identity)
            if visa.type != VisaType.LINKED_IDENTITIES:
                continue
            for linked in parse_linked_identities(visa.value):
                self._union(visa.identity, linked)

    def linked(self, first: VisaIdentity, second: VisaIdentity) -> bool:
        """Return whether two identities are the same person."""
        return self._find(first) == self._find(second)

    def group_numbers(self, identities: Iterable[VisaIdentity]) -> dict[VisaIdentity, int]:
        """Number the groups of linked identities, in order of first appearance."""
        numbers: dict[VisaIdentity, int] = {}
        result: dict[VisaIdentity, int] = {}
        for identity in identities:
            root = self._find(identity)
            result[identity] = numbers.setdefault(root, len(numbers))
        return result

    def _find(self, identity: VisaIdentity) -> VisaIdentity:
        parent = self._parent.setdefault(identity, identity)
        while parent != identity:
            grandparent = self._parent[parent]
            self._parent[identity] = grandparent
            identity, parent = parent, grandparent
        return identity

    def _union(self, first: VisaIdentity, second: VisaIdentity) -> None:
        self._parent[self._find(first)] = self._find(second)
