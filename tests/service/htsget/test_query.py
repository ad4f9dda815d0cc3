"""GET and POST query checks in htsget's vocabulary."""

from __future__ import annotations

import pytest

from service.errors import InvalidInput, InvalidRange, UnsupportedFormat
from service.htsget.query import Endpoint, Region, query_from_body, query_from_params

READS, VARIANTS = Endpoint.READS, Endpoint.VARIANTS


def test_format_is_case_insensitive_and_defaults() -> None:
    assert query_from_params(READS, "x", {"format": "cram"}).format == "CRAM"
    assert query_from_params(READS, "x", {}).format == "BAM"
    assert query_from_params(VARIANTS, "x", {"format": "Bcf"}).format == "BCF"
    assert query_from_params(VARIANTS, "x", {}).format == "VCF"


def test_wrong_format_names_value_and_choices() -> None:
    with pytest.raises(UnsupportedFormat, match=r"'SAM'.*BAM or CRAM"):
        query_from_params(READS, "x", {"format": "SAM"})


def test_header_class_parses() -> None:
    query = query_from_params(READS, "x", {"class": "header"})

    assert query.header_only
    assert query.regions is None


def test_region_from_params() -> None:
    query = query_from_params(READS, "x", {"referenceName": "1", "start": 5, "end": 9})

    assert query.regions == (Region("1", 5, 9),)


def test_start_equal_end_is_an_empty_get_region() -> None:
    query = query_from_params(READS, "x", {"referenceName": "1", "start": 5, "end": 5})

    assert query.regions == (Region("1", 5, 5),)


def test_start_after_end_is_invalid_range() -> None:
    with pytest.raises(InvalidRange, match="start 9 is greater than end 5"):
        query_from_params(READS, "x", {"referenceName": "1", "start": 9, "end": 5})


@pytest.mark.parametrize("params", [
    {"start": 1},
    {"referenceName": "*", "end": 3},
    {"class": "header", "fields": "QNAME"},
    {"fields": "QNAME,NOPE"},
    {"tags": "NM", "notags": "NM"},
    {"notags": "X"},
    {"class": "full"},
])
def test_invalid_get_parameters(params: dict) -> None:
    with pytest.raises(InvalidInput):
        query_from_params(READS, "x", params)


def test_tags_empty_means_no_tags() -> None:
    assert query_from_params(READS, "x", {"tags": ""}).tags == ()


def test_post_regions_keep_order_and_values() -> None:
    body = {"format": "BAM", "regions": [{"referenceName": "2"}, {"referenceName": "1", "end": 7}]}

    query = query_from_body(READS, "x", body, max_regions=10)

    assert query.regions == (Region("2"), Region("1", None, 7))


def test_post_start_equal_end_is_invalid_range() -> None:
    body = {"regions": [{"referenceName": "1", "start": 7, "end": 7}]}

    with pytest.raises(InvalidRange, match="equal to"):
        query_from_body(READS, "x", body, max_regions=10)


def test_post_too_many_regions() -> None:
    body = {"regions": [{"referenceName": "1"}] * 11}

    with pytest.raises(InvalidInput, match="11 regions"):
        query_from_body(READS, "x", body, max_regions=10)


def test_post_boolean_coordinates_are_rejected() -> None:
    body = {"regions": [{"referenceName": "1", "start": True}]}

    with pytest.raises(InvalidInput, match="integer"):
        query_from_body(READS, "x", body, max_regions=10)
