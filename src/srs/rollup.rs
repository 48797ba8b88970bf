//! What each history event adds to its day's rollup (`review_days`): the study rules behind
//! the daily counts, the retention figure and the new-card limit, apart from the SQL that
//! stores them.

/// A card whose interval has reached this many days is mature (Anki's threshold); retention
/// is measured on mature cards.
pub const MATURE_INTERVAL_DAYS: i64 = 21;

/// What one event adds to its day.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DayWeight {
    /// Reviews (grades and repeats).
    pub reviews: i64,
    /// Grades of mature cards.
    pub mature_reviews: i64,
    /// Of those, graded 3 or more.
    pub mature_passed: i64,
    /// First grades of new cards (the daily new-card limit counts these).
    pub introduced: i64,
}

impl DayWeight {
    /// The weight of a grade or repeat (`kind`) given `quality` to a card whose interval was
    /// `interval_before` days (None: the card was new).
    pub fn of(kind: &str, quality: Option<i64>, interval_before: Option<i64>) -> Self {
        let grade = kind == "grade";
        let mature = grade && interval_before.unwrap_or(0) >= MATURE_INTERVAL_DAYS;
        Self {
            reviews: 1,
            mature_reviews: i64::from(mature),
            mature_passed: i64::from(mature && quality.unwrap_or(0) >= 3),
            introduced: i64::from(grade && interval_before.is_none()),
        }
    }

    /// What taking the event back subtracts.
    pub fn taken_back(self) -> Self {
        Self {
            reviews: -self.reviews,
            mature_reviews: -self.mature_reviews,
            mature_passed: -self.mature_passed,
            introduced: -self.introduced,
        }
    }

    /// Adds another event's weight (events of one day in one batch).
    pub fn add(&mut self, other: Self) {
        self.reviews += other.reviews;
        self.mature_reviews += other.mature_reviews;
        self.mature_passed += other.mature_passed;
        self.introduced += other.introduced;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_event_counts_where_the_rules_say() {
        let new = DayWeight::of("grade", Some(4), None);
        assert_eq!((new.reviews, new.mature_reviews, new.introduced), (1, 0, 1));
        let young = DayWeight::of("grade", Some(2), Some(20));
        assert_eq!((young.mature_reviews, young.introduced), (0, 0));
        let mature_pass = DayWeight::of("grade", Some(3), Some(21));
        assert_eq!(
            (mature_pass.mature_reviews, mature_pass.mature_passed),
            (1, 1)
        );
        let mature_fail = DayWeight::of("grade", Some(2), Some(40));
        assert_eq!(
            (mature_fail.mature_reviews, mature_fail.mature_passed),
            (1, 0)
        );
        let repeat = DayWeight::of("repeat", Some(5), Some(40));
        assert_eq!(
            repeat,
            DayWeight {
                reviews: 1,
                ..DayWeight::default()
            }
        );
        let mut day = DayWeight::default();
        day.add(mature_pass);
        day.add(mature_pass.taken_back());
        assert_eq!(day, DayWeight::default(), "an undo cancels its event");
    }
}
