"""The paginator's decisions, page by page, without a server."""

from __future__ import annotations

import msgspec
import pytest

from mlc.epicor.errors import EpicorProtocolError
from mlc.epicor.paging import PageOf, Paginator, PagingMode, key_attributes, page_decoder
from mlc.epicor.query import ODataQuery


class Item(msgspec.Struct):
    Company: str
    Num: int


def page(
    nums: range | list[int], count: int | None = None, link: str | None = None
) -> PageOf[Item]:
    return PageOf([Item("C", n) for n in nums], count=count, next_link=link)


def paginator(mode: PagingMode, size: int = 3, count_check: bool = True) -> Paginator:
    return Paginator(
        query=ODataQuery(select=("Company", "Num"), filter="Num ge 0"),
        page_size=size,
        key=("Company", "Num"),
        key_attrs=("Company", "Num"),
        mode=mode,
        count_check=count_check,
        call="epicor.test: GET /Items",
    )


def test_offset_paging_skips_by_rows_seen_and_stops_on_a_short_page() -> None:
    pager = paginator(PagingMode.OFFSET)
    first = pager.first()
    assert (first.top, first.skip, first.count, first.orderby) == (
        3,
        None,
        True,
        ("Company", "Num"),
    )
    second = pager.advance(page(range(3), count=7))
    assert second is not None
    assert (second.top, second.skip, second.count, second.filter) == (3, 3, False, "Num ge 0")
    third = pager.advance(page(range(3, 6)))
    assert third is not None and third.skip == 6
    assert pager.advance(page([6])) is None
    assert (pager.seen, pager.pages, pager.finished) == (7, 3, True)


def test_an_exact_multiple_ends_with_an_empty_page() -> None:
    pager = paginator(PagingMode.OFFSET)
    pager.first()
    assert pager.advance(page(range(3), count=3)) is not None
    assert pager.advance(page([])) is None
    assert pager.seen == 3


def test_keyset_paging_filters_after_the_last_key() -> None:
    pager = paginator(PagingMode.KEYSET)
    assert pager.first().filter == "Num ge 0"
    second = pager.advance(page([1, 2, 5], count=4))
    assert second is not None
    assert second.skip is None
    assert second.filter == (
        "(Num ge 0) and ((Company ge 'C') and ((Company gt 'C') or ((Company eq 'C') and "
        "(Num gt 5))))"
    )
    assert pager.advance(page([9])) is None


def test_a_page_bigger_than_asked_is_refused() -> None:
    pager = paginator(PagingMode.OFFSET)
    pager.first()
    with pytest.raises(EpicorProtocolError, match=r"page 1 has 4 rows, more than the \$top=3"):
        pager.advance(page(range(4)))


def test_ending_short_of_the_count_is_refused() -> None:
    pager = paginator(PagingMode.OFFSET, size=100)
    pager.first()
    with pytest.raises(EpicorProtocolError, match="ended after 50 rows but the server counted 500"):
        pager.advance(page(range(50), count=500))


def test_without_count_check_a_short_read_is_not_detected() -> None:
    pager = paginator(PagingMode.OFFSET, size=100, count_check=False)
    assert pager.first().count is False
    assert pager.advance(page(range(50))) is None


def test_a_short_page_with_next_link_is_refused() -> None:
    pager = paginator(PagingMode.OFFSET, size=100, count_check=False)
    pager.first()
    with pytest.raises(EpicorProtocolError, match=r"came with @odata\.nextLink"):
        pager.advance(page(range(50), link="http://x/Items?$skip=50"))


def test_keyset_paging_that_does_not_advance_is_refused() -> None:
    pager = paginator(PagingMode.KEYSET)
    pager.first()
    assert pager.advance(page([1, 2, 3])) is not None
    with pytest.raises(EpicorProtocolError, match="did not advance"):
        pager.advance(page([1, 2, 3]))


def test_decoders_are_built_once_per_row_type() -> None:
    assert page_decoder(Item) is page_decoder(Item)
    decoded = page_decoder(Item).decode(
        b'{"@odata.context":"x","@odata.count":2,"value":[{"Company":"C","Num":1,"Extra":true}]}'
    )
    assert decoded.value == [Item("C", 1)] and decoded.count == 2


def test_key_attributes_must_exist() -> None:
    assert key_attributes(Item, ["Num"]) == ("Num",)
    with pytest.raises(ValueError, match="no columns"):
        key_attributes(Item, ["Missing"])
