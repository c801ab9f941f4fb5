"""The benchmark's table: each figure as it is measured, and all of them again at the end."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Row:
    what: str
    value: float
    unit: str
    ratio: float | None
    # What the ratio is to: the raw rate of the same work, or another run of joinup.
    ratio_to: str
    p50: float | None
    p99: float | None
    note: str


class Report:
    def __init__(self) -> None:
        self.rows: list[Row] = []

    def add(
        self,
        what: str,
        value: float,
        unit: str,
        *,
        ratio: tuple[float, float | None] | None = None,
        ratio_to: str = "raw",
        p50: float | None = None,
        p99: float | None = None,
        note: str = "",
    ) -> None:
        share = ratio[0] / ratio[1] if ratio and ratio[1] else None
        row = Row(what, value, unit, share, ratio_to, p50, p99, note)
        self.rows.append(row)
        print(self._line(row), flush=True)

    @staticmethod
    def _line(row: Row) -> str:
        ratio = f"{row.ratio:.2f} to {row.ratio_to}" if row.ratio is not None else ""
        p50 = f"{row.p50:.1f}" if row.p50 is not None else ""
        p99 = f"{row.p99:.1f}" if row.p99 is not None else ""
        return (
            f"| {row.what} | {row.value:,.0f} {row.unit} | {ratio} | {p50} | {p99} | {row.note} |"
        )

    def print(self) -> None:
        print("\n| what | figure | ratio | p50 ms | p99 ms | note |")
        print("|---|---|---|---|---|---|")
        for row in self.rows:
            print(self._line(row))
