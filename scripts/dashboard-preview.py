#!/usr/bin/env python3
"""Draws the bgtasks Grafana dashboard from a real Prometheus, without Grafana.

Reads the dashboard JSON (docs/grafana/bgtasks.json by default), evaluates every query of
every timeseries and stat panel over a time range through Prometheus' HTTP API
(/api/v1/query_range), with Grafana's variables replaced as Grafana would ($type: every
type, or --type; $__rate_interval: max(step + scrape interval, 4 x scrape interval)), and
draws the panels where the dashboard puts them (its rows, titles, series, legends, units,
stacking and stat values) into a PNG. It is a rendering of the dashboard's own queries,
not a Grafana screenshot; the picture says so in its footer.

Usage:
    python3 scripts/dashboard-preview.py --prometheus http://127.0.0.1:9090 \\
        [--dashboard docs/grafana/bgtasks.json] [--out docs/images/dashboard.png] \\
        [--minutes 10] [--end UNIX_SECONDS] [--scrape-interval 15] [--type REGEX] [--dpi 100]

Needs Python 3.9+ and matplotlib (`python3 -m pip install matplotlib`). Exits 1 when a
query is refused by Prometheus (the picture is still written, the panel saying why), 2
when Prometheus cannot be reached or the dashboard cannot be read.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyBboxPatch
    from matplotlib.ticker import FuncFormatter, MaxNLocator
except ImportError:  # pragma: no cover - depends on the machine
    sys.exit("dashboard-preview.py needs matplotlib: python3 -m pip install matplotlib")

# Grafana's dark theme and classic palette.
BACKGROUND, PANEL, BORDER = "#111217", "#181b1f", "#2c3235"
TEXT, MUTED, GRID = "#ccccdc", "#8e8e9e", "#2a2d32"
PALETTE = [
    "#7EB26D", "#EAB839", "#6ED0E0", "#EF843C", "#E24D42", "#1F78C1", "#BA43A9",
    "#705DA0", "#508642", "#CCA300", "#447EBC", "#C15C17", "#890F02", "#0A437C",
    "#6D1F62", "#584477", "#B7DBAB", "#F4D598", "#70DBED", "#F9BA8F",
]
NAMED_COLORS = {
    "green": "#73BF69", "red": "#F2495C", "yellow": "#FADE2A", "orange": "#FF9830",
    "blue": "#5794F2", "purple": "#B877D9", "text": TEXT,
}

# Layout, in inches: the width of the figure, the height of one grid unit of Grafana's
# 24-column grid, the gap between panels, and the header and footer bands.
WIDTH, UNIT_H, GAP = 16.0, 0.30, 0.06
HEADER, FOOTER = 0.62, 0.34


class PreviewError(Exception):
    """Prometheus or the dashboard could not be read."""


@dataclass
class Series:
    """One series of one query: its legend and values on the common time grid."""

    legend: str
    values: list[float]


@dataclass
class Answer:
    """What the queries of one panel gave: series, and the errors of refused queries."""

    series: list[Series] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


# -- Prometheus -----------------------------------------------------------------------


def query_range(base: str, query: str, start: float, end: float, step: float) -> list[dict]:
    """The matrix Prometheus answers for `query` over [start, end] every `step` seconds.

    Raises ValueError with Prometheus' message when it refuses the query, PreviewError
    when it cannot be reached.
    """
    params = urllib.parse.urlencode(
        {"query": query, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{step:g}"}
    )
    url = f"{base.rstrip('/')}/api/v1/query_range?{params}"
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            body = json.load(response)
    except urllib.error.HTTPError as error:
        try:
            body = json.load(error)
        except (json.JSONDecodeError, OSError):
            raise PreviewError(f"Prometheus at {base} answered HTTP {error.code}") from error
    except (urllib.error.URLError, OSError, json.JSONDecodeError) as error:
        raise PreviewError(f"cannot query Prometheus at {base}: {error}") from error
    if body.get("status") != "success":
        raise ValueError(f"{body.get('errorType', 'error')}: {body.get('error', '(no message)')}")
    return body["data"]["result"]


def substitute(expr: str, type_regex: str, rate_interval: str) -> str:
    """The query with the dashboard's variables replaced as Grafana would."""
    return (
        expr.replace("$__rate_interval", rate_interval)
        .replace("${type}", type_regex)
        .replace("$type", type_regex)
    )


