//! Study days: a learner's calendar day, which starts at their chosen hour in their own time
//! zone (04:00 by default, so a session past midnight still counts as "tonight").
//!
//! A study day is stored as a whole number of days since 1970-01-01, which makes "due by
//! today" a plain integer comparison in SQL whatever the learner's time zone.

use jiff::{Span, Timestamp, civil, tz::TimeZone};

const SECONDS_PER_DAY: i64 = 86_400;

/// Where a learner's days begin and end.
#[derive(Debug, Clone, PartialEq)]
pub struct StudyCalendar {
    time_zone: TimeZone,
    day_starts_hour: u8,
}

impl StudyCalendar {
    /// A calendar in `time_zone` whose days start at `day_starts_hour` (0..=23; larger values
    /// are clamped to 23).
    pub fn new(time_zone: TimeZone, day_starts_hour: u8) -> Self {
        Self {
            time_zone,
            day_starts_hour: day_starts_hour.min(23),
        }
    }

    /// The calendar of a stored account: its IANA zone name (one this build no longer knows
    /// falls back to UTC rather than locking the user out) and its day-start hour.
    pub fn stored(time_zone: &str, day_starts_hour: i64) -> Self {
        Self::new(
            TimeZone::get(time_zone).unwrap_or(TimeZone::UTC),
            u8::try_from(day_starts_hour).unwrap_or(4),
        )
    }

    /// The time zone.
    pub fn time_zone(&self) -> &TimeZone {
        &self.time_zone
    }

    /// The study day that `at` falls in.
    pub fn day_of(&self, at: Timestamp) -> i32 {
        let local = at.to_zoned_datetime(self.time_zone.clone()).datetime();
        let shifted = local
            .checked_sub(Span::new().hours(i64::from(self.day_starts_hour)))
            .unwrap_or(local);
        day_number(shifted.date())
    }

    /// The instant at which study day `day` begins (the earlier instant when a DST change
    /// makes the start hour ambiguous, the later one when it skips it).
    pub fn start_of(&self, day: i32) -> Timestamp {
        let date = date_of_day(day);
        let start = date.at(i8::try_from(self.day_starts_hour).unwrap_or(0), 0, 0, 0);
        start
            .to_zoned_datetime(self.time_zone.clone())
            .map(|z| z.timestamp())
            .unwrap_or_else(|_| Timestamp::UNIX_EPOCH)
    }
}

/// Days since 1970-01-01 of a calendar date.
pub fn day_number(date: civil::Date) -> i32 {
    let seconds = date
        .to_zoned_datetime(TimeZone::UTC)
        .map(|z| z.timestamp().as_second())
        .unwrap_or(0);
    i32::try_from(seconds.div_euclid(SECONDS_PER_DAY)).unwrap_or(0)
}

/// The calendar date of a day number.
pub fn date_of_day(day: i32) -> civil::Date {
    Timestamp::from_second(i64::from(day) * SECONDS_PER_DAY)
        .map(|t| t.to_zoned_datetime(TimeZone::UTC).date())
        .unwrap_or(civil::date(1970, 1, 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn day_numbers_count_from_the_unix_epoch() {
        assert_eq!(day_number(civil::date(1970, 1, 1)), 0);
        assert_eq!(day_number(civil::date(1970, 1, 2)), 1);
        assert_eq!(day_number(civil::date(1969, 12, 31)), -1);
        assert_eq!(date_of_day(20_000), civil::date(2024, 10, 4));
        assert_eq!(day_number(date_of_day(20_000)), 20_000);
    }

    #[test]
    fn a_review_at_two_in_the_morning_belongs_to_the_evening_before() {
        let utc = StudyCalendar::new(TimeZone::UTC, 4);
        let evening = utc.day_of(at("2026-03-10T22:00:00Z"));
        assert_eq!(utc.day_of(at("2026-03-11T02:00:00Z")), evening);
        assert_eq!(utc.day_of(at("2026-03-11T04:00:00Z")), evening + 1);
    }

    #[test]
    fn the_day_follows_the_learners_time_zone() {
        let tokyo = StudyCalendar::new(TimeZone::get("Asia/Tokyo").unwrap(), 4);
        let utc = StudyCalendar::new(TimeZone::UTC, 4);
        // 20:00 UTC is 05:00 the next morning in Tokyo.
        let t = at("2026-03-10T20:00:00Z");
        assert_eq!(tokyo.day_of(t), utc.day_of(t) + 1);
    }

    #[test]
    fn a_day_starts_at_the_chosen_hour() {
        let ny = StudyCalendar::new(TimeZone::get("America/New_York").unwrap(), 4);
        let day = ny.day_of(at("2026-07-01T12:00:00Z"));
        // 04:00 EDT is 08:00 UTC.
        assert_eq!(ny.start_of(day), at("2026-07-01T08:00:00Z"));
        assert_eq!(ny.day_of(ny.start_of(day)), day);
        assert_eq!(ny.day_of(at("2026-07-01T07:59:59Z")), day - 1);
    }

    #[test]
    fn days_stay_whole_across_a_daylight_saving_change() {
        let ny = StudyCalendar::new(TimeZone::get("America/New_York").unwrap(), 2);
        // 2026-03-08 02:00 does not exist in New York: the day starts at 03:00 EDT.
        let day = day_number(civil::date(2026, 3, 8));
        let start = ny.start_of(day);
        assert_eq!(ny.day_of(start), day);
        assert_eq!(ny.day_of(ny.start_of(day + 1)), day + 1);
    }
}
