"""RFC 9162 section 2.1 Merkle trees: roots, inclusion and consistency proofs.

Functions take leaf hashes (`leaf_hash(data)`), not raw leaf data, so callers
can keep the hashes of a large log without its entries.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from consent_chain.errors import InvalidProof

EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    """Return SHA-256(0x00 || data), the hash of one leaf."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Return SHA-256(0x01 || left || right), the hash of an interior node."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def root_hash(leaves: Sequence[bytes]) -> bytes:
    """Return the Merkle tree hash MTH of the given leaf hashes."""
    if not leaves:
        return EMPTY_ROOT
    return _subtree_root(leaves, 0, len(leaves))


def _split_point(size: int) -> int:
    """Return the largest power of two smaller than `size` (size >= 2)."""
    return 1 << ((size - 1).bit_length() - 1)


def _subtree_root(leaves: Sequence[bytes], start: int, end: int) -> bytes:
    if end - start == 1:
        return leaves[start]
    middle = start + _split_point(end - start)
    return node_hash(_subtree_root(leaves, start, middle), _subtree_root(leaves, middle, end))


def inclusion_proof(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """Return the audit path PATH(index, D[n]) for the leaf at `index` in a tree of `leaves`."""
    if not 0 <= index < len(leaves):
        raise ValueError(f"leaf index {index} is outside a tree of size {len(leaves)}")
    return _path(leaves, index, 0, len(leaves))


def _path(leaves: Sequence[bytes], index: int, start: int, end: int) -> list[bytes]:
    if end - start == 1:
        return []
    middle = start + _split_point(end - start)
    if index < middle:
        return [*_path(leaves, index, start, middle), _subtree_root(leaves, middle, end)]
    return [*_path(leaves, index, middle, end), _subtree_root(leaves, start, middle)]


def verify_inclusion(
    leaf: bytes, index: int, tree_size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check an inclusion proof per RFC 9162 section 2.1.3.2; raise InvalidProof if it fails."""
    if not 0 <= index < tree_size:
        raise InvalidProof(f"leaf index {index} is outside a tree of size {tree_size}")
    node, last = index, tree_size - 1
    computed = leaf
    for sibling in proof:
        if last == 0:
            raise InvalidProof("inclusion proof is longer than the tree is deep")
        if node & 1 or node == last:
            computed = node_hash(sibling, computed)
            while not node & 1 and node != 0:
                node, last = node >> 1, last >> 1
        else:
            computed = node_hash(computed, sibling)
        node, last = node >> 1, last >> 1
    if last != 0:
        raise InvalidProof("inclusion proof is shorter than the tree is deep")
    if computed != root:
        raise InvalidProof("inclusion proof does not lead to the expected root hash")


def consistency_proof(leaves: Sequence[bytes], old_size: int) -> list[bytes]:
    """Return PROOF(old_size, D[n]) that the first `old_size` leaves form a prefix of `leaves`."""
    if not 0 <= old_size <= len(leaves):
        raise ValueError(f"old size {old_size} is outside 0..{len(leaves)}")
    if old_size in (0, len(leaves)):
        return []
    return _subproof(leaves, old_size, 0, len(leaves), True)


def _subproof(
    leaves: Sequence[bytes], size: int, start: int, end: int, is_complete_old_tree: bool
) -> list[bytes]:
    if size == end - start:
        return [] if is_complete_old_tree else [_subtree_root(leaves, start, end)]
    split = _split_point(end - start)
    middle = start + split
    if size <= split:
        head = _subproof(leaves, size, start, middle, is_complete_old_tree)
        return [*head, _subtree_root(leaves, middle, end)]
    head = _subproof(leaves, size - split, middle, end, False)
    return [*head, _subtree_root(leaves, start, middle)]


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Check a consistency proof per RFC 9162 section 2.1.4.2; raise InvalidProof if it fails."""
    if not 0 <= old_size <= new_size:
        raise InvalidProof(f"old size {old_size} is not within 0..{new_size}")
    if old_size in (0, new_size):
        # The empty tree is a prefix of every tree; equal sizes need equal roots.
        if proof:
            raise InvalidProof(f"a proof from size {old_size} to {new_size} must be empty")
        if old_size == new_size and old_root != new_root:
            raise InvalidProof(f"trees of the same size {old_size} have different roots")
        return
    if not proof:
        raise InvalidProof("consistency proof is empty")

    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    node, last = old_size - 1, new_size - 1
    while node & 1:
        node, last = node >> 1, last >> 1
    old_computed = new_computed = path[0]
    for sibling in path[1:]:
        if last == 0:
            raise InvalidProof("consistency proof is longer than expected")
        if node & 1 or node == last:
            old_computed = node_hash(sibling, old_computed)
            new_computed = node_hash(sibling, new_computed)
            while not node & 1 and node != 0:
                node, last = node >> 1, last >> 1
        else:
            new_computed = node_hash(new_computed, sibling)
        node, last = node >> 1, last >> 1

    if last != 0:
        raise InvalidProof("consistency proof is shorter than expected")
    if old_computed != old_root:
        raise InvalidProof(f"consistency proof does not reproduce the size-{old_size} root")
    if new_computed != new_root:
        raise InvalidProof(f"consistency proof does not reproduce the size-{new_size} root")


class MerkleFrontier:
    """The right edge of a growing tree: one perfect-subtree root per set bit of its size.

    Appending is O(log n) and so is computing the root, which lets a verifier
    recompute the log root of a long chain without keeping every leaf hash.
    """

    def __init__(self) -> None:
        self.size = 0
        self._subtrees: list[bytes] = []

    def append(self, leaf: bytes) -> None:
        """Add one leaf hash at the right edge."""
        carry = leaf
        size = self.size
        while size & 1:
            carry = node_hash(self._subtrees.pop(), carry)
            size >>= 1
        self._subtrees.append(carry)
        self.size += 1

    def root(self) -> bytes:
        """Return the Merkle tree hash of every leaf appended so far."""
        if not self._subtrees:
            return EMPTY_ROOT
        result = self._subtrees[-1]
        for subtree in reversed(self._subtrees[:-1]):
            result = node_hash(subtree, result)
        return result

    def copy(self) -> MerkleFrontier:
        """Return an independent copy."""
        clone = MerkleFrontier()
        clone.size = self.size
        clone._subtrees = list(self._subtrees)
        return clone
