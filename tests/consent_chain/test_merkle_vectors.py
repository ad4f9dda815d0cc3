"""Check consent_chain.merkle against the published RFC 6962 Merkle tree test vectors.

The leaf inputs, roots, subtree hashes and proofs below are the test data that
Certificate Transparency implementations share. They were typed in from
transparency-dev/merkle: `testonly/constants.go` (LeafInputs, NodeHashes,
RootHashes, EmptyRootHash) and `proof/verify_test.go` (inclusionProofs,
consistencyProofs, where the inclusion vectors number leaves from 1).
RFC 9162 section 2.1 keeps the RFC 6962 tree hash, so the values hold for both.
"""

from __future__ import annotations

import pytest

from consent_chain.errors import InvalidProof
from consent_chain.merkle import (
    EMPTY_ROOT,
    MerkleFrontier,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    root_hash,
    verify_consistency,
    verify_inclusion,
)

LEAF_INPUTS = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    b"\x50\x51\x52\x53\x54\x55\x56\x57",
    b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
]

EMPTY_TREE = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

# Leaf hashes SHA-256(0x00 || input), one per entry of LEAF_INPUTS (NodeHashes level 0).
LEAF_HASHES = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
    "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
    "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
    "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
    "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
]

# Roots of the trees over the first 1, 2, ..., 8 leaves.
ROOTS = {
    1: "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    2: "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    3: "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    4: "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    5: "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    6: "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    7: "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    8: "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
}

# Hashes of the complete subtrees [start, end) of the eight-leaf tree above leaf level.
SUBTREES = {
    (0, 2): "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    (2, 4): "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
    (4, 6): "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
    (6, 8): "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
    (0, 4): "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    (4, 8): "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    (0, 8): "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
}

# (0-based leaf index, tree size, audit path).
INCLUSION = [
    (0, 1, []),
    (0, 8, [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ]),
    (5, 8, [
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ]),
    (2, 3, [
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    ]),
    (1, 5, [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    ]),
]

# (old size, new size, consistency proof).
CONSISTENCY = [
    (1, 1, []),
    (1, 8, [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ]),
    (6, 8, [
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ]),
    (2, 5, [
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    ]),
    (6, 7, [
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ]),
]


def leaves(size: int) -> list[bytes]:
    """Return the leaf hashes of the first `size` vector inputs."""
    return [leaf_hash(data) for data in LEAF_INPUTS[:size]]


def unhex(values: list[str]) -> list[bytes]:
    return [bytes.fromhex(value) for value in values]


def flip_bit(proof: list[bytes], position: int) -> list[bytes]:
    """Return a copy of `proof` with one bit of element `position` flipped."""
    changed = list(proof)
    changed[position] = bytes([changed[position][0] ^ 0x08]) + changed[position][1:]
    return changed


def test_empty_tree_root_matches_vector() -> None:
    assert root_hash([]) == bytes.fromhex(EMPTY_TREE)
    assert bytes.fromhex(EMPTY_TREE) == EMPTY_ROOT


@pytest.mark.parametrize("index", range(len(LEAF_INPUTS)))
def test_leaf_hash_matches_vector(index: int) -> None:
    assert leaf_hash(LEAF_INPUTS[index]).hex() == LEAF_HASHES[index]


@pytest.mark.parametrize("size", sorted(ROOTS))
def test_root_matches_vector(size: int) -> None:
    assert root_hash(leaves(size)).hex() == ROOTS[size]


@pytest.mark.parametrize("size", sorted(ROOTS))
def test_frontier_root_matches_vector(size: int) -> None:
    frontier = MerkleFrontier()
    for leaf in leaves(size):
        frontier.append(leaf)
    assert frontier.root().hex() == ROOTS[size]


@pytest.mark.parametrize("span", sorted(SUBTREES))
def test_subtree_root_matches_vector(span: tuple[int, int]) -> None:
    start, end = span
    assert root_hash(leaves(8)[start:end]).hex() == SUBTREES[span]