def legend_of(template: str, labels: dict) -> str:
    """A legendFormat with its {{label}}s filled in (the series' labels when none)."""
    if template:
        return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: labels.get(m.group(1), ""), template).strip()
    name = labels.get("__name__", "")
    rest = ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items()) if k != "__name__")
    return f"{name}{{{rest}}}" if rest else name or "value"


def evaluate(base: str, panel: dict, grid: list[float], step: float, type_regex: str,
             rate_interval: str) -> Answer:
    """Every query of `panel` over the grid: its series (NaN where there is no point)."""
    answer = Answer()
    index = {round(t, 3): i for i, t in enumerate(grid)}
    for target in panel.get("targets", []):
        expr = target.get("expr")
        if not expr:
            continue
        query = substitute(expr, type_regex, rate_interval)
        try:
            matrix = query_range(base, query, grid[0], grid[-1], step)
        except ValueError as error:
            answer.errors.append(f"{target.get('refId', '?')}: {error}")
            print(f"panel {panel.get('title')!r} query {target.get('refId')}: {error}\n"
                  f"    {query}", file=sys.stderr)
            continue
        for item in matrix:
            values = [math.nan] * len(grid)
            for stamp, text in item.get("values", []):
                slot = index.get(round(float(stamp), 3))
                if slot is not None:
                    try:
                        values[slot] = float(text)
                    except ValueError:
                        pass
            answer.series.append(Series(legend_of(target.get("legendFormat", ""), item["metric"]), values))
    return answer


# -- Units ----------------------------------------------------------------------------


def si(value: float) -> str:
    """A number with a k/M/G suffix and three significant digits."""
    for limit, suffix in ((1e9, " G"), (1e6, " M"), (1e3, " k")):
        if abs(value) >= limit:
            return f"{value / limit:.3g}{suffix}"
    return f"{value:.3g}"


def formatted(value: float, unit: str) -> str:
    """`value` in Grafana's `unit` (s, ops, short, and plain for the rest)."""
    if value is None or math.isnan(value):
        return "–"
    if unit == "s":
        magnitude = abs(value)
        if magnitude == 0:
            return "0 s"
        if magnitude < 1e-3:
            return f"{value * 1e6:.3g} µs"
        if magnitude < 1:
            return f"{value * 1e3:.3g} ms"
        if magnitude < 60:
            return f"{value:.3g} s"
        if magnitude < 3600:
            return f"{value / 60:.3g} min"
        return f"{value / 3600:.3g} h"
    if unit == "ops":
        return f"{si(value)} ops/s"
    return si(value)


def last(values: list[float]) -> float:
    """The last value that is a number (Grafana's lastNotNull)."""
    for value in reversed(values):
        if not math.isnan(value):
            return value
    return math.nan


def numbers(values: list[float]) -> list[float]:
    return [v for v in values if not math.isnan(v)]


# -- Drawing --------------------------------------------------------------------------


class Canvas:
    """The figure, with Grafana's grid units turned into figure fractions."""

    def __init__(self, grid_height: int):
        self.height = HEADER + grid_height * UNIT_H + FOOTER
        self.figure = plt.figure(figsize=(WIDTH, self.height), facecolor=BACKGROUND)

    def box(self, pos: dict, inset_top: float = 0.0, inset_bottom: float = 0.0,
            inset_x: float = 0.0, inset_left: float | None = None) -> list[float]:
        """[left, bottom, width, height] in figure fractions of a gridPos, inset (inches;
        `inset_left` defaults to `inset_x`)."""
        unit_w = (WIDTH - 2 * GAP) / 24
        left_inset = inset_x if inset_left is None else inset_left
        left = GAP + pos["x"] * unit_w + GAP / 2 + left_inset
        width = pos["w"] * unit_w - GAP - inset_x - left_inset
        top = HEADER + pos["y"] * UNIT_H + GAP / 2 + inset_top
        height = pos["h"] * UNIT_H - GAP - inset_top - inset_bottom
        bottom = self.height - top - height
        return [left / WIDTH, bottom / self.height, width / WIDTH, height / self.height]

    def text(self, x_in: float, y_in: float, text: str, **style) -> None:
        """Text at a position in inches from the top-left corner."""
        self.figure.text(x_in / WIDTH, 1 - y_in / self.height, text, **style)


