"""Tests for RFC 9162 Merkle roots, inclusion proofs and consistency proofs."""

from __future__ import annotations

import hashlib

import pytest

from consent_chain.errors import InvalidProof
from consent_chain.merkle import (
    EMPTY_ROOT,
    MerkleFrontier,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_hash,
    verify_consistency,
    verify_inclusion,
)

MAX_SIZE = 40


def sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


# Hand-computed leaves and nodes, spelled out with hashlib rather than the module.
L = [sha(b"\x00" + bytes([i])) for i in range(8)]


def n(left: bytes, right: bytes) -> bytes:
    return sha(b"\x01" + left + right)


def leaves_of(size: int) -> list[bytes]:
    return [leaf_hash(bytes([index])) for index in range(size)]


def test_leaf_and_node_hash_prefixes() -> None:
    assert leaf_hash(b"\x05") == sha(b"\x00\x05")
    assert node_hash(b"a", b"b") == sha(b"\x01ab")


def test_empty_tree_root_is_sha256_of_nothing() -> None:
    assert root_hash([]) == EMPTY_ROOT == sha(b"")


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        (1, L[0]),
        (2, n(L[0], L[1])),
        (3, n(n(L[0], L[1]), L[2])),
        (4, n(n(L[0], L[1]), n(L[2], L[3]))),
        (5, n(n(n(L[0], L[1]), n(L[2], L[3])), L[4])),
        (6, n(n(n(L[0], L[1]), n(L[2], L[3])), n(L[4], L[5]))),
        (7, n(n(n(L[0], L[1]), n(L[2], L[3])), n(n(L[4], L[5]), L[6]))),
        (8, n(n(n(L[0], L[1]), n(L[2], L[3])), n(n(L[4], L[5]), n(L[6], L[7])))),
    ],
)
def test_root_matches_hand_computed_tree(size: int, expected: bytes) -> None:
    assert root_hash(L[:size]) == expected


def test_inclusion_proof_hand_computed_size_7() -> None:
    # Leaf 5 of 7: sibling leaf 4, then leaf 6 (promoted), then the left half.
    expected = [L[4], L[6], n(n(L[0], L[1]), n(L[2], L[3]))]
    assert inclusion_proof(L[:7], 5) == expected


def test_inclusion_proof_hand_computed_last_leaf_of_5() -> None:
    assert inclusion_proof(L[:5], 4) == [n(n(L[0], L[1]), n(L[2], L[3]))]


def test_consistency_proof_hand_computed_3_to_7() -> None:
    expected = [L[2], L[3], n(L[0], L[1]), n(n(L[4], L[5]), L[6])]
    assert consistency_proof(L[:7], 3) == expected


def test_consistency_proof_hand_computed_4_to_8() -> None:
    # The old tree is a complete subtree, so its root is implied, not sent.
    assert consistency_proof(L[:8], 4) == [n(n(L[4], L[5]), n(L[6], L[7]))]


def test_consistency_proof_hand_computed_6_to_8() -> None:
    expected = [n(L[4], L[5]), n(L[6], L[7]), n(n(L[0], L[1]), n(L[2], L[3]))]
    assert consistency_proof(L[:8], 6) == expected


def test_every_inclusion_proof_verifies() -> None:
    for size in range(1, MAX_SIZE + 1):
        leaves = leaves_of(size)
        root = root_hash(leaves)
        for index in range(size):
            verify_inclusion(leaves[index], index, size, inclusion_proof(leaves, index), root)


def test_every_consistency_proof_verifies() -> None:
    for new_size in range(0, MAX_SIZE + 1):
        leaves = leaves_of(new_size)
        new_root = root_hash(leaves)
        for old_size in range(0, new_size + 1):
            proof = consistency_proof(leaves, old_size)
            verify_consistency(old_size, new_size, root_hash(leaves[:old_size]), new_root, proof)


def test_inclusion_rejects_every_tampering() -> None:
    for size in range(1, MAX_SIZE + 1):
        leaves = leaves_of(size)
        root = root_hash(leaves)
        for index in range(size):
            proof = inclusion_proof(leaves, index)
            for bad in _inclusion_variants(leaves, index, size, proof, root):
                with pytest.raises(InvalidProof):
                    verify_inclusion(*bad)


def _inclusion_variants(
    leaves: list[bytes], index: int, size: int, proof: list[bytes], root: bytes
) -> list[tuple[bytes, int, int, list[bytes], bytes]]:
    variants = [
        (leaf_hash(b"other"), index, size, proof, root),
        (leaves[index], index, size, proof, sha(b"wrong root")),
        (leaves[index], index, size, [*proof, sha(b"extra")], root),
        (leaves[index], size, size, proof, root),
    ]
    # A changed tree size is not in this list: the (size, root) pair is bound
    # by the signed checkpoint, and RFC 9162 verification takes both as given.
    if index + 1 < size:
        variants.append((leaves[index], index + 1, size, proof, root))
    if proof:
        variants.append((leaves[index], index, size, proof[:-1], root))
        flipped = [bytes([proof[0][0] ^ 1]) + proof[0][1:], *proof[1:]]
        variants.append((leaves[index], index, size, flipped, root))
    return variants


def test_consistency_rejects_every_tampering() -> None:
    for new_size in range(1, MAX_SIZE + 1):
        leaves = leaves_of(new_size)
        new_root = root_hash(leaves)
        for old_size in range(1, new_size):
            old_root = root_hash(leaves[:old_size])
            proof = consistency_proof(leaves, old_size)
            wrong = sha(b"wrong")
            bad_cases = [
                (old_size, new_size, wrong, new_root, proof),
                (old_size, new_size, old_root, wrong, proof),
                (old_size, new_size, old_root, new_root, proof[:-1]),
                (old_size, new_size, old_root, new_root, [*proof, wrong]),
                (old_size, new_size, old_root, new_root, [wrong, *proof[1:]]),
                (old_size + 1, new_size, old_root, new_root, proof),
            ]
            for case in bad_cases:
                with pytest.raises(InvalidProof):
                    verify_consistency(*case)


def test_consistency_of_equal_sizes_needs_equal_roots() -> None:
    with pytest.raises(InvalidProof, match="different roots"):
        verify_consistency(3, 3, root_hash(L[:3]), sha(b"other"), [])


def test_consistency_rejects_shrinking_tree() -> None:
    with pytest.raises(InvalidProof, match="not within"):
        verify_consistency(5, 4, root_hash(L[:5]), root_hash(L[:4]), [])


def test_consistency_from_empty_tree_is_empty_proof() -> None:
    assert consistency_proof(L[:5], 0) == []


def test_proof_requests_outside_tree_rejected() -> None:
    with pytest.raises(ValueError, match="outside"):
        inclusion_proof(L[:3], 3)


def test_frontier_root_matches_root_hash_for_every_size() -> None:
    frontier = MerkleFrontier()
    leaves = leaves_of(MAX_SIZE)
    assert frontier.root() == EMPTY_ROOT
    for size in range(1, MAX_SIZE + 1):
        frontier.append(leaves[size - 1])
        assert frontier.size == size
        assert frontier.root() == root_hash(leaves[:size])


def test_frontier_copy_is_independent() -> None:
    frontier = MerkleFrontier()
    frontier.append(L[0])
    clone = frontier.copy()
    clone.append(L[1])
    assert frontier.root() == L[0]
