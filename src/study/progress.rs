//! A user's own progress: the model behind /stats.

use super::Learner;
use super::StudyError;
use crate::charts::{self, BarChart, HeatMap};
use crate::db;
use crate::db::Pool;
use jiff::Timestamp;
use std::collections::HashMap;

/// Days in the due forecast.
pub const FORECAST_DAYS: i32 = 30;

/// Everything /stats shows.
#[derive(Debug, Clone)]
pub struct Progress {
    /// Grades and repeats today.
    pub reviews_today: i64,
    /// Cards ever reviewed.
    pub learned: i64,
    /// Cards due today, same-day repeats included.
    pub due_today: i64,
    /// Cards due tomorrow.
    pub due_tomorrow: i64,
    /// Due cards per day for the next 30 days (overdue ones on today's bar).
    pub forecast: BarChart,
    /// The past year's reviews per day.
    pub heat_map: HeatMap,
    /// Reviews in the past year.
    pub reviews_past_year: i64,
    /// Share of mature-card reviews graded 3 or more, in percent, and how many reviews.
    pub retention: Option<(u32, i64)>,
    /// Consecutive study days with reviews, up to today (or yesterday, if none yet today).
    pub streak: u32,
    /// Each deck's cards by stage.
    pub decks: Vec<DeckProgress>,
}

/// One deck's cards for one user: new, learning (interval under 21 days), mature.
#[derive(Debug, Clone)]
pub struct DeckProgress {
    /// Deck id.
    pub id: i64,
    /// Deck name.
    pub name: String,
    /// Never reviewed.
    pub new: i64,
    /// Reviewed, interval under 21 days.
    pub learning: i64,
    /// Interval of 21 days or more.
    pub mature: i64,
    /// The bar drawn for it.
    pub bar: Vec<charts::Segment>,
}

/// Consecutive study days with reviews ending today, or yesterday when today has none yet (a
/// streak is not broken before the day is over). `days` is latest first.
pub fn streak(days: &[i64], today: i32) -> u32 {
    let today = i64::from(today);
    let mut expected = match days.first() {
        Some(&d) if d == today || d == today - 1 => d,
        _ => return 0,
    };
    let mut count = 0;
    for &day in days {
        if day != expected {
            break;
        }
        count += 1;
        expected -= 1;
    }
    count
}

/// `due` (cards per due day, ascending) less the cards the review page holds back on `today`:
/// a suspended card leaves its day; a card buried today leaves today (or the overdue day it
/// was due) and counts tomorrow, when it comes back.
fn without_held(
    due: Vec<(i64, i64)>,
    held: &[db::controls::HeldSchedule],
    today: i32,
) -> Vec<(i64, i64)> {
    let tomorrow = i64::from(today) + 1;
    let mut per_day: std::collections::BTreeMap<i64, i64> = due.into_iter().collect();
    for h in held {
        let back = (!h.suspended).then(|| h.due_day.max(tomorrow));
        if back == Some(h.due_day) {
            continue;
        }
        if let Some(n) = per_day.get_mut(&h.due_day) {
            *n -= 1;
        }
        if let Some(day) = back {
            *per_day.entry(day).or_default() += 1;
        }
    }
    per_day.into_iter().filter(|&(_, n)| n > 0).collect()
}

/// Builds the user's progress at `now`.
pub async fn progress(pool: &Pool, user: &Learner, now: Timestamp) -> Result<Progress, StudyError> {
    let today = user.today(now);
    let counts = db::stats::counts(pool, user.id, today).await?;
    // What the review page holds back (suspended cards; cards buried today, due tomorrow at
    // the earliest) is not counted due here either.
    let held = db::controls::held_schedules(pool, user.id, today).await?;
    let repeats = crate::srs::today::Today::from_events(
        &super::review::today_events(pool, user.id, today).await?,
    )
    .repeats
    .iter()
    .filter(|r| !held.iter().any(|h| h.card_id == r.card_id))
    .count();

    // "Due today" counts the cards owed a repeat today; so does the forecast's first bar, and
    // the tiles read their figures from its bars.
    let due = without_held(
        db::stats::due_per_day(pool, user.id, today + FORECAST_DAYS).await?,
        &held,
        today,
    );
    let forecast = charts::forecast(
        today,
        FORECAST_DAYS,
        &due,
        i64::try_from(repeats).unwrap_or(0),
    );

    let first = today - charts::WEEKS * 7;
    let history: HashMap<i32, i64> = db::stats::reviews_per_day(pool, user.id, first, today)
        .await?
        .into_iter()
        .filter_map(|(day, count)| Some((i32::try_from(day).ok()?, count)))
        .collect();

    let (mature_total, mature_passed) = db::stats::mature_retention(pool, user.id).await?;
    let retention = (mature_total > 0).then(|| {
        (
            u32::try_from(mature_passed * 100 / mature_total).unwrap_or(0),
            mature_total,
        )
    });

    let days = db::stats::study_days_desc(pool, user.id, today - 3660).await?;
    let decks: Vec<DeckProgress> = db::stats::deck_stages(pool, user.id, user.visible_decks())
        .await?
        .into_iter()
        .map(|d| {
            let new = (d.total - d.learning - d.mature).max(0);
            DeckProgress {
                bar: charts::stacked(&[new, d.learning, d.mature], 240),
                id: d.id,
                name: d.name,
                new,
                learning: d.learning,
                mature: d.mature,
            }
        })
        .collect();

    Ok(Progress {
        streak: streak(&days, today),
        reviews_today: counts.reviews_today,
        // "Studied" is what the deck table calls learning plus mature, over the same decks.
        learned: decks.iter().map(|d| d.learning + d.mature).sum(),
        decks,
        due_today: forecast.due_today,
        due_tomorrow: forecast.due_tomorrow,
        forecast: forecast.chart,
        heat_map: charts::heat_map(today, &history),
        reviews_past_year: history.values().sum(),
        retention,
    })
}

