"""Tests for RFC 8785 canonical JSON encoding and strict decoding."""

from __future__ import annotations

import pytest

from consent_chain.canonical import MAX_SAFE_INTEGER, canonical_bytes, decode_canonical
from consent_chain.errors import CanonicalError

ENCODING_VECTORS: list[tuple[object, bytes]] = [
    (None, b"null"),
    (True, b"true"),
    (False, b"false"),
    (0, b"0"),
    (-17, b"-17"),
    (MAX_SAFE_INTEGER, b"9007199254740991"),
    (-MAX_SAFE_INTEGER, b"-9007199254740991"),
    ("", b'""'),
    ([], b"[]"),
    ({}, b"{}"),
    ({"b": 1, "a": [True, None, "x"]}, b'{"a":[true,null,"x"],"b":1}'),
    ({"outer": {"z": 1, "y": {"b": 2, "a": 3}}}, b'{"outer":{"y":{"a":3,"b":2},"z":1}}'),
    ('quote " backslash \\ slash /', b'"quote \\" backslash \\\\ slash /"'),
    ("\b\f\n\r\t", b'"\\b\\f\\n\\r\\t"'),
    ("\x00\x1f\x7f", b'"\\u0000\\u001f\x7f"'),
    ("\u20ac \u2028 \U0001f600", "\"\u20ac \u2028 \U0001f600\"".encode()),
    ((1, 2), b"[1,2]"),
]


@pytest.mark.parametrize(("value", "expected"), ENCODING_VECTORS)
def test_encoding_vectors(value: object, expected: bytes) -> None:
    assert canonical_bytes(value) == expected


def test_keys_sort_by_utf16_code_units() -> None:
    # U+1F600 is the surrogate pair D83D DE00, so it sorts before U+FB33
    # although its code point is larger.
    value = {"\ufb33": 7, "\U0001f600": 6, "\u20ac": 5, "\u00f6": 4, "\u0080": 3, "1": 2, "\r": 1}
    expected_order = ["\r", "1", "\u0080", "\u00f6", "\u20ac", "\U0001f600", "\ufb33"]
    encoded = canonical_bytes(value).decode()
    positions = [encoded.index(f'"{key}"' if key != "\r" else '"\\r"') for key in expected_order]
    assert positions == sorted(positions)


def test_bool_is_not_encoded_as_int() -> None:
    assert canonical_bytes([True, 1]) == b"[true,1]"


@pytest.mark.parametrize("value", [1.0, 0.5, float("nan"), {"a": [1.5]}])
def test_floats_rejected(value: object) -> None:
    with pytest.raises(CanonicalError, match="float"):
        canonical_bytes(value)


@pytest.mark.parametrize("value", [MAX_SAFE_INTEGER + 1, -(MAX_SAFE_INTEGER + 1), 10**30])
def test_unsafe_integers_rejected(value: int) -> None:
    with pytest.raises(CanonicalError, match="outside"):
        canonical_bytes(value)


def test_non_string_key_rejected() -> None:
    with pytest.raises(CanonicalError, match="not a string"):
        canonical_bytes({1: "a"})


def test_unsupported_type_rejected() -> None:
    with pytest.raises(CanonicalError, match="bytes"):
        canonical_bytes({"a": b"raw"})


def test_lone_surrogate_rejected() -> None:
    with pytest.raises(CanonicalError, match="surrogate"):
        canonical_bytes("\ud800")


def test_error_names_path_of_bad_value() -> None:
    with pytest.raises(CanonicalError, match=r"\$\.a\[1\]"):
        canonical_bytes({"a": [1, 2.5]})


def test_decode_round_trips_canonical_bytes() -> None:
    value = {"b": [1, "\u20ac", None], "a": {"c": False}}
    assert decode_canonical(canonical_bytes(value)) == value


@pytest.mark.parametrize(
    "data",
    [
        b'{"b":1,"a":2}',  # keys out of order
        b'{"a": 1}',  # whitespace
        b'{"a":1,"a":1}',  # duplicate key
        b"1.0",  # float literal
        b"1e2",  # exponent
        b"NaN",
        b'"\\u0041"',  # needless escape
        b'"\xff"',  # invalid UTF-8
        b"9007199254740992",  # beyond 2**53 - 1
        b"",
        b'{"a":1}\n',  # trailing newline
    ],
)
def test_decode_rejects_non_canonical(data: bytes) -> None:
    with pytest.raises(CanonicalError):
        decode_canonical(data)


