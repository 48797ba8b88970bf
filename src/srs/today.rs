//! What today's history means for the queue: how many new cards were introduced (against the
//! new-cards-per-day limit) and which cards still owe a same-day repeat.

use super::schedule::REPEAT_BELOW;

/// One grade or repeat made today that stands (not undone), in the order they happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TodayEvent {
    /// The card.
    pub card_id: i64,
    /// Its deck.
    pub deck_id: i64,
    /// The grade.
    pub quality: u8,
    /// Whether this grade was the card's first ever.
    pub introduced: bool,
}

/// A card that comes back later today.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PendingRepeat {
    /// The card.
    pub card_id: i64,
    /// Its deck.
    pub deck_id: i64,
}

/// Today's history, digested.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Today {
    /// Grades and repeats today that stand (what Undo can take back).
    pub events: usize,
    /// New cards introduced today.
    pub introduced: u32,
    /// Cards whose latest grade today was below 4, the longest-waiting first.
    pub repeats: Vec<PendingRepeat>,
}

impl Today {
    /// Digests today's events (oldest first).
    pub fn from_events(events: &[TodayEvent]) -> Self {
        let introduced = events.iter().filter(|e| e.introduced).count();
        // The latest event of each card decides; order by when that latest event happened.
        let mut latest: Vec<(usize, &TodayEvent)> = Vec::new();
        for (index, event) in events.iter().enumerate() {
            latest.retain(|(_, e)| e.card_id != event.card_id);
            latest.push((index, event));
        }
        let repeats = latest
            .into_iter()
            .filter(|(_, e)| e.quality < REPEAT_BELOW)
            .map(|(_, e)| PendingRepeat {
                card_id: e.card_id,
                deck_id: e.deck_id,
            })
            .collect();
        Self {
            events: events.len(),
            introduced: u32::try_from(introduced).unwrap_or(u32::MAX),
            repeats,
        }
    }

    /// Whether `card_id` owes a repeat today.
    pub fn owes_repeat(&self, card_id: i64) -> bool {
        self.repeats.iter().any(|r| r.card_id == card_id)
    }

    /// The pending repeats, optionally of one deck.
    pub fn repeats_in(&self, deck_id: Option<i64>) -> impl Iterator<Item = &PendingRepeat> {
        self.repeats
            .iter()
            .filter(move |r| deck_id.is_none_or(|d| r.deck_id == d))
    }

    /// New cards still allowed today under `new_per_day`.
    pub fn new_left(&self, new_per_day: u32) -> u32 {
        new_per_day.saturating_sub(self.introduced)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(card_id: i64, quality: u8, introduced: bool) -> TodayEvent {
        TodayEvent {
            card_id,
            deck_id: 1,
            quality,
            introduced,
        }
    }

    #[test]
    fn cards_graded_below_four_owe_a_repeat_until_graded_four_or_five() {
        let today = Today::from_events(&[ev(1, 2, true), ev(2, 5, true), ev(3, 3, false)]);
        assert_eq!(
            today.repeats.iter().map(|r| r.card_id).collect::<Vec<_>>(),
            vec![1, 3]
        );
        let later = Today::from_events(&[ev(1, 2, true), ev(3, 3, false), ev(1, 4, false)]);
        assert_eq!(
            later.repeats.iter().map(|r| r.card_id).collect::<Vec<_>>(),
            vec![3]
        );
    }

    #[test]
    fn a_card_failed_again_goes_to_the_back_of_the_line() {
        let today = Today::from_events(&[ev(1, 1, true), ev(2, 1, true), ev(1, 2, false)]);
        assert_eq!(
            today.repeats.iter().map(|r| r.card_id).collect::<Vec<_>>(),
            vec![2, 1]
        );
    }

    #[test]
    fn introduced_cards_count_against_the_daily_limit() {
        let today = Today::from_events(&[ev(1, 5, true), ev(2, 5, true), ev(3, 5, false)]);
        assert_eq!(today.introduced, 2);
        assert_eq!(today.new_left(20), 18);
        assert_eq!(today.new_left(1), 0);
    }
}
