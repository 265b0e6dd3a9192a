"""Bar charts drawn on the server as SVG: axes, gridlines and values, no script and no CDN.

`bars` lays a chart out; `templates/chart.html` draws it, with the same numbers in a table
beside it for screen readers and for reading exact values.
"""

from dataclasses import dataclass

from bot.console.pages import number

HEIGHT = 160  # the plot area, in SVG units
LEFT = 44  # room for the value axis' labels
BOTTOM = 24  # room for the category labels
TOP = 16  # room for the value above the highest bar
SLOT = 44  # per category, while the chart fits in WIDTHS
WIDTHS = (360, 540)  # so that two bars make no narrow strip, and 90 days no thin line
BAR = 40  # at most
LABELLED_VALUES = 14  # more categories than this: values only in the table and the tooltips
LABELLED_DAYS = 16  # more than this: every few categories named on the axis


@dataclass(frozen=True)
class Bar:
    """One bar: where it is, its value and what it says."""

    series: int
    x: float
    y: float
    width: float
    height: float
    value: str
    title: str


@dataclass(frozen=True)
class Chart:
    """A laid-out bar chart: one group of bars per category, one bar per series."""

    title: str
    series: tuple[str, ...]
    categories: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]  # per category its values, written the Dutch way
    bars: tuple[Bar, ...]
    ticks: tuple[tuple[float, str], ...]  # (y, label) of each gridline
    labels: tuple[tuple[float, str], ...]  # (x, name) of the categories named on the axis
    width: int
    values_shown: bool
    height: int = HEIGHT
    top: int = TOP
    left: int = LEFT

    @property
    def bottom(self) -> int:
        """Return the y of the category axis."""
        return self.top + self.height

    @property
    def view_height(self) -> int:
        """Return the height of the whole drawing."""
        return self.top + self.height + BOTTOM


def step(top: int) -> int:
    """Return a round gridline step (1, 2, 5, 10, 20, ...) giving at most five lines."""
    size = 1
    while True:
        for factor in (1, 2, 5):
            if top <= 5 * size * factor:
                return size * factor
        size *= 10


def bars(title: str, series: tuple[str, ...], categories: list[str],
         values: list[list[int]]) -> Chart:
    """Lay out a chart of `values[category][series]`."""
    top = max((value for row in values for value in row), default=0)
    spacing = step(max(top, 1))
    scale_top = -(-max(top, 1) // spacing) * spacing
    count = max(len(categories), 1)
    slot = (min(max(LEFT + count * SLOT + 4, WIDTHS[0]), WIDTHS[1]) - LEFT - 4) / count
    width = min(slot * 0.8 / len(series), BAR)
    margin = (slot - width * len(series)) / 2
    drawn: list[Bar] = []
    for index, (category, row) in enumerate(zip(categories, values, strict=True)):
        for number_in_group, value in enumerate(row):
            height = value / scale_top * HEIGHT
            drawn.append(Bar(
                number_in_group, LEFT + index * slot + margin + number_in_group * width,
                TOP + HEIGHT - height, width - 1, height, number(value),
                f"{category}: {number(value)} {series[number_in_group]}"))
    every = 1 if len(categories) <= LABELLED_DAYS else -(-len(categories) // 8)
    return Chart(
        title=title, series=series, categories=tuple(categories),
        rows=tuple(tuple(number(value) for value in row) for row in values),
        bars=tuple(drawn),
        ticks=tuple((TOP + HEIGHT - line / scale_top * HEIGHT, number(line))
                    for line in range(0, scale_top + 1, spacing)),
        labels=tuple((LEFT + index * slot + slot / 2, category)
                     for index, category in enumerate(categories) if index % every == 0),
        width=round(LEFT + count * slot + 4),
        values_shown=len(categories) <= LABELLED_VALUES,
    )