def panel_frame(canvas: Canvas, panel: dict) -> None:
    """The panel's background, border and title."""
    axes = canvas.figure.add_axes(canvas.box(panel["gridPos"]))
    axes.set_axis_off()
    axes.add_patch(FancyBboxPatch((0, 0), 1, 1, boxstyle="round,pad=0,rounding_size=0.01",
                                  transform=axes.transAxes, facecolor=PANEL,
                                  edgecolor=BORDER, linewidth=0.8))
    axes.text(0.012, 0.985, panel.get("title", ""), transform=axes.transAxes, ha="left",
              va="top", color=TEXT, fontsize=9, fontweight="bold")


def no_data(canvas: Canvas, panel: dict, answer: Answer) -> None:
    axes = canvas.figure.add_axes(canvas.box(panel["gridPos"], inset_top=0.3))
    axes.set_axis_off()
    message = "\n".join(answer.errors) if answer.errors else "No data"
    axes.text(0.5, 0.5, message, transform=axes.transAxes, ha="center", va="center",
              color="#F2495C" if answer.errors else MUTED, fontsize=9, wrap=True)


def draw_stat(canvas: Canvas, panel: dict, answer: Answer, times: list) -> None:
    """A stat panel: the last value, coloured by the base threshold, over a sparkline."""
    panel_frame(canvas, panel)
    if not answer.series:
        no_data(canvas, panel, answer)
        return
    unit = panel.get("fieldConfig", {}).get("defaults", {}).get("unit", "short")
    steps = panel.get("fieldConfig", {}).get("defaults", {}).get("thresholds", {}).get("steps", [])
    values = answer.series[0].values
    value = last(values)
    color = "#73BF69"
    for step in steps:
        if step.get("value") is None or (not math.isnan(value) and value >= step["value"]):
            color = NAMED_COLORS.get(step.get("color", ""), step.get("color", color))
    if panel.get("options", {}).get("graphMode") == "area" and numbers(values):
        spark = canvas.figure.add_axes(canvas.box(panel["gridPos"], inset_top=0.62,
                                                  inset_bottom=0.06, inset_x=0.06))
        spark.set_axis_off()
        spark.plot(times, values, color=color, linewidth=1.0)
        spark.fill_between(times, [0 if math.isnan(v) else v for v in values], color=color,
                           alpha=0.18, linewidth=0)
        top = max(numbers(values))
        spark.set_ylim(0, top * 1.15 if top > 0 else 1)
        spark.set_xlim(times[0], times[-1])
    axes = canvas.figure.add_axes(canvas.box(panel["gridPos"], inset_top=0.22))
    axes.set_axis_off()
    axes.text(0.5, 0.62, formatted(value, unit), transform=axes.transAxes, ha="center",
              va="center", color=color, fontsize=20, fontweight="bold")


def stacked(series: list[Series]) -> list[list[float]]:
    """Running sums of the series (a missing point counts as 0), for stacked panels."""
    totals = [0.0] * len(series[0].values)
    out = []
    for one in series:
        totals = [t + (0.0 if math.isnan(v) else v) for t, v in zip(totals, one.values)]
        out.append(list(totals))
    return out


