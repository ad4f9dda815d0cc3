"""LinkedIdentities values and the groups they form."""

from __future__ import annotations

import pytest

from service.auth.linking import IdentityLinks, parse_linked_identities
from tests.service.auth.test_conditions import make_visa


def test_parse_decodes_uri_encoding() -> None:
    value = "123456,https%3A%2F%2Fexample.org%2Fa%7Cb%2Cc;7890,https%3A%2F%2Fexample2.org"

    assert parse_linked_identities(value) == [
        ("https://example.org/a|b,c", "123456"),
        ("https://example2.org", "7890"),
    ]


@pytest.mark.parametrize("value", ["", "sub-only", ",https%3A%2F%2Fx.org", "a,b,c", "a,x;b"])
def test_parse_rejects_malformed(value: str) -> None:
    with pytest.raises(ValueError):
        parse_linked_identities(value)


def test_chained_links_join_groups() -> None:
    first = make_visa(
        type="LinkedIdentities", iss="https://a.org", sub="1", value="2,https%3A%2F%2Fb.org"
    )
    second = make_visa(
        type="LinkedIdentities", iss="https://b.org", sub="2", value="3,https%3A%2F%2Fc.org"
    )
    links = IdentityLinks()

    links.add_visas([first, second])

    assert links.linked(("https://a.org", "1"), ("https://c.org", "3"))


def test_same_sub_other_issuer_not_linked() -> None:
    links = IdentityLinks()

    links.add_visas([make_visa(iss="https://a.org"), make_visa(iss="https://b.org")])

    assert not links.linked(("https://a.org", "alice"), ("https://b.org", "alice"))


def test_non_link_visa_links_nothing() -> None:
    visa = make_visa(type="AffiliationAndRole", value="2,https%3A%2F%2Fb.org")
    links = IdentityLinks()

    links.add_visas([visa])

    assert not links.linked(visa.identity, ("https://b.org", "2"))
