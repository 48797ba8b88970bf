//! Kept copies of the review page's reads. A student's round on one card asks for the same
//! queue twice (the question, then "Show answer"), and a reload asks again; nothing they read
//! changed in between. Each app server keeps the last queue it read for each student, deck
//! scope and study day, and serves it again while it is known to be current:
//!
//! - On SQLite, triggers (migration 0041) keep a version for each student's schedules,
//!   history and card controls, and one for every card and deck. A copy is served only if
//!   both versions still stand: one point read on the worker thread's own connection
//!   (`db::hot`) instead of the page's statements, and a change made by any path (the
//!   command-line import from another process too) is seen at once.
//! - On PostgreSQL that read would be the round trip the copy saves. The triggers of
//!   migration `postgres/0041` send a notice at the commit of each such change instead
//!   (`db::changes`, as for sessions), and each server forgets what it names. While the
//!   server does not listen it serves no copy.
//!
//! On both, a copy is served only to the same learner it was read for (their decks, limits,
//! scheduler, exams: the session cache keeps those true), and only for [`TTL_SECS`]. A
//! request that writes forgets its user's copies when it is answered (`web::startup`), so the
//! page after a grade on this server never shows the graded card. A copy is kept only if
//! nothing was forgotten while it was read (a generation number taken before the read).

use super::{Learner, Queue};
use crate::db::changes::Change;
use std::collections::HashMap;
use std::sync::Mutex;

/// How long a copy may be served. Changes made past the triggers (a restore without them)
/// show within this.
pub const TTL_SECS: i64 = 30;
/// Students with copies kept before the cache is cleared.
const MAX_USERS: usize = 20_000;
/// The copies' text kept before the cache is cleared: a copy is its card's text (up to
/// 10,000 characters a side) and a few numbers, so this, not the count, bounds memory.
const MAX_BYTES: usize = 64 << 20;
/// Copies kept per student (deck scopes and days).
const MAX_PER_USER: usize = 4;

/// What a copy answers for: one student's queue in one scope on one study day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Scope {
    deck: Option<i64>,
    day: i32,
}

struct Kept {
    /// Its size, roughly: the card's text and a fixed share for the rest.
    bytes: usize,
    scope: Scope,
    learner: Learner,
    versions: Option<(i64, i64)>,
    queue: Queue,
    cached_at: i64,
}

#[derive(Default)]
struct Copies {
    by_user: HashMap<i64, Vec<Kept>>,
    /// The copies' sizes, summed.
    bytes: usize,
    /// Counts forgetting; a read is kept only if nothing it covers was forgotten after its
    /// ticket: neither its student (`forgotten`) nor everyone (`epoch`). Per student, so that
    /// other students' grades, one every hundred microseconds at peak, do not void it.
    generation: u64,
    /// The generation of the last forgetting of everyone.
    epoch: u64,
    /// Each student's last forgetting (cleared, with `epoch` moved, past `MAX_USERS`).
    forgotten: HashMap<i64, u64>,
    /// Whether copies may be served: always for a store only this server writes; for a
    /// shared one, only while this server hears of every change.
    serving: bool,
}

impl Copies {
    fn forget_all(&mut self) {
        self.generation += 1;
        self.epoch = self.generation;
        self.forgotten.clear();
        self.by_user.clear();
        self.bytes = 0;
    }
}

/// Each student's last review queues.
pub struct QueueCache {
    copies: Mutex<Copies>,
}

impl std::fmt::Debug for QueueCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("QueueCache")
    }
}

/// Taken before a read and handed back with it.
#[derive(Debug, Clone, Copy)]
struct Ticket(Option<u64>);

impl QueueCache {
    /// A cache for a store only this server writes (SQLite; checked against its versions).
    pub fn local() -> Self {
        Self {
            copies: Mutex::new(Copies {
                serving: true,
                ..Copies::default()
            }),
        }
    }