def draw_timeseries(canvas: Canvas, panel: dict, answer: Answer, times: list) -> None:
    """A timeseries panel: its lines (stacked if asked), unit axis and legend table."""
    panel_frame(canvas, panel)
    if not answer.series:
        no_data(canvas, panel, answer)
        return
    defaults = panel.get("fieldConfig", {}).get("defaults", {})
    unit = defaults.get("unit", "short")
    custom = defaults.get("custom", {})
    fill = float(custom.get("fillOpacity", 0)) / 100
    is_stacked = custom.get("stacking", {}).get("mode", "none") == "normal"
    pos = panel["gridPos"]
    height_in = pos["h"] * UNIT_H
    # The legend table takes up to 45 % of the panel, one line per series.
    line_in = 0.135
    room = max(1, int(height_in * 0.45 / line_in) - 1)
    shown = answer.series if len(answer.series) <= room else answer.series[: room - 1]
    legend_lines = len(shown) + 1 + (1 if len(shown) < len(answer.series) else 0)
    legend_in = legend_lines * line_in + 0.05
    axes = canvas.figure.add_axes(canvas.box(pos, inset_top=0.3, inset_bottom=legend_in + 0.22,
                                             inset_x=0.1, inset_left=0.72))
    axes.set_facecolor(PANEL)
    colors = [PALETTE[i % len(PALETTE)] for i in range(len(answer.series))]
    lines = stacked(answer.series) if is_stacked else [s.values for s in answer.series]
    below = [0.0] * len(times)
    for index, values in enumerate(lines):
        color = colors[index]
        axes.plot(times, values, color=color, linewidth=float(custom.get("lineWidth", 1)))
        if fill > 0:
            floor = below if is_stacked else [0.0] * len(times)
            axes.fill_between(times, floor, [f if math.isnan(v) else v for v, f in zip(values, floor)],
                              color=color, alpha=fill, linewidth=0)
        if is_stacked:
            below = values
    axes.set_xlim(times[0], times[-1])
    present = [v for values in lines for v in values if not math.isnan(v)]
    # Grafana's axis for a flat zero line: 0 to 1.
    axes.set_ylim(0, None if present and max(present) > 0 else 1)
    axes.yaxis.set_major_locator(MaxNLocator(nbins=4))
    axes.yaxis.set_major_formatter(FuncFormatter(lambda v, _: formatted(v, unit)))
    axes.xaxis.set_major_locator(mdates.AutoDateLocator(minticks=3, maxticks=6))
    span = (times[-1] - times[0]).total_seconds()
    axes.xaxis.set_major_formatter(
        mdates.DateFormatter("%H:%M" if span > 600 else "%H:%M:%S", tz=timezone.utc))
    # No time label at the very edges, where it would run into the value axis.
    margin = (mdates.date2num(times[-1]) - mdates.date2num(times[0])) * 0.04
    ticks = [t for t in axes.xaxis.get_major_locator()()
             if mdates.date2num(times[0]) + margin <= t <= mdates.date2num(times[-1]) - margin]
    axes.set_xticks(ticks)
    axes.tick_params(colors=MUTED, labelsize=7, length=0)
    axes.grid(True, color=GRID, linewidth=0.6)
    for spine in axes.spines.values():
        spine.set_visible(False)
    legend_table(canvas, pos, answer.series, shown, colors, unit, legend_in)


def legend_table(canvas: Canvas, pos: dict, series: list[Series], shown: list[Series],
                 colors: list[str], unit: str, legend_in: float) -> None:
    """Grafana's table legend: name, mean, max and last of each series shown."""
    box = canvas.box(pos, inset_top=pos["h"] * UNIT_H - legend_in - 0.1, inset_bottom=0.05,
                     inset_x=0.1)
    axes = canvas.figure.add_axes(box)
    axes.set_axis_off()
    rows = len(shown) + 1 + (1 if len(shown) < len(series) else 0)
    height = 1.0 / rows
    columns = (0.62, 0.75, 0.88, 1.0)
    for x, name in zip(columns, ("Mean", "Max", "Last *")):
        axes.text(x, 1 - height / 2, name, transform=axes.transAxes, ha="right", va="center",
                  color=MUTED, fontsize=6.5)
    for row, one in enumerate(shown, start=1):
        y = 1 - (row + 0.5) * height
        axes.plot([0.0, 0.018], [y, y], transform=axes.transAxes, color=colors[row - 1],
                  linewidth=2.5, solid_capstyle="butt")
        axes.text(0.026, y, one.legend, transform=axes.transAxes, ha="left", va="center",
                  color=TEXT, fontsize=6.5)
        present = numbers(one.values)
        stats = (
            sum(present) / len(present) if present else math.nan,
            max(present) if present else math.nan,
            last(one.values),
        )
        for x, value in zip(columns[1:], stats):
            axes.text(x, y, formatted(value, unit), transform=axes.transAxes, ha="right",
                      va="center", color=TEXT, fontsize=6.5)
    if len(shown) < len(series):
        y = 1 - (rows - 0.5) * height
        axes.text(0.026, y, f"+ {len(series) - len(shown)} more series", transform=axes.transAxes,
                  ha="left", va="center", color=MUTED, fontsize=6.5, style="italic")


def draw_row(canvas: Canvas, panel: dict) -> None:
    pos = panel["gridPos"]
    y = HEADER + pos["y"] * UNIT_H + UNIT_H * 0.55
    canvas.text(GAP + 0.05, y, panel.get("title", ""), color=TEXT, fontsize=11,
                fontweight="bold", va="center")


# -- Main -----------------------------------------------------------------------------