@pytest.mark.parametrize(("index", "size", "path"), INCLUSION)
def test_inclusion_proof_matches_vector(index: int, size: int, path: list[str]) -> None:
    assert [node.hex() for node in inclusion_proof(leaves(size), index)] == path


@pytest.mark.parametrize(("index", "size", "path"), INCLUSION)
def test_inclusion_vector_verifies(index: int, size: int, path: list[str]) -> None:
    verify_inclusion(leaf_hash(LEAF_INPUTS[index]), index, size, unhex(path),
                     bytes.fromhex(ROOTS[size]))


@pytest.mark.parametrize(("index", "size", "path"), [case for case in INCLUSION if case[2]])
def test_inclusion_vector_rejects_changes(index: int, size: int, path: list[str]) -> None:
    proof = unhex(path)
    root = bytes.fromhex(ROOTS[size])
    leaf = leaf_hash(LEAF_INPUTS[index])
    wrong_inputs = {
        "next index": (leaf, (index + 1) % size, size, proof, root),
        "double size": (leaf, index, size * 2, proof, root),
        "wrong leaf": (leaf_hash(b"wrong"), index, size, proof, root),
        "empty root": (leaf, index, size, proof, EMPTY_ROOT),
        "trailing root": (leaf, index, size, [*proof, root], root),
        "preceding root": (leaf, index, size, [root, *proof], root),
        "dropped element": (leaf, index, size, proof[:-1], root),
    }
    for position in range(len(proof)):
        wrong_inputs[f"bit flip {position}"] = (leaf, index, size, flip_bit(proof, position), root)

    for name, arguments in wrong_inputs.items():
        with pytest.raises(InvalidProof):
            verify_inclusion(*arguments)
            pytest.fail(f"inclusion proof with {name} was accepted")


@pytest.mark.parametrize(("old_size", "new_size", "path"), CONSISTENCY)
def test_consistency_proof_matches_vector(old_size: int, new_size: int, path: list[str]) -> None:
    assert [node.hex() for node in consistency_proof(leaves(new_size), old_size)] == path


@pytest.mark.parametrize(("old_size", "new_size", "path"), CONSISTENCY)
def test_consistency_vector_verifies(old_size: int, new_size: int, path: list[str]) -> None:
    verify_consistency(old_size, new_size, bytes.fromhex(ROOTS[old_size]),
                       bytes.fromhex(ROOTS[new_size]), unhex(path))


@pytest.mark.parametrize(("old_size", "new_size", "path"),
                         [case for case in CONSISTENCY if case[2]])
def test_consistency_vector_rejects_changes(old_size: int, new_size: int,
                                            path: list[str]) -> None:
    proof = unhex(path)
    old_root = bytes.fromhex(ROOTS[old_size])
    new_root = bytes.fromhex(ROOTS[new_size])
    wrong_inputs = {
        "old size + 1": (old_size + 1, new_size, old_root, new_root, proof),
        "old size - 1": (old_size - 1, new_size, old_root, new_root, proof),
        "double new size": (old_size, new_size * 2, old_root, new_root, proof),
        "swapped roots": (old_size, new_size, new_root, old_root, proof),
        "empty proof": (old_size, new_size, old_root, new_root, []),
        "trailing old root": (old_size, new_size, old_root, new_root, [*proof, old_root]),
        "preceding new root": (old_size, new_size, old_root, new_root, [new_root, *proof]),
        "truncated": (old_size, new_size, old_root, new_root, proof[:-1]),
    }
    for position in range(len(proof)):
        wrong_inputs[f"bit flip {position}"] = (old_size, new_size, old_root, new_root,
                                                flip_bit(proof, position))

    for name, arguments in wrong_inputs.items():
        with pytest.raises(InvalidProof):
            verify_consistency(*arguments)
            pytest.fail(f"consistency proof with {name} was accepted")