def test_fast_path_matches_reference_encoder_on_random_values() -> None:
    import random
    import string

    from consent_chain import canonical

    def reference(value: object) -> bytes:
        parts: list[str] = []
        canonical._encode(value, parts, "$")
        return "".join(parts).encode("utf-8")

    rng = random.Random(20261204)
    alphabet = string.printable + 'é\u2028\x00"\\\u00ff\U0001f600\u007f'

    def value(depth: int = 0) -> object:
        roll = rng.random()
        if depth > 3 or roll < 0.3:
            scalars: list[object] = [
                None, True, False, rng.randint(-(2**53) + 1, 2**53 - 1),
                "".join(rng.choice(alphabet) for _ in range(rng.randrange(8))),
            ]
            return rng.choice(scalars)
        if roll < 0.6:
            return [value(depth + 1) for _ in range(rng.randrange(4))]
        keys = string.ascii_letters + '_"\\'
        return {"".join(rng.choice(keys) for _ in range(rng.randrange(1, 6))): value(depth + 1)
                for _ in range(rng.randrange(5))}

    for _ in range(5000):
        item = value()
        assert canonical.canonical_bytes(item) == reference(item), item


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'{"a":1,"a":2}', "duplicate key 'a'"),
        (b'{"a":1.5}', "not an integer"),
        (b"[-9007199254740992]", r"integer -9007199254740992 at \$\[0\] is outside"),
        (b'"\\u00e9"', "not in RFC 8785 canonical form"),  # escaped non-ASCII
        (b'"\\ud800"', "lone surrogate"),
        (b"-0", "not in RFC 8785 canonical form"),
        (b'{"a":[1,2,]}', "not valid UTF-8 JSON"),
    ],
)
def test_decode_names_why_ascii_input_is_not_canonical(data: bytes, message: str) -> None:
    with pytest.raises(CanonicalError, match=message):
        decode_canonical(data)


def test_decode_accepts_the_safe_integer_bounds() -> None:
    assert decode_canonical(b"[-9007199254740991,9007199254740991]") == [
        -(2**53 - 1), 2**53 - 1,
    ]


def test_decode_matches_reference_on_mutations() -> None:
    import json
    import random

    from consent_chain import canonical

    def reference_accepts(data: bytes) -> bool:
        try:
            value = json.loads(data.decode("utf-8"), parse_float=canonical._reject_float,
                               parse_constant=canonical._reject_float,
                               object_pairs_hook=canonical._reject_duplicate_keys)
            parts: list[str] = []
            canonical._encode(value, parts, "$")
            return "".join(parts).encode("utf-8") == data
        except (ValueError, CanonicalError):
            return False

    rng = random.Random(4)
    seed = canonical_bytes({"body": {"a": [1, "x\\n\"y", None, True], "seq": 2**53 - 1,
                                     "t": "\u00e9", "z": {"k": -3}}, "signature": "ab"})
    edits = [b" ", b"0", b"9", b"\\", b'"', b",", b"}", b"]", b".", b"e", b"-", b"u", b"n"]
    for _ in range(3000):
        data = bytearray(seed)
        for _ in range(rng.randrange(1, 3)):
            position = rng.randrange(len(data) + 1)
            if rng.random() < 0.5 and position < len(data):
                del data[position]
            else:
                data[position:position] = rng.choice(edits)
        mutated = bytes(data)
        try:
            accepted = canonical_bytes(decode_canonical(mutated)) == mutated
        except CanonicalError:
            accepted = False
        assert accepted == reference_accepts(mutated), mutated


@pytest.mark.parametrize("depth", [5_000, 100_000])
@pytest.mark.parametrize("inner", [b"", '"\u00e9"'.encode()])
def test_decode_rejects_deep_nesting(depth: int, inner: bytes) -> None:
    data = b"[" * depth + inner + b"]" * depth
    with pytest.raises(CanonicalError, match="nests too deeply"):
        decode_canonical(data)
