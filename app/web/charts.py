"""The overview's charts, drawn on the server as SVG: Vega-Lite specifications made with
Altair and rendered by vl-convert, so that a page shows its charts with no script and nothing
loaded from another host. Each chart has a table beside it saying the same (the pages' text
alternative); the SVG itself is hidden from assistive technology.

Rendering takes tens of milliseconds of CPU: callers run it in a worker thread.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any, Final

import altair as alt
import vl_convert

# GOV.UK Frontend's colours: blue for the bars and the line, black for text.
_BLUE: Final = "#1d70b8"
_TEXT: Final = "#0b0c0c"
_FONT: Final = "Arial, sans-serif"

_warming: threading.Thread | None = None


def warm_up() -> None:
    """Start the renderer now, in the background, once per process: its first chart takes
    seconds (it starts a JavaScript engine), which would otherwise fall on the first overview.
    The sign-in page calls it, so that a process only ever asked for the API never pays it."""
    global _warming
    if _warming is None:
        _warming = threading.Thread(
            target=funnel, args=([("warm-up", 1)],), name="joinup-charts", daemon=True
        )
        _warming.start()


def _data(values: list[dict[str, Any]]) -> alt.Data:
    return alt.Data(values=values)  # type: ignore[no-untyped-call]


def _svg(chart: alt.TopLevelMixin) -> str:
    spec = chart.to_dict()
    # Numbers as the pages write them (1,000), and no data fetched from anywhere.
    svg: str = vl_convert.vegalite_to_svg(spec, format_locale="en-GB", allowed_base_urls=[])
    return svg


def _configured(chart: alt.Chart) -> alt.Chart:
    configured: alt.Chart = (
        chart.configure_axis(
            labelFont=_FONT,
            titleFont=_FONT,
            labelColor=_TEXT,
            titleColor=_TEXT,
            labelFontSize=14,
            titleFontSize=14,
            labelLimit=260,
        )
        .configure_text(font=_FONT)
        .configure_view(stroke=None)
    )
    return configured


def funnel(steps: Sequence[tuple[str, int]]) -> str:
    """Horizontal bars, one per step of the funnel, each labelled with its count."""
    values = [{"step": step, "order": i, "count": count} for i, (step, count) in enumerate(steps)]
    base = alt.Chart(_data(values)).encode(
        y=alt.Y("step:N", sort=alt.EncodingSortField("order"), title=None),
        x=alt.X("count:Q", title="Releases", axis=alt.Axis(format=",d", tickCount=5)),
    )
    bars = base.mark_bar(color=_BLUE)
    labels = base.mark_text(align="left", dx=4, color=_TEXT, fontSize=14).encode(
        text=alt.Text("count:Q", format=",d")
    )
    chart = alt.layer(bars, labels).properties(width=520, height=40 * len(values))
    return _svg(_configured(chart))  # type: ignore[arg-type]


def trend(months: Sequence[Mapping[str, Any]]) -> str:
    """The pickup rate month by month, as a line with points."""
    values = [
        {"month": row["group"], "rate": row["pickup_rate"]}
        for row in months
        if row["pickup_rate"] is not None
    ]
    chart = (
        alt.Chart(_data(values))
        .mark_line(color=_BLUE, point=alt.OverlayMarkDef(color=_BLUE, size=50))
        .encode(
            x=alt.X("month:O", title="Month of release", axis=alt.Axis(labelAngle=-45)),
            y=alt.Y(
                "rate:Q",
                title="Pickup rate",
                axis=alt.Axis(format=".0%"),
                scale=alt.Scale(domain=[0, 1]),
            ),
        )
        .properties(width=520, height=240)
    )
    return _svg(_configured(chart))
