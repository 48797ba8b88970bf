//! Chart geometry for server-drawn SVG, pure: templates only place the shapes computed here,
//! so the pages need no JavaScript chart library.

use crate::srs::day::date_of_day;
use std::collections::HashMap;

/// One bar of a bar chart.
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
    /// The value.
    pub count: i64,
    /// What the bar stands for, for its tooltip.
    pub label: String,
}

/// Bars for `values` in a `width` x `height` box, scaled to the largest value.
pub fn bars(values: &[(String, i64)], width: u32, height: u32) -> Vec<Bar> {
    let n = u32::try_from(values.len().max(1)).unwrap_or(1);
    let slot = (width / n).max(2);
    let max = values.iter().map(|(_, c)| *c).max().unwrap_or(0).max(1);
    values
        .iter()
        .zip(0u32..)
        .map(|((label, count), i)| {
            let h = u32::try_from((*count).max(0) * i64::from(height) / max).unwrap_or(height);
            Bar {
                x: i * slot,
                y: height - h,
                width: slot - 1,
                height: h,
                count: *count,
                label: label.clone(),
            }
        })
        .collect()
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

/// A year of days ending `today`, one column a week (Monday on top), shaded by `counts`.
pub fn heat_map(today: i32, counts: &HashMap<i32, i64>) -> Vec<Cell> {
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
    fn bars_scale_to_the_largest_value() {
        let b = bars(
            &[("a".into(), 0), ("b".into(), 5), ("c".into(), 10)],
            300,
            100,
        );
        assert_eq!(b.len(), 3);
        assert_eq!(b[0].height, 0);
        assert_eq!(b[1].height, 50);
        assert_eq!(b[2].height, 100);
        assert_eq!(b[2].y, 0);
        assert_eq!(b[1].x, 100);
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
        let cells = heat_map(today, &counts);
        assert_eq!(cells.len(), 53 * 7);
        let last = cells.last().unwrap();
        assert_eq!(last.level, 4);
        assert_eq!(last.y, 6 * CELL);
        assert_eq!(last.x, 52 * CELL);
        assert!(last.title.starts_with("2026-11-29: 8 reviews"));
        assert_eq!(cells[cells.len() - 2].level, 1);
        assert!(cells[..cells.len() - 2].iter().all(|c| c.level == 0));
    }
}