def save(figure, out: Path, dpi: int) -> None:
    """Writes the PNG with a 256-colour palette (a third of the size, same look) when
    Pillow (a dependency of matplotlib) is there."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, facecolor=BACKGROUND)
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - matplotlib brings Pillow
        out.write_bytes(buffer.getvalue())
        return
    buffer.seek(0)
    with Image.open(buffer) as image:
        image.convert("RGB").quantize(colors=256, dither=Image.Dither.NONE).save(out, optimize=True)


def flatten(panels: list[dict]) -> list[dict]:
    """The panels, with those of collapsed rows after their row."""
    out = []
    for panel in panels:
        out.append(panel)
        out.extend(panel.get("panels", []) if panel.get("type") == "row" else [])
    return out


def parse_args(argv: list[str]) -> argparse.Namespace:
    root = Path(__file__).resolve().parent.parent
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prometheus", required=True, help="Prometheus' base URL, e.g. http://127.0.0.1:9090")
    parser.add_argument("--dashboard", type=Path, default=root / "docs/grafana/bgtasks.json")
    parser.add_argument("--out", type=Path, default=root / "docs/images/dashboard.png")
    parser.add_argument("--minutes", type=float, default=10.0, help="the time range, ending at --end (default 10)")
    parser.add_argument("--end", type=float, default=None, help="the range's end, Unix seconds (default now)")
    parser.add_argument("--scrape-interval", type=float, default=15.0,
                        help="Prometheus' scrape interval in seconds, as Grafana's data source knows it (default 15)")
    parser.add_argument("--type", default=".*", help="the $type variable, a regex (default every type)")
    parser.add_argument("--max-points", type=int, default=300, help="points per series at most (default 300)")
    parser.add_argument("--dpi", type=int, default=100, help="pixels per inch of the 16-inch-wide picture (default 100)")
    args = parser.parse_args(argv)
    if args.minutes <= 0 or args.scrape_interval <= 0 or args.max_points < 2:
        parser.error("--minutes, --scrape-interval and --max-points must be positive")
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    try:
        dashboard = json.loads(args.dashboard.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        print(f"cannot read the dashboard {args.dashboard}: {error}", file=sys.stderr)
        return 2
    end = args.end if args.end is not None else time.time()
    span = args.minutes * 60
    # Grafana's $__interval (range / points, at least the scrape interval) and
    # $__rate_interval (max($__interval + scrape interval, 4 x scrape interval)).
    step = max(args.scrape_interval, math.ceil(span / args.max_points))
    rate_interval = f"{int(max(step + args.scrape_interval, 4 * args.scrape_interval))}s"
    start = end - span
    count = int(span // step) + 1
    grid = [start + i * step for i in range(count)]
    times = [datetime.fromtimestamp(t, tz=timezone.utc) for t in grid]

    panels = flatten(dashboard.get("panels", []))
    grid_height = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in panels)
    canvas = Canvas(grid_height)
    refused = 0
    for panel in panels:
        kind = panel.get("type")
        if kind == "row":
            draw_row(canvas, panel)
            continue
        if kind not in ("timeseries", "stat"):
            panel_frame(canvas, panel)
            continue
        try:
            answer = evaluate(args.prometheus, panel, grid, step, args.type, rate_interval)
        except PreviewError as error:
            print(error, file=sys.stderr)
            return 2
        refused += len(answer.errors)
        (draw_stat if kind == "stat" else draw_timeseries)(canvas, panel, answer, times)

    first = times[0].strftime("%Y-%m-%d %H:%M")
    canvas.text(GAP + 0.05, 0.3, dashboard.get("title", "dashboard"), color=TEXT, fontsize=15,
                fontweight="bold", va="center")
    canvas.text(WIDTH - GAP - 0.05, 0.3,
                f"{first}–{times[-1]:%H:%M} UTC · type =~ \"{args.type}\" · step {step:g}s · "
                f"$__rate_interval = {rate_interval}", color=MUTED, fontsize=9, ha="right",
                va="center")
    canvas.text(WIDTH / 2, canvas.height - FOOTER / 2,
                f"Drawn by scripts/dashboard-preview.py: the queries of {args.dashboard.name} "
                f"evaluated by Prometheus (query_range) and plotted with matplotlib. "
                f"Not a Grafana screenshot.", color=MUTED, fontsize=8, ha="center", va="center")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    save(canvas.figure, args.out, args.dpi)
    print(f"wrote {args.out} ({args.out.stat().st_size // 1024} KB, {len(panels)} panels, "
          f"{first}–{times[-1]:%H:%M} UTC, step {step:g}s, rate window {rate_interval})")
    return 1 if refused else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
