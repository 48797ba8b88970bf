//! Chart geometry for server-drawn SVG, pure: templates only place the shapes computed here,
//! so the pages need no JavaScript chart library.

use crate::srs::day::date_of_day;
use std::collections::HashMap;

/// One bar of a bar chart, in the chart's own units (the SVG's viewBox).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bar {
    /// Left edge.
    pub x: u32,
    /// Top edge.
    pub y: u32,
    /// Width.
    pub width: u32,
    /// Height (0 for an empty bar).
    pub height: u32,
    /// Horizontal centre, where the value is written.
    pub middle: u32,
    /// The value.
    pub count: i64,
    /// The value as printed above the bar ("" for 0, "1.2k" past 999, so it fits its slot).
    pub value: String,
    /// What the bar stands for, for its tooltip.
    pub label: String,
}

/// A label on an axis, at `at` (x for the time axis, y for the count axis).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tick {
    /// Where along its axis.
    pub at: u32,
    /// The text.
    pub label: String,
    /// How the text hangs from `at`: SVG's `text-anchor` ("start", "middle" or "end").
    pub anchor: &'static str,
}

/// A generous estimate of how wide `label` is drawn at `font` (both in the chart's units):
/// what the geometry keeps clear, so no label is cut by its chart's edge or runs into the
/// next bar.
pub fn text_width(label: &str, font: u32) -> u32 {
    let chars = u32::try_from(label.chars().count()).unwrap_or(u32::MAX);
    chars.saturating_mul(font).saturating_mul(7).div_ceil(10)
}

/// Where a label drawn from `at` with `anchor` begins and ends, at `font`.
pub fn extent(at: u32, label: &str, anchor: &str, font: u32) -> (i64, i64) {
    let w = i64::from(text_width(label, font));
    let at = i64::from(at);
    match anchor {
        "start" => (at, at + w),
        "end" => (at - w, at),
        _ => (at - w / 2, at + w - w / 2),
    }
}

/// A bar chart that carries its numbers: each bar's value above it, counts on the left axis
/// with grid lines, dates below. Drawn at a fixed aspect so its text is never stretched; its
/// text size is in the chart's own units (`font`), so its geometry keeps every label clear.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BarChart {
    /// The bars.
    pub bars: Vec<Bar>,
    /// Count-axis labels (0, half, the top), with a grid line each.
    pub counts: Vec<Tick>,
    /// Time-axis labels.
    pub times: Vec<Tick>,
    /// The viewBox's width.
    pub width: u32,
    /// The viewBox's height.
    pub height: u32,
    /// Where the plot starts (room for the count labels on its left).
    pub left: u32,
    /// Where the time labels' baseline sits.
    pub time_y: u32,
    /// The text size, in the chart's units.
    pub font: u32,
    /// The days it covers, for its description ("2026-12-06 to 2026-12-20").
    pub span: String,
    /// The same bars for a phone: narrower charts of at most [`ROW_BARS`] bars each, on one
    /// scale, shown one under the other instead of this one (empty for such a row itself).
    pub rows: Vec<BarChart>,
}

/// Bars in one row of a chart's phone layout.
pub const ROW_BARS: usize = 15;

/// A bar chart's proportions: a wide one for a desktop, a narrow one for each row on a phone.
#[derive(Debug, Clone, Copy)]
struct Layout {
    width: u32,
    left: u32,
    top: u32,
    base: u32,
    time_y: u32,
    height: u32,
    font: u32,
}

impl BarChart {
    /// The desktop chart's viewBox width.
    pub const WIDTH: u32 = WIDE.width;
    /// Its plot's left edge.
    pub const LEFT: u32 = WIDE.left;
    /// Its plot's top.
    pub const TOP: u32 = WIDE.top;
    /// Its plot's baseline.
    pub const BASE: u32 = WIDE.base;
}

/// 600 units drawn 560 to 770 px wide: text of 12 units reads at 11 to 15 px.
const WIDE: Layout = Layout {
    width: 600,
    left: 34,
    top: 18,
    base: 148,
    time_y: 166,
    height: 174,
    font: 12,
};

/// 360 units drawn about 330 px wide on a 390 px phone: text of 14 units reads at 12.8 px.
const NARROW: Layout = Layout {
    width: 360,
    left: 40,
    top: 20,
    base: 150,
    time_y: 170,
    height: 176,
    font: 14,
};