/// What today's review session came to, for the page that ends it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionSummary {
    /// Grades and repeats today that stand.
    pub reviews: i64,
    /// Of those, answered right.
    pub right: i64,
    /// The same, in percent.
    pub right_percent: i64,
    /// Minutes spent answering, rounded.
    pub minutes: i64,
    /// Cards due tomorrow.
    pub due_tomorrow: i64,
    /// Consecutive study days with reviews.
    pub streak: u32,
}

/// The end-of-session figures for `learner` at `now`, given today's `reviews` and `right`
/// answers (from the queue); `None` when nothing was studied today.
pub async fn session_summary(
    pool: &Pool,
    learner: &Learner,
    reviews: i64,
    right: i64,
    now: Timestamp,
) -> Result<Option<SessionSummary>, StudyError> {
    if reviews == 0 {
        return Ok(None);
    }
    let today = learner.today(now);
    let (ms, due_tomorrow) = db::stats::session_summary(pool, learner.id, today).await?;
    // Counted as /stats counts it: suspended cards not, cards buried today (back tomorrow) too.
    let held = db::controls::held_schedules(pool, learner.id, today).await?;
    let tomorrow = i64::from(today) + 1;
    let due_tomorrow = without_held(vec![(tomorrow, due_tomorrow)], &held, today)
        .into_iter()
        .find_map(|(day, n)| (day == tomorrow).then_some(n))
        .unwrap_or(0);
    let days = db::stats::study_days_desc(pool, learner.id, today - 800).await?;
    Ok(Some(SessionSummary {
        reviews,
        right,
        right_percent: right * 100 / reviews,
        minutes: (ms + 30_000) / 60_000,
        due_tomorrow,
        streak: streak(&days, today),
    }))
}

impl Progress {
    /// The retention figure for its tile.
    pub fn retention_percent(&self) -> String {
        self.retention
            .map_or_else(|| "–".to_owned(), |(pct, _)| format!("{pct}%"))
    }

    /// What the retention figure is based on.
    pub fn retention_label(&self) -> String {
        match self.retention {
            Some((_, n)) => format!("retention of mature cards ({n} reviews)"),
            None => "retention (no mature cards yet)".to_owned(),
        }
    }
}

/// The learner's whole review history, oldest first, for their own download.
pub async fn history(
    pool: &Pool,
    user: &Learner,
) -> Result<Vec<crate::db::reviews::HistoryRow>, StudyError> {
    Ok(crate::db::reviews::history(pool, user.id, None).await?)
}

#[cfg(test)]
mod tests {

    #[test]
    fn held_cards_leave_the_forecast_as_the_review_page_leaves_them() {
        use crate::db::controls::HeldSchedule;
        let today = 100;
        let due = vec![(98, 2), (100, 3), (101, 1), (105, 4)];
        let held = [
            // Suspended: gone from its overdue day.
            HeldSchedule {
                card_id: 1,
                due_day: 98,
                suspended: true,
            },
            // Buried today while due today: back tomorrow.
            HeldSchedule {
                card_id: 2,
                due_day: 100,
                suspended: false,
            },
            // Buried today though due in five days: nothing moves.
            HeldSchedule {
                card_id: 3,
                due_day: 105,
                suspended: false,
            },
            // Suspended, due in five days.
            HeldSchedule {
                card_id: 4,
                due_day: 105,
                suspended: true,
            },
        ];
        assert_eq!(
            without_held(due, &held, today),
            vec![(98, 1), (100, 2), (101, 2), (105, 3)]
        );
    }
    use super::{streak, without_held};

    #[test]
    fn a_streak_counts_back_from_today_or_yesterday() {
        assert_eq!(streak(&[], 100), 0);
        assert_eq!(streak(&[100, 99, 98, 96], 100), 3);
        assert_eq!(streak(&[99, 98], 100), 2, "today is not over yet");
        assert_eq!(streak(&[98, 97], 100), 0);
        assert_eq!(streak(&[100], 100), 1);
    }
}
