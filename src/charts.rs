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
}

/// A bar chart that carries its numbers: each bar's value above it, counts on the left axis
/// with grid lines, dates below. Drawn at a fixed aspect so its text is never stretched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BarChart {
    /// The bars.
    pub bars: Vec<Bar>,
    /// Count-axis labels (0, half, the top), with a grid line each.
    pub counts: Vec<Tick>,
    /// Time-axis labels.
    pub times: Vec<Tick>,
}

impl BarChart {
    /// The viewBox's width.
    pub const WIDTH: u32 = 600;
    /// The viewBox's height.
    pub const HEIGHT: u32 = 172;
    /// Where the plot starts (room for the count labels on its left).
    pub const LEFT: u32 = 34;
    /// The plot's top (room for the tallest bar's value above it).
    pub const TOP: u32 = 16;
    /// The plot's baseline (room for the dates below).
    pub const BASE: u32 = 148;
    /// Where the time labels' baseline sits.
    pub const TIME_Y: u32 = 164;
}

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
pub fn bar_chart(values: &[(String, i64)], times: &[(usize, String)]) -> BarChart {
    let plot = BarChart::WIDTH - BarChart::LEFT;
    let height = BarChart::BASE - BarChart::TOP;
    let n = u32::try_from(values.len().max(1)).unwrap_or(1);
    let slot = (plot / n).max(2);
    let top = round_up(values.iter().map(|(_, c)| *c).max().unwrap_or(0));
    let scale =
        |count: i64| u32::try_from(count.clamp(0, top) * i64::from(height) / top).unwrap_or(height);
    let bars = values
        .iter()
        .zip(0u32..)
        .map(|((label, count), i)| {
            let h = scale(*count);
            let x = BarChart::LEFT + i * slot;
            Bar {
                x: x + 1,
                y: BarChart::BASE - h,
                width: slot.saturating_sub(2).max(1),
                height: h,
                middle: x + slot / 2,
                count: *count,
                value: compact(*count),
                label: label.clone(),
            }
        })
        .collect();
    // 0, the half when it is a whole number, and the top, each with a grid line.
    let counts = [Some(0), (top % 2 == 0).then_some(top / 2), Some(top)]
        .into_iter()
        .flatten()
        .map(|c| Tick {
            at: BarChart::BASE - scale(c),
            label: c.to_string(),
        })
        .collect();
    let times = times
        .iter()
        .filter(|(i, _)| *i < values.len())
        .map(|(i, label)| Tick {
            at: BarChart::LEFT + u32::try_from(*i).unwrap_or(0) * slot + slot / 2,
            label: label.clone(),
        })
        .collect();
    BarChart {
        bars,
        counts,
        times,
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
    pub const LEFT: u32 = 30;
    /// Room above for the month names.
    pub const TOP: u32 = 16;
    /// The viewBox's width.
    pub const WIDTH: u32 = Self::LEFT + WEEKS.unsigned_abs() * CELL;
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
            });
        }
    }
    let weekdays = [(0u32, "Mon"), (2, "Wed"), (4, "Fri")]
        .into_iter()
        .map(|(row, name)| Tick {
            at: HeatMap::TOP + row * CELL + 9,
            label: name.to_owned(),
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
        let empty = bar_chart(&[("a".into(), 0)], &[]);
        let labels: Vec<&str> = empty.counts.iter().map(|t| t.label.as_str()).collect();
        assert_eq!(labels, ["0", "1"]);
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