    /// A cache for a store other servers write too: it serves nothing until it hears
    /// `Change::Listening`.
    pub fn shared() -> Self {
        Self {
            copies: Mutex::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Copies> {
        self.copies.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn ticket(&self) -> Ticket {
        let copies = self.lock();
        Ticket(copies.serving.then_some(copies.generation))
    }

    fn get(
        &self,
        learner: &Learner,
        scope: Scope,
        versions: Option<(i64, i64)>,
        now: i64,
    ) -> Option<Queue> {
        let copies = self.lock();
        if !copies.serving {
            return None;
        }
        copies
            .by_user
            .get(&learner.id)?
            .iter()
            .find(|c| c.scope == scope)
            .filter(|c| {
                c.versions == versions
                    && now >= c.cached_at
                    && now - c.cached_at < TTL_SECS
                    && c.learner == *learner
            })
            .map(|c| c.queue.clone())
    }

    fn put(&self, ticket: Ticket, copy: Kept) {
        let mut copies = self.lock();
        let Some(taken) = ticket.0 else {
            return;
        };
        let voided = copies.epoch > taken
            || copies
                .forgotten
                .get(&copy.learner.id)
                .is_some_and(|&at| at > taken);
        if voided || !copies.serving {
            return;
        }
        let full =
            copies.by_user.len() >= MAX_USERS && !copies.by_user.contains_key(&copy.learner.id);
        if full || copies.bytes + copy.bytes > MAX_BYTES {
            copies.by_user.clear();
            copies.bytes = 0;
        }
        let mut freed = 0;
        let kept = copies.by_user.entry(copy.learner.id).or_default();
        kept.retain(|c| {
            let other = c.scope != copy.scope;
            if !other {
                freed += c.bytes;
            }
            other
        });
        if kept.len() >= MAX_PER_USER {
            freed += kept.remove(0).bytes;
        }
        let added = copy.bytes;
        kept.push(copy);
        copies.bytes = copies.bytes + added - freed;
    }

    /// Forgets a student's copies (they changed something, or a notice says so).
    pub fn forget_user(&self, user_id: i64) {
        let mut copies = self.lock();
        copies.generation += 1;
        let now = copies.generation;
        if copies.forgotten.len() >= MAX_USERS {
            copies.forgotten.clear();
            copies.epoch = now;
        }
        copies.forgotten.insert(user_id, now);
        if let Some(gone) = copies.by_user.remove(&user_id) {
            copies.bytes -= gone.iter().map(|c| c.bytes).sum::<usize>();
        }
    }

    /// Forgets every copy (a card or a deck changed).
    pub fn forget_all(&self) {
        self.lock().forget_all();
    }

    /// What the store's change notices say (`db::changes`, on a shared store).
    pub fn heard(&self, change: Change) {
        match change {
            Change::User(user_id) | Change::Queue(user_id) => self.forget_user(user_id),
            Change::Everyone | Change::Queues => self.forget_all(),
            Change::Lost | Change::Listening => {
                let mut copies = self.lock();
                copies.forget_all();
                copies.serving = change == Change::Listening;
            }
        }
    }

    /// The number of students with copies.
    #[cfg(test)]
    fn students(&self) -> usize {
        self.lock().by_user.len()
    }
}

/// A copy's size, roughly: its card's text and a fixed share for the rest.
fn text_size(queue: &Queue) -> usize {
    let text = queue.next.as_ref().map_or(0, |shown| {
        shown.card.front.len()
            + shown.card.back.len()
            + shown.card.tags.len()
            + shown.deck_name.len()
    });
    text + 1024
}

/// What the browser just did, which a kept queue must agree with to be served. Another
/// server's change reaches this one by notice, a moment after its commit; a request that
/// follows it names what it expects, so a copy that has not heard yet is read again.
#[derive(Debug, Clone, Copy, Default)]
pub struct Expect {
    /// The answer view of this card: the copy must show it.
    pub showing: Option<i64>,
    /// This card was just graded or put aside (suspended, buried, skipped): a copy that still
    /// shows it is read again (the fresh read may show it again, as a same-day repeat).
    pub moved_on_from: Option<i64>,
}

impl Expect {
    fn agrees(&self, queue: &Queue) -> bool {
        let shown = queue.next.as_ref().map(|s| s.card.id);
        self.showing.is_none_or(|id| shown == Some(id))
            && self.moved_on_from.is_none_or(|id| shown != Some(id))
    }
}

/// [`super::next`], served from `cache` while its copy is current and agrees with `expect`.
/// A card preferred after an undo is always read.
#[allow(clippy::too_many_arguments)]
pub async fn next_cached(
    database: &crate::db::Db,
    cache: &QueueCache,
    user: &Learner,
    deck_id: Option<i64>,
    prefer: Option<i64>,
    expect: Expect,
    now: jiff::Timestamp,
    max_interval_days: u32,
) -> Result<Queue, super::StudyError> {
    if prefer.is_some() {
        return super::next(database, user, deck_id, prefer, now, max_interval_days).await;
    }
    let scope = Scope {
        deck: deck_id,
        day: user.today(now),
    };
    // The ticket and the versions before the read: a change committed during it leaves the
    // copy older than what it names, never newer.
    let ticket = cache.ticket();
    let versions = crate::db::hot::queue_versions(database, user.id).await?;
    let now_secs = now.as_second();
    if let Some(queue) = cache
        .get(user, scope, versions, now_secs)
        .filter(|q| expect.agrees(q))
    {
        return Ok(queue);
    }
    let queue = super::next(database, user, deck_id, None, now, max_interval_days).await?;
    cache.put(
        ticket,
        Kept {
            bytes: text_size(&queue),
            scope,
            learner: user.clone(),
            versions,
            queue: queue.clone(),
            cached_at: now_secs,
        },
    );
    Ok(queue)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::srs::day::StudyCalendar;
    use std::sync::Arc;

    fn learner(id: i64, new_per_day: u32) -> Learner {
        Learner {
            id,
            calendar: StudyCalendar::new(jiff::tz::TimeZone::UTC, 4),
            new_per_day,
            extra_new: None,
            scheduler: Default::default(),
            fsrs_parameters: Arc::from(Vec::new()),
            exams: Arc::from(Vec::new()),
            visible: Arc::from(vec![1, 2]),
            visible_json: None,
        }
    }

    fn queue(due: i64) -> Queue {
        Queue {
            next: None,
            due,
            new_available: 0,
            repeats: 0,
            next_due_day: None,
            can_undo: false,
            new_held_back: 0,
            new_limit: 20,
            reviewed_today: 0,
            right_today: 0,
            buried: 0,
        }
    }

    const TODAY: Scope = Scope { deck: None, day: 9 };

    fn keep(cache: &QueueCache, who: &Learner, versions: Option<(i64, i64)>, due: i64) {
        let ticket = cache.ticket();
        cache.put(
            ticket,
            Kept {
                bytes: 1024,
                scope: TODAY,
                learner: who.clone(),
                versions,
                queue: queue(due),
                cached_at: 100,
            },
        );
    }

    /// A copy for `who` of today, kept at second 100.
    fn copy_for(who: &Learner) -> Kept {
        Kept {
            bytes: 1024,
            scope: TODAY,
            learner: who.clone(),
            versions: None,
            queue: queue(5),
            cached_at: 100,
        }
    }

    #[test]
    fn a_copy_serves_its_student_scope_and_versions_only() {
        let cache = QueueCache::local();
        let ann = learner(1, 20);
        keep(&cache, &ann, Some((3, 7)), 5);
        assert_eq!(
            cache.get(&ann, TODAY, Some((3, 7)), 101).map(|q| q.due),
            Some(5)
        );
        // A newer version of her history or of the site's cards.
        assert!(cache.get(&ann, TODAY, Some((4, 7)), 101).is_none());
        assert!(cache.get(&ann, TODAY, Some((3, 8)), 101).is_none());
        // Another scope, another day, another student.
        assert!(
            cache
                .get(
                    &ann,
                    Scope {
                        deck: Some(2),
                        ..TODAY
                    },
                    Some((3, 7)),
                    101
                )
                .is_none()
        );
        assert!(
            cache
                .get(&ann, Scope { day: 10, ..TODAY }, Some((3, 7)), 101)
                .is_none()
        );
        assert!(
            cache
                .get(&learner(2, 20), TODAY, Some((3, 7)), 101)
                .is_none()
        );
        // The same student with other limits (a changed preference).
        assert!(
            cache
                .get(&learner(1, 30), TODAY, Some((3, 7)), 101)
                .is_none()
        );
        // Past its time, or a clock set back.
        assert!(
            cache
                .get(&ann, TODAY, Some((3, 7)), 100 + TTL_SECS)
                .is_none()
        );
        assert!(cache.get(&ann, TODAY, Some((3, 7)), 99).is_none());
    }

    #[test]
    fn the_copies_text_is_bounded() {
        let cache = QueueCache::local();
        for id in 0..100 {
            let ticket = cache.ticket();
            cache.put(
                ticket,
                Kept {
                    bytes: MAX_BYTES / 10,
                    scope: TODAY,
                    learner: learner(id, 20),
                    versions: None,
                    queue: queue(1),
                    cached_at: 100,
                },
            );
            assert!(cache.lock().bytes <= MAX_BYTES);
            assert!(cache.students() <= 10);
        }
        assert_eq!(cache.students(), 10);
        cache.forget_user(95);
        assert_eq!(cache.students(), 9);
        assert_eq!(cache.lock().bytes, 9 * (MAX_BYTES / 10));
        // A student's copy of the same scope is replaced, not added.
        keep(&cache, &learner(96, 20), None, 2);
        assert_eq!(cache.lock().bytes, 8 * (MAX_BYTES / 10) + 1024);
        cache.forget_all();
        assert_eq!(cache.lock().bytes, 0);
    }

    #[test]
    fn a_read_is_voided_by_forgetting_its_student_or_everyone_only() {
        let cache = QueueCache::local();
        let ann = learner(1, 20);
        let ticket = cache.ticket();
        cache.forget_user(2);
        cache.put(ticket, copy_for(&ann));
        assert!(
            cache.get(&ann, TODAY, None, 101).is_some(),
            "another student's grade does not void her read"
        );
        for forget in [QueueCache::forget_all as fn(&QueueCache), |c| {
            c.forget_user(1)
        }] {
            let ticket = cache.ticket();
            forget(&cache);
            cache.put(ticket, copy_for(&ann));
            assert!(cache.get(&ann, TODAY, None, 101).is_none());
        }
    }

    #[test]
    fn a_read_that_overlapped_a_change_is_not_kept() {
        let cache = QueueCache::local();
        let ann = learner(1, 20);
        let ticket = cache.ticket();
        cache.forget_user(1);
        cache.put(ticket, copy_for(&ann));
        assert!(cache.get(&ann, TODAY, None, 101).is_none());
    }

    #[test]
    fn notices_forget_what_they_name_and_a_shared_cache_serves_only_while_listening() {
        let cache = QueueCache::shared();
        let ann = learner(1, 20);
        let bob = learner(2, 20);
        keep(&cache, &ann, None, 5);
        assert!(
            cache.get(&ann, TODAY, None, 101).is_none(),
            "not listening yet"
        );
        cache.heard(Change::Listening);
        keep(&cache, &ann, None, 5);
        keep(&cache, &bob, None, 6);
        assert!(cache.get(&ann, TODAY, None, 101).is_some());
        cache.heard(Change::Queue(1));
        assert!(cache.get(&ann, TODAY, None, 101).is_none());
        assert!(cache.get(&bob, TODAY, None, 101).is_some());
        cache.heard(Change::Queues);
        assert!(cache.get(&bob, TODAY, None, 101).is_none());
        keep(&cache, &bob, None, 6);
        cache.heard(Change::Lost);
        keep(&cache, &bob, None, 6);
        assert!(
            cache.get(&bob, TODAY, None, 101).is_none(),
            "deaf: nothing served"
        );
    }
}