/// Time-axis labels for one bar per day over `offsets` (days from `today`): "today", and the
/// date every seventh day from it ("Dec 7").
pub fn week_ticks(today: i32, offsets: std::ops::Range<i32>) -> Vec<(usize, String)> {
    offsets
        .clone()
        .zip(0usize..)
        .filter(|(offset, _)| offset % 7 == 0)
        .map(|(offset, index)| {
            let label = if offset == 0 {
                "today".to_owned()
            } else {
                date_of_day(today + offset).strftime("%b %-d").to_string()
            };
            (index, label)
        })
        .collect()
}

/// The smallest 1, 2 or 5 times a power of ten that is at least `n` (at least 1), so the top
/// grid line reads as a round number.
fn round_up(n: i64) -> i64 {
    let mut step = 1i64;
    loop {
        for m in [1, 2, 5] {
            if step.saturating_mul(m) >= n {
                return step.saturating_mul(m).max(1);
            }
        }
        step = step.saturating_mul(10);
    }
}

fn compact(n: i64) -> String {
    match n {
        0 => String::new(),
        1..=999 => n.to_string(),
        _ if n < 10_000 => format!("{:.1}k", n as f64 / 1000.0),
        _ => format!("{}k", n / 1000),
    }
}

/// A chart of `values` (tooltip label, count), with `times` (bar index, text) under the bars.
/// The bar `always` (today's, say) shows its value even when it is 0, so an empty day is seen
/// and named rather than left as a gap beside its neighbour.
pub fn bar_chart(
    values: &[(String, i64)],
    times: &[(usize, String)],
    always: Option<usize>,
) -> BarChart {
    let top = round_up(values.iter().map(|(_, c)| *c).max().unwrap_or(0));
    let mut chart = draw(WIDE, values, times, always, top);
    if values.len() > ROW_BARS {
        chart.rows = values
            .chunks(ROW_BARS)
            .enumerate()
            .map(|(row, part)| {
                let first = row * ROW_BARS;
                let times: Vec<(usize, String)> = times
                    .iter()
                    .filter(|(i, _)| (first..first + part.len()).contains(i))
                    .map(|(i, label)| (i - first, label.clone()))
                    .collect();
                let always = always
                    .filter(|i| (first..first + part.len()).contains(i))
                    .map(|i| i - first);
                // One scale for every row, so that rows compare.
                draw(NARROW, part, &times, always, top)
            })
            .collect();
    }
    chart
}

fn draw(
    layout: Layout,
    values: &[(String, i64)],
    times: &[(usize, String)],
    always: Option<usize>,
    top: i64,
) -> BarChart {
    let plot = layout.width - layout.left;
    let height = layout.base - layout.top;
    let n = u32::try_from(values.len().max(1)).unwrap_or(1);
    let slot = (plot / n).max(2);
    let scale =
        |count: i64| u32::try_from(count.clamp(0, top) * i64::from(height) / top).unwrap_or(height);
    let bars = values
        .iter()
        .zip(0u32..)
        .map(|((label, count), i)| {
            let h = scale(*count);
            let x = layout.left + i * slot;
            Bar {
                x: x + 1,
                y: layout.base - h,
                width: slot.saturating_sub(2).max(1),
                height: h,
                middle: x + slot / 2,
                count: *count,
                value: if always == usize::try_from(i).ok() {
                    (*count).max(0).to_string()
                } else {
                    compact(*count)
                },
                label: label.clone(),
            }
        })
        .collect();
    // 0, the half when it is a whole number, and the top, each with a grid line.
    let counts = [Some(0), (top % 2 == 0).then_some(top / 2), Some(top)]
        .into_iter()
        .flatten()
        .map(|c| Tick {
            at: layout.base - scale(c),
            label: c.to_string(),
            anchor: "end",
        })
        .collect();
    // A date sits under the middle of its bar unless it would then reach past the plot's
    // edge: under the first bar it ends at that bar's right edge (running under the count
    // axis, never under the next bar), under the last it ends at the chart's edge.
    let times = times
        .iter()
        .filter(|(i, _)| *i < values.len())
        .map(|(i, label)| {
            let x = layout.left + u32::try_from(*i).unwrap_or(0) * slot;
            let middle = x + slot / 2;
            let (from, to) = extent(middle, label, "middle", layout.font);
            if from < i64::from(layout.left) || to > i64::from(layout.width) {
                Tick {
                    at: x + slot - 1,
                    label: label.clone(),
                    anchor: "end",
                }
            } else {
                Tick {
                    at: middle,
                    label: label.clone(),
                    anchor: "middle",
                }
            }
        })
        .collect();
    BarChart {
        bars,
        counts,
        times,
        width: layout.width,
        height: layout.height,
        left: layout.left,
        time_y: layout.time_y,
        font: layout.font,
        span: match (values.first(), values.last()) {
            (Some((first, _)), Some((last, _))) => format!("{first} to {last}"),
            _ => String::new(),
        },
        rows: Vec::new(),
    }
}

