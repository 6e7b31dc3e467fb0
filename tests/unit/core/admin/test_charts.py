"""The dashboard's SVG charts, read back as XML: what a user sees and what a screen reader gets."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date, timedelta

import pytest
from markupsafe import Markup

from core.admin.views.charts import PALETTE, Series, data_table, stacked_bars

SVG = "{http://www.w3.org/2000/svg}"
NOV3 = date(2026, 11, 3)
NOV4 = date(2026, 11, 4)


def chart(
    series: list[Series], days: list[date] | None = None, *, unit: str = "messages", percent: bool = False
) -> ET.Element:
    markup = stacked_bars(
        title="Messages in per channel",
        description="Customer messages per day.",
        days=[NOV3, NOV4] if days is None else days,
        series=series,
        unit=unit,
        percent=percent,
    )
    assert isinstance(markup, Markup)
    return ET.fromstring(str(markup))


def segments(svg: ET.Element) -> dict[str, ET.Element]:
    """Bar segments by their tooltip."""
    bars = svg.find(f"{SVG}g[@class='bars']")
    assert bars is not None
    return {rect.findtext(f"{SVG}title", ""): rect for rect in bars.iter(f"{SVG}rect")}


def texts(svg: ET.Element, group: str) -> list[str]:
    found = svg.find(f"{SVG}g[@class='{group}']")
    assert found is not None
    return [text.text or "" for text in found.iter(f"{SVG}text")]


def tick_y(svg: ET.Element) -> dict[str, float]:
    axis = svg.find(f"{SVG}g[@class='y-axis']")
    assert axis is not None
    return {text.text or "": float(text.get("y", "")) for text in axis.iter(f"{SVG}text")}


def height(rect: ET.Element) -> float:
    return float(rect.get("height", ""))


def test_segments_are_proportional_and_the_tallest_day_is_scaled_to_the_top_tick() -> None:
    svg = chart([Series("web", [3, 13]), Series("telegram", [1, 0])])

    bars = segments(svg)
    assert list(bars) == [
        "2026-11-03 · web: 3 messages",
        "2026-11-03 · telegram: 1 message",
        "2026-11-04 · web: 13 messages",
    ]
    web, telegram, tallest = bars.values()
    assert height(web) == pytest.approx(3 * height(telegram), abs=0.02)
    ticks = tick_y(svg)
    assert list(ticks) == ["0", "5", "10", "15"]
    assert float(tallest.get("y", "")) == pytest.approx(ticks["0"] - 13 / 15 * (ticks["0"] - ticks["15"]), abs=0.01)
    assert float(tallest.get("y", "")) + height(tallest) == pytest.approx(ticks["0"])
    assert float(telegram.get("y", "")) + height(telegram) == pytest.approx(float(web.get("y", "")))


@pytest.mark.parametrize(
    ("maximum", "labels"),
    [
        (13, ["0", "5", "10", "15"]),
        (1, ["0", "1", "2"]),
        (4, ["0", "1", "2", "3", "4"]),
        (100, ["0", "50", "100"]),
        (1500, ["0", "500", "1,000", "1,500"]),
        (0.3, ["0", "0.1", "0.2", "0.3"]),
    ],
)
def test_the_y_axis_has_three_to_five_nice_ticks(maximum: float, labels: list[str]) -> None:
    assert list(tick_y(chart([Series("web", [maximum, 0])]))) == labels


def test_the_chart_is_named_by_its_title_and_description_and_scales() -> None:
    svg = chart([Series("web", [3, 13])])

    assert svg.get("role") == "img"
    assert svg.get("aria-labelledby") == "chart-messages-in-per-channel-title chart-messages-in-per-channel-desc"
    title_id, desc_id = svg.get("aria-labelledby", "").split()
    assert svg.findtext(f"{SVG}title[@id='{title_id}']") == "Messages in per channel"
    assert svg.findtext(f"{SVG}desc[@id='{desc_id}']") == "Customer messages per day."
    assert svg.get("width") == "100%"
    assert svg.get("viewBox", "").startswith("0 0 ")
    assert svg.get("preserveAspectRatio") == "xMidYMid meet"


def test_the_legend_names_the_series_in_order_with_distinct_colour_blind_safe_fills() -> None:
    names = ["web", "telegram", "slack", "email"]
    svg = chart([Series(name, [1, 2]) for name in names])

    assert texts(svg, "legend") == names
    fills = [rect.get("fill", "") for rect in list(segments(svg).values())[:4]]
    assert fills == [f"url(#chart-messages-in-per-channel-s{k}) {PALETTE[k]}" for k in range(4)]
    assert PALETTE[:4] == ("#0072B2", "#E69F00", "#009E73", "#D55E00")
    assert {rect.get("stroke") for rect in segments(svg).values()} == {"#fff"}
    patterns = [pattern.get("id") for pattern in svg.iter(f"{SVG}pattern")]
    assert patterns == [f"chart-messages-in-per-channel-s{k}" for k in range(4)]
    textures = {tuple(ET.tostring(texture) for texture in pattern[1:]) for pattern in svg.iter(f"{SVG}pattern")}
    assert len(textures) == 4, "each series has its own texture, to stay apart in greyscale"


@pytest.mark.parametrize("name", ["<b>&", "<script>alert(1)</script>"])
def test_names_and_titles_are_escaped(name: str) -> None:
    markup = str(stacked_bars(title=name, description=name, days=[NOV3], series=[Series(name, [2])]))

    assert "<script" not in markup and "<b>" not in markup
    svg = ET.fromstring(markup)
    assert texts(svg, "legend") == [name]
    assert list(segments(svg)) == [f"2026-11-03 · {name}: 2 messages"]
    assert svg.findtext(f"{SVG}title") == name
    table = str(data_table(caption=name, days=[NOV3], series=[Series(name, [2])]))
    assert "<script" not in table and "<b>" not in table
    assert ET.fromstring(table).findtext("caption") == name


def test_percent_mode_fills_each_day_with_its_shares() -> None:
    svg = chart(
        [Series("answered", [12, 1]), Series("declined", [18, 0]), Series("escalated", [0, 0])],
        unit="replies",
        percent=True,
    )

    ticks = tick_y(svg)
    assert list(ticks) == ["0 %", "25 %", "50 %", "75 %", "100 %"]
    bars = segments(svg)
    assert list(bars) == [
        "2026-11-03 · answered: 40 % (12 of 30)",
        "2026-11-03 · declined: 60 % (18 of 30)",
        "2026-11-04 · answered: 100 % (1 of 1)",
    ]
    full = ticks["0 %"] - ticks["100 %"]
    answered, declined, alone = bars.values()
    assert height(answered) + height(declined) == pytest.approx(full, abs=0.02)
    assert height(answered) == pytest.approx(0.4 * full, abs=0.01)
    assert height(alone) == pytest.approx(full)


@pytest.mark.parametrize(
    ("days", "series"),
    [
        ([], [Series("web", [])]),
        ([], []),
        ([NOV3, NOV4], [Series("web", [0, 0]), Series("telegram", [0, 0])]),
    ],
)
@pytest.mark.parametrize("percent", [False, True])
def test_an_empty_period_says_so(days: list[date], series: list[Series], percent: bool) -> None:
    svg = chart(series, days=days, percent=percent)

    assert [text.text for text in svg.iter(f"{SVG}text")] == ["No messages in this period"]
    assert not list(svg.iter(f"{SVG}rect"))
    assert svg.findtext(f"{SVG}title") == "Messages in per channel"


def test_the_empty_state_names_the_unit() -> None:
    markup = stacked_bars(
        title="Bot outcomes", description="d", days=[NOV3], series=[Series("answered", [0])], unit="replies"
    )
    assert ET.fromstring(str(markup)).findtext(f"{SVG}text") == "No replies in this period"


@pytest.mark.parametrize(
    ("count", "labels"),
    [
        (1, ["Nov 3"]),
        (7, ["Nov 3", "Nov 4", "Nov 5", "Nov 6", "Nov 7", "Nov 8", "Nov 9"]),
        (30, ["Nov 3", "Nov 7", "Nov 11", "Nov 15", "Nov 19", "Nov 23", "Nov 27", "Dec 1"]),
    ],
)
def test_day_labels_are_thinned_to_at_most_eight(count: int, labels: list[str]) -> None:
    days = [NOV3 + timedelta(days=i) for i in range(count)]
    svg = chart([Series("web", [1] * count)], days=days)

    assert texts(svg, "x-axis") == labels
    assert len(segments(svg)) == count


def test_charts_with_different_titles_have_different_ids() -> None:
    first = stacked_bars(title="Bot outcomes", description="d", days=[NOV3], series=[Series("a", [1])])
    second = stacked_bars(title="Bot outcome rates", description="d", days=[NOV3], series=[Series("a", [1])])
    ids = [{e.get("id") for e in ET.fromstring(str(svg)).iter() if e.get("id")} for svg in (first, second)]
    assert ids[0] and ids[1] and not ids[0] & ids[1]


@pytest.mark.parametrize("series", [Series("web", [1]), Series("web", [1, -1]), Series("web", [1, float("nan")])])
def test_bad_values_are_refused(series: Series) -> None:
    with pytest.raises(ValueError, match="web"):
        stacked_bars(title="t", description="d", days=[NOV3, NOV4], series=[series])
    with pytest.raises(ValueError, match="web"):
        data_table(caption="t", days=[NOV3, NOV4], series=[series])


def rows(table: ET.Element) -> list[list[str]]:
    return [[cell.text or "" for cell in row] for row in table.iter("tr")]


def test_the_data_table_has_a_row_per_day_and_totals() -> None:
    table = ET.fromstring(
        str(
            data_table(
                caption="Messages in per channel",
                days=[NOV3, NOV4],
                series=[Series("web", [3, 13]), Series("telegram", [1, 0])],
            )
        )
    )

    assert table.findtext("caption") == "Messages in per channel"
    assert rows(table) == [
        ["Day", "web", "telegram", "Total"],
        ["2026-11-03", "3", "1", "4"],
        ["2026-11-04", "13", "0", "13"],
        ["Total", "16", "1", "17"],
    ]
    assert [cell.get("scope") for cell in table.iter("th")] == ["col"] * 4 + ["row"] * 3


def test_the_percent_data_table_shows_shares_and_counts() -> None:
    table = ET.fromstring(
        str(
            data_table(
                caption="Bot outcomes",
                days=[NOV3, NOV4],
                percent=True,
                series=[Series("answered", [12, 0]), Series("declined", [18, 0])],
            )
        )
    )

    assert rows(table)[1:] == [
        ["2026-11-03", "40 % (12)", "60 % (18)", "30"],
        ["2026-11-04", "0", "0", "0"],
        ["Total", "40 % (12)", "60 % (18)", "30"],
    ]
