"""The upload spool and the on-disk cell sums: what streams to disk comes back exactly."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlc.flows.aggregate import CellAggregator, CellCoords, Fact
from mlc.flows.spool import SpoolError, SpoolWriter

texts = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12
)


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(texts, texts), min_size=1, max_size=30))
def test_keys_file_names_the_line_csv_readers_report(
    tmp_path: Path, rows: list[tuple[str, str]]
) -> None:
    directory = tmp_path / "spool"
    writer = SpoolWriter(directory, ("Account", "Name"))
    for index, (account, name) in enumerate(rows):
        writer.write(f"k{index}", (account, name), f"h{index}")
    spool = writer.close()
    assert spool.rows == len(rows)
    assert spool.size == spool.csv_path.stat().st_size
    with spool.csv_path.open(encoding="utf-8", newline="") as file:
        reader = csv.reader(file)
        assert next(reader) == ["Account", "Name"]
        read = [(reader.line_num, fields) for fields in reader]
    assert [fields for _, fields in read] == [list(row) for row in rows]
    entries = list(spool.entries())
    assert [(e.line, e.key, e.content_hash) for e in entries] == [
        (line, f"k{index}", f"h{index}") for index, (line, _) in enumerate(read)
    ]
    wanted = {read[0][0], read[-1][0]}
    assert spool.keys_for_lines(wanted) == {read[0][0]: "k0", read[-1][0]: f"k{len(rows) - 1}"}
    spool.remove()
    assert not directory.exists()


def test_a_row_must_fit_the_header(tmp_path: Path) -> None:
    writer = SpoolWriter(tmp_path / "s", ("A", "B"))
    with pytest.raises(SpoolError, match="record k: 1 values for 2 columns"):
        writer.write("k", ("only one",))
    with pytest.raises(SpoolError, match="tab or a newline"):
        writer.write("k\t1", ("a", "b"))
    writer.abort()
    assert not (tmp_path / "s").exists()


def cell(account: str, center: str = "21", period: int = 1) -> CellCoords:
    return CellCoords("EPIC06|MAIN", account, center, 2026, period)


def test_cells_sum_their_rows_and_a_repeated_row_counts_once(tmp_path: Path) -> None:
    sums = CellAggregator(tmp_path / "cells.sqlite")
    sums.add(
        [
            Fact("a|10", cell("6100"), 1_000_000, "INV-1"),
            Fact("a|20", cell("6100"), 2_500_000, "INV-1"),
            Fact("a|30", cell("6100"), 500_000, "INV-2"),
            Fact("b|10", cell("5000", period=2), -750_000),
        ]
    )
    sums.add([Fact("a|30", cell("6100"), 1_500_000, "INV-2")])  # changed during the pull
    totals = [t for batch in sums.totals(only_affected=False, batch_size=1) for t in batch]
    assert [(t.cell.account, t.micros, t.rows, t.documents) for t in totals] == [
        ("5000", -750_000, 1, 0),
        ("6100", 5_000_000, 3, 2),
    ]
    sums.mark_affected([cell("5000", period=2), cell("5000", period=2)])
    assert sums.affected_periods() == [("EPIC06|MAIN", 2026, 2)]
    assert sums.affected_count() == 1
    only = [t.cell for batch in sums.totals(only_affected=True) for t in batch]
    assert only == [cell("5000", period=2)]
    sums.close()
    assert not (tmp_path / "cells.sqlite").exists()