/// The due forecast: cards due per day from `today` for `days` days, from `due` (due day,
/// cards), overdue days counted on today's; `repeats_today` (same-day repeats owed) are
/// today's too. Its first bar is today's, under the "today" label, and the figures the
/// page's tiles show are read from the same bars, so the tiles and the chart agree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forecast {
    /// The chart.
    pub chart: BarChart,
    /// Today's bar: cards due today or overdue, and repeats owed.
    pub due_today: i64,
    /// Tomorrow's bar.
    pub due_tomorrow: i64,
}

/// See [`Forecast`].
pub fn forecast(today: i32, days: i32, due: &[(i64, i64)], repeats_today: i64) -> Forecast {
    let mut per_day = vec![0i64; usize::try_from(days.max(1)).unwrap_or(1)];
    for &(day, count) in due {
        let offset = usize::try_from((day - i64::from(today)).max(0)).unwrap_or(usize::MAX);
        if let Some(slot) = per_day.get_mut(offset) {
            *slot += count;
        }
    }
    per_day[0] += repeats_today;
    let values: Vec<(String, i64)> = per_day
        .iter()
        .zip(0..)
        .map(|(count, offset)| (date_of_day(today + offset).to_string(), *count))
        .collect();
    Forecast {
        chart: bar_chart(&values, &week_ticks(today, 0..days), Some(0)),
        due_today: per_day[0],
        due_tomorrow: per_day.get(1).copied().unwrap_or(0),
    }
}

/// One part of a stacked bar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// Left edge.
    pub x: u32,
    /// Width.
    pub width: u32,
    /// 0, 1, 2...: which part (for its colour).
    pub part: usize,
}

/// A horizontal bar `width` wide split in proportion to `values` (empty parts are left out).
pub fn stacked(values: &[i64], width: u32) -> Vec<Segment> {
    let total: i64 = values.iter().map(|v| (*v).max(0)).sum();
    if total == 0 {
        return Vec::new();
    }
    let mut x = 0;
    let mut out = Vec::new();
    let mut acc = 0i64;
    for (part, v) in values.iter().enumerate() {
        acc += (*v).max(0);
        // Ends are rounded from the running total, so the parts always add up to `width`.
        let end = u32::try_from(acc * i64::from(width) / total).unwrap_or(width);
        if end > x {
            out.push(Segment {
                x,
                width: end - x,
                part,
            });
        }
        x = end;
    }
    out
}

/// One day of a calendar heat map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cell {
    /// Left edge.
    pub x: u32,
    /// Top edge.
    pub y: u32,
    /// 0 (no reviews) to 4 (the busiest days).
    pub level: u8,
    /// "2026-03-01: 12 reviews".
    pub title: String,
}

/// Side of one heat-map square, gap included.
pub const CELL: u32 = 12;
/// Weeks shown.
pub const WEEKS: i32 = 53;

/// A year of reviews with its calendar: month names above the weeks they start in, weekday
/// names beside the rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeatMap {
    /// The days.
    pub cells: Vec<Cell>,
    /// Month names, `at` the column of the week holding the 1st.
    pub months: Vec<Tick>,
    /// Mon, Wed and Fri, `at` their row's text baseline.
    pub weekdays: Vec<Tick>,
}

impl HeatMap {
    /// Room on the left for the weekday names.
    pub const LEFT: u32 = 34;
    /// Room above for the month names.
    pub const TOP: u32 = 16;
    /// The largest text size the stylesheet gives the labels (a phone's), in the map's units:
    /// the room left for them is measured at it.
    pub const MAX_FONT: u32 = 14;
    /// Room on the right for a month that starts in the last week shown ("Dec" on the 6th).
    pub const RIGHT: u32 = 20;
    /// The viewBox's width.
    pub const WIDTH: u32 = Self::LEFT + WEEKS.unsigned_abs() * CELL + Self::RIGHT;
    /// The viewBox's height.
    pub const HEIGHT: u32 = Self::TOP + 7 * CELL;
}

/// A year of days ending `today` with its month and weekday labels.
pub fn heat_map(today: i32, counts: &HashMap<i32, i64>) -> HeatMap {
    let cells: Vec<Cell> = heat_cells(today, counts)
        .into_iter()
        .map(|c| Cell {
            x: c.x + HeatMap::LEFT,
            y: c.y + HeatMap::TOP,
            ..c
        })
        .collect();
    let first = today - (cells.len() as i32 - 1);
    let mut months: Vec<Tick> = Vec::new();
    for (day, cell) in (first..=today).zip(&cells) {
        let date = date_of_day(day);
        if date.day() == 1 {
            // A label needs about three columns; a month starting in the first weeks shown
            // would collide with the next one.
            if cell.x < HeatMap::LEFT + 2 * CELL {
                continue;
            }
            months.push(Tick {
                at: cell.x,
                label: date.strftime("%b").to_string(),
                anchor: "start",
            });
        }
    }
    let weekdays = [(0u32, "Mon"), (2, "Wed"), (4, "Fri")]
        .into_iter()
        .map(|(row, name)| Tick {
            at: HeatMap::TOP + row * CELL + 9,
            label: name.to_owned(),
            anchor: "start",
        })
        .collect();
    HeatMap {
        cells,
        months,
        weekdays,
    }
}

/// A year of days ending `today`, one column a week (Monday on top), shaded by `counts`.
fn heat_cells(today: i32, counts: &HashMap<i32, i64>) -> Vec<Cell> {
    let weekday = |day: i32| i32::from(date_of_day(day).weekday().to_monday_zero_offset());
    let first = today - (WEEKS - 1) * 7 - weekday(today);
    // Shade against the busiest day shown, not one outside the year.
    let max = (first..=today)
        .filter_map(|d| counts.get(&d).copied())
        .max()
        .unwrap_or(0)
        .max(1);
    (first..=today)
        .map(|day| {
            let count = counts.get(&day).copied().unwrap_or(0);
            let level = if count <= 0 {
                0
            } else {
                // Quartiles of the busiest day, rounded up so that any review shows.
                u8::try_from(((count * 4 + max - 1) / max).clamp(1, 4)).unwrap_or(4)
            };
            let week = u32::try_from((day - first) / 7).unwrap_or(0);
            Cell {
                x: week * CELL,
                y: u32::try_from(weekday(day)).unwrap_or(0) * CELL,
                level,
                title: format!(
                    "{}: {count} review{}",
                    date_of_day(day),
                    if count == 1 { "" } else { "s" }
                ),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bar_charts_scale_to_a_round_top_and_carry_their_numbers() {
        let chart = bar_chart(
            &[
                ("a".into(), 0),
                ("b".into(), 7),
                ("c".into(), 10),
                ("d".into(), 1234),
            ],
            &[
                (0, "today".into()),
                (3, "in 3 days".into()),
                (9, "out of range".into()),
            ],
            None,
        );
        let plot = BarChart::BASE - BarChart::TOP;
        assert_eq!(chart.bars.len(), 4);
        assert_eq!(chart.bars[0].height, 0);
        assert_eq!(chart.bars[0].value, "");
        assert_eq!(chart.bars[1].value, "7");
        assert_eq!(chart.bars[3].value, "1.2k");
        // The top is 2000, the round number above 1234.
        assert_eq!(chart.bars[3].height, 1234 * plot / 2000);
        assert_eq!(chart.bars[3].y + chart.bars[3].height, BarChart::BASE);
        let labels: Vec<&str> = chart.counts.iter().map(|t| t.label.as_str()).collect();
        assert_eq!(labels, ["0", "1000", "2000"]);
        assert_eq!(chart.counts[2].at, BarChart::TOP);
        assert_eq!(chart.times.len(), 2);
        assert_eq!(chart.times[1].at, chart.bars[3].middle);
        assert!(chart.bars.iter().all(|b| b.x + b.width <= BarChart::WIDTH));
        // Nothing to show still draws an axis from 0 to 1, without a fractional half.
        let empty = bar_chart(&[("a".into(), 0)], &[], None);
        let labels: Vec<&str> = empty.counts.iter().map(|t| t.label.as_str()).collect();
        assert_eq!(labels, ["0", "1"]);
    }

    /// Where a time label is drawn, as (first, last) x in the chart's units.
    fn label_span(chart: &BarChart, tick: &Tick) -> (i64, i64) {
        extent(tick.at, &tick.label, tick.anchor, chart.font)
    }

    #[test]
    fn the_forecast_starts_today_under_the_today_label_and_agrees_with_the_tiles() {
        let today = crate::srs::day::day_number(jiff::civil::date(2026, 12, 6));
        let t = i64::from(today);
        // Nothing due today, 20 cards tomorrow (a first day's cards), 3 on day 9.
        let plan = forecast(today, 30, &[(t + 1, 20), (t + 9, 3)], 0);
        assert_eq!((plan.due_today, plan.due_tomorrow), (0, 20));
        for chart in std::iter::once(&plan.chart).chain(&plan.chart.rows) {
            // Every label stays inside its chart.
            for tick in &chart.times {
                let (from, to) = label_span(chart, tick);
                assert!(from >= 0 && to <= i64::from(chart.width), "{tick:?}");
            }
        }
        // The desktop chart, and the first of the phone's rows.
        for chart in [&plan.chart, &plan.chart.rows[0]] {
            let today_tick = chart.times.iter().find(|t| t.label == "today").unwrap();
            let (from, to) = label_span(chart, today_tick);
            let (bar0, bar1) = (&chart.bars[0], &chart.bars[1]);
            // Under today's bar, not reaching tomorrow's, and inside the chart.
            assert!(
                from < i64::from(bar0.x + bar0.width) && to > i64::from(bar0.x),
                "{today_tick:?}"
            );
            assert!(to <= i64::from(bar1.x), "'today' runs under tomorrow's bar");
            assert!(from >= 0);
        }
        let bars = &plan.chart.bars;
        assert_eq!(bars[0].label, "2026-12-06");
        assert_eq!((bars[0].count, bars[0].height), (0, 0));
        assert_eq!(
            bars[0].value, "0",
            "an empty today still says 0, as the tile does"
        );
        assert_eq!((bars[1].count, bars[1].value.as_str()), (20, "20"));
        assert_eq!(bars[2].value, "", "other empty days stay blank");
        assert_eq!(bars[9].count, 3);

        // Overdue cards and today's repeats are today's, on the bar as on the tile.
        let plan = forecast(today, 30, &[(t - 3, 2), (t, 1), (t + 1, 4)], 1);
        assert_eq!(plan.due_today, 4);
        assert_eq!(plan.chart.bars[0].count, plan.due_today);
        assert_eq!(plan.chart.bars[1].count, plan.due_tomorrow);
    }

    #[test]
    fn on_a_phone_the_whole_forecast_shows_in_rows_on_one_scale() {
        let today = crate::srs::day::day_number(jiff::civil::date(2026, 12, 6));
        let t = i64::from(today);
        let plan = forecast(today, 30, &[(t + 1, 20), (t + 29, 7)], 0);
        let rows = &plan.chart.rows;
        assert_eq!(rows.len(), 2);
        assert_eq!(rows.iter().map(|r| r.bars.len()).sum::<usize>(), 30);
        assert_eq!(
            rows[1].bars[14].label, "2027-01-04",
            "the 30th day is shown"
        );
        assert_eq!(rows[1].bars[14].count, 7);
        // One scale: 7 cards are as tall in the second row as they would be in the first.
        let height = |count: i64| count * i64::from(NARROW.base - NARROW.top) / 20;
        assert_eq!(i64::from(rows[1].bars[14].height), height(7));
        assert_eq!(rows[0].counts, rows[1].counts);
        // Text in a row is 14 units in a 360-unit chart: about 12.8 px at a phone's 330.
        assert!(rows.iter().all(|r| r.font * 330 / r.width >= 12));
        assert_eq!(rows[0].times[0].label, "today");
        let labels: Vec<&str> = rows[1].times.iter().map(|t| t.label.as_str()).collect();
        assert_eq!(labels, ["Dec 27", "Jan 3"]);
        // A chart short enough for a phone has no rows.
        assert!(bar_chart(&[("a".into(), 1)], &[], None).rows.is_empty());
    }

    #[test]
    fn month_and_weekday_names_fit_whole_inside_the_heat_map() {
        // December 2026 starts in the last week shown on the 6th; its name was cut to "De".
        for date in [(2026, 12, 6), (2026, 12, 31), (2027, 3, 1), (2026, 6, 15)] {
            let today = crate::srs::day::day_number(jiff::civil::date(date.0, date.1, date.2));
            let map = heat_map(today, &HashMap::new());
            let font = HeatMap::MAX_FONT;
            for t in &map.months {
                assert_eq!(t.label.chars().count(), 3, "{t:?}");
                let (from, to) = extent(t.at, &t.label, t.anchor, font);
                assert!(
                    from >= i64::from(HeatMap::LEFT) && to <= i64::from(HeatMap::WIDTH),
                    "{t:?} is cut at the edge on {date:?}"
                );
            }
            if date == (2026, 12, 6) {
                assert_eq!(map.months.last().unwrap().label, "Dec");
            }
            for t in &map.weekdays {
                let (from, to) = extent(0, &t.label, t.anchor, font);
                assert!(from >= 0 && to < i64::from(HeatMap::LEFT), "{t:?}");
            }
        }
    }

    #[test]
    fn week_ticks_mark_today_and_every_seventh_day() {
        let today = crate::srs::day::day_number(jiff::civil::date(2026, 11, 30));
        let ahead = week_ticks(today, 0..30);
        assert_eq!(ahead[0], (0, "today".to_owned()));
        assert_eq!(ahead[1], (7, "Dec 7".to_owned()));
        assert_eq!(ahead.len(), 5);
        let behind = week_ticks(today, -29..1);
        assert_eq!(behind.last().unwrap(), &(29, "today".to_owned()));
        assert_eq!(behind[0], (1, "Nov 2".to_owned()));
    }

    #[test]
    fn round_tops_are_one_two_or_five_times_a_power_of_ten() {
        let tops: Vec<i64> = [0, 1, 2, 3, 7, 10, 11, 26, 99, 501].map(round_up).to_vec();
        assert_eq!(tops, [1, 1, 2, 5, 10, 10, 20, 50, 100, 1000]);
    }

    #[test]
    fn stacked_bars_fill_the_width_in_proportion() {
        let s = stacked(&[1, 1, 2], 200);
        assert_eq!(s.iter().map(|p| p.width).sum::<u32>(), 200);
        assert_eq!(
            s[2],
            Segment {
                x: 100,
                width: 100,
                part: 2
            }
        );
        assert!(stacked(&[0, 0], 10).is_empty());
        assert_eq!(
            stacked(&[0, 3], 30),
            vec![Segment {
                x: 0,
                width: 30,
                part: 1
            }]
        );
    }

    #[test]
    fn the_heat_map_ends_today_and_shades_by_quartile() {
        let today = crate::srs::day::day_number(jiff::civil::date(2026, 11, 29)); // a Sunday
        let counts = HashMap::from([(today, 8), (today - 1, 1), (today - 400, 50)]);
        let map = heat_map(today, &counts);
        let cells = &map.cells;
        assert_eq!(cells.len(), 53 * 7);
        let last = cells.last().unwrap();
        assert_eq!(last.level, 4);
        assert_eq!(last.y, HeatMap::TOP + 6 * CELL);
        assert_eq!(last.x, HeatMap::LEFT + 52 * CELL);
        assert!(
            cells
                .iter()
                .all(|c| c.x + CELL <= HeatMap::WIDTH && c.y + CELL <= HeatMap::HEIGHT)
        );
        // November 2026 starts on a Sunday, in the column before the last one.
        let nov = map.months.last().unwrap();
        assert_eq!(
            (nov.label.as_str(), nov.at),
            ("Nov", HeatMap::LEFT + 48 * CELL)
        );
        assert!(map.months.len() >= 11);
        assert!(map.months.windows(2).all(|w| w[1].at >= w[0].at + 3 * CELL));
        let names: Vec<&str> = map.weekdays.iter().map(|t| t.label.as_str()).collect();
        assert_eq!(names, ["Mon", "Wed", "Fri"]);
        assert!(last.title.starts_with("2026-11-29: 8 reviews"));
        assert_eq!(cells[cells.len() - 2].level, 1);
        assert!(cells[..cells.len() - 2].iter().all(|c| c.level == 0));
    }
}
