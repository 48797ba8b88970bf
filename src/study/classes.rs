//! Classes: creating them with an unguessable join code, joining and leaving; and what their
//! instructor does with them (the class page, its decks, default retention, exams and
//! reports). Every use case on a class takes the id of the user asking and finds the class
//! among those they run ([`owned`]), so a handler cannot skip the check: another
//! instructor's class is "not found".

use super::actor::Actor;
use super::{Context, Forget, Learner, Stale, StudyError};
use crate::auth::quota::{Guesser, Kind, Quotas};
use crate::db;
use crate::db::Pool;
use jiff::Timestamp;
use std::net::IpAddr;

pub use crate::db::classes::{ClassRow, MemberRow};
pub use crate::db::exams::ExamRow;
pub use crate::db::reports::ReportRow;

/// Characters of a join code: capitals and digits without look-alikes (0/O, 1/I).
const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
/// 10 characters of 32: 50 bits, short enough to read out in class, far too many to guess.
const CODE_LENGTH: usize = 10;

/// A fresh join code.
pub fn new_join_code() -> String {
    (0..CODE_LENGTH)
        .map(|_| {
            let i = rand::Rng::random_range(&mut rand::rng(), 0..CODE_ALPHABET.len());
            char::from(CODE_ALPHABET[i])
        })
        .collect()
}

/// A typed code, normalised: spaces and dashes dropped, capitals.
pub fn normalise_code(raw: &str) -> String {
    raw.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// Creates a class run by `owner_id`, within their hourly budget of new classes; returns its
/// id.
pub async fn create(
    pool: &Pool,
    quotas: &Quotas,
    name: &str,
    owner_id: i64,
    now: Timestamp,
) -> Result<i64, StudyError> {
    let name = crate::domain::one_line_name(name, "A class", 120)?;
    let name = name.as_str();
    quotas.spend(owner_id, &[(Kind::Class, 1)], now.as_millisecond())?;
    // A clash of two random 50-bit codes is all but impossible; one retry covers it.
    for _ in 0..2 {
        match db::classes::create(pool, name, owner_id, &new_join_code(), now.as_second()).await {
            Err(e) if db::is_unique_violation(&e) => continue,
            other => return Ok(other?),
        }
    }
    Err(StudyError::Internal(anyhow::anyhow!(
        "could not draw a unique join code"
    )))
}

/// The class a typed join code opens, within the budget of wrong codes of `guesser` and of
/// `ip` (see `auth::quota`): a wrong code uses one attempt of each, a right one none.
pub async fn class_for_code(
    pool: &Pool,
    quotas: &Quotas,
    guesser: &Guesser,
    ip: IpAddr,
    code: &str,
    now: Timestamp,
) -> Result<i64, StudyError> {
    Ok(find_for_code(pool, quotas, guesser, ip, code, now)
        .await?
        .id)
}

/// What a shared join link (/classes/join/{code}) shows a signed-in user before they join.
#[derive(Debug, Clone)]
pub struct JoinPreview {
    /// The class.
    pub class: ClassRow,
    /// Its instructor's login name.
    pub instructor: String,
    /// Whether the user is in it already.
    pub member: bool,
}

/// The class a join link's `code` opens, for `learner` to confirm joining it: within the
/// same budget of wrong codes as a typed code ([`class_for_code`]).
pub async fn preview_join(
    pool: &Pool,
    quotas: &Quotas,
    learner: &Learner,
    ip: IpAddr,
    code: &str,
    now: Timestamp,
) -> Result<JoinPreview, StudyError> {
    let class = find_for_code(pool, quotas, &Guesser::User(learner.id), ip, code, now).await?;
    let instructor = db::classes::instructor_name(pool, class.id)
        .await
        .context("naming a class's instructor")?;
    let member = db::classes::joined_by(pool, learner.id)
        .await?
        .iter()
        .any(|c| c.id == class.id);
    Ok(JoinPreview {
        class,
        instructor,
        member,
    })
}

/// [`class_for_code`]'s class, whole.
async fn find_for_code(
    pool: &Pool,
    quotas: &Quotas,
    guesser: &Guesser,
    ip: IpAddr,
    code: &str,
    now: Timestamp,
) -> Result<ClassRow, StudyError> {
    let code = normalise_code(code);
    if code.is_empty() {
        return Err(StudyError::Validation(
            "Type the join code your instructor gave you.".to_owned(),
        ));
    }
    // Reserved before the lookup, so that guesses sent at once are all counted.
    let attempt = quotas.begin_code(guesser, ip, now.as_millisecond())?;
    match db::classes::find_by_code(pool, &code).await {
        Ok(Some(class)) => {
            quotas.code_was_right(attempt);
            Ok(class)
        }
        Ok(None) => Err(StudyError::Validation(
            "No class has that join code; check it with your instructor.".to_owned(),
        )),
        Err(e) => {
            quotas.code_was_right(attempt);
            Err(e.into())
        }
    }
}

/// Joins the class with this code (see [`class_for_code`]); returns its id. The learner may
/// now be scheduled with the class's parameters and placed around its exams
/// (`scheduling::membership_changed`); their sessions carry both, so they go stale.
#[allow(clippy::too_many_arguments)]
pub async fn join(
    pool: &Pool,
    sessions: &dyn Forget,
    quotas: &Quotas,
    learner: &Learner,
    ip: IpAddr,
    code: &str,
    max_interval_days: u32,
    now: Timestamp,
) -> Result<i64, StudyError> {
    let class_id = class_for_code(pool, quotas, &Guesser::User(learner.id), ip, code, now).await?;
    db::classes::join(pool, class_id, learner.id, now.as_second())
        .await
        .context("joining a class")?;
    membership_changed(pool, sessions, learner, max_interval_days, now).await?;
    Ok(class_id)
}

/// Leaves class `class_id` (not found if the learner is no member); as after joining, their
/// schedule and sessions follow.
pub async fn leave(
    pool: &Pool,
    sessions: &dyn Forget,
    learner: &Learner,
    class_id: i64,
    max_interval_days: u32,
    now: Timestamp,
) -> Result<(), StudyError> {
    if !db::classes::leave(pool, class_id, learner.id)
        .await
        .context("leaving a class")?
    {
        return Err(StudyError::NotFound);
    }
    membership_changed(pool, sessions, learner, max_interval_days, now).await
}

/// After joining or leaving: the learner's sessions go stale, and their cards are
/// rescheduled and placed around the exams they have now.
async fn membership_changed(
    pool: &Pool,
    sessions: &dyn Forget,
    learner: &Learner,
    max_interval_days: u32,
    now: Timestamp,
) -> Result<(), StudyError> {
    sessions.forget(Stale::User(learner.id));
    super::scheduling::membership_changed(
        pool,
        learner.id,
        learner.scheduler,
        max_interval_days,
        now,
    )
    .await
}

/// Class `class_id` if `user_id` belongs to it (what leaving it asks about); not found
/// otherwise.
pub async fn joined(pool: &Pool, user_id: i64, class_id: i64) -> Result<ClassRow, StudyError> {
    db::classes::joined_by(pool, user_id)
        .await?
        .into_iter()
        .find(|c| c.id == class_id)
        .ok_or(StudyError::NotFound)
}

/// The classes a user runs (only if they `teach`) and those they belong to.
#[derive(Debug, Clone)]
pub struct Classes {
    /// Run by them.
    pub owned: Vec<ClassRow>,
    /// Joined.
    pub joined: Vec<ClassRow>,
}

/// `user_id`'s classes: those they run if they `teach`, and those they joined.
pub async fn of_user(pool: &Pool, user_id: i64, teach: bool) -> Result<Classes, StudyError> {
    Ok(Classes {
        owned: if teach {
            db::classes::owned_by(pool, user_id).await?
        } else {
            Vec::new()
        },
        joined: db::classes::joined_by(pool, user_id).await?,
    })
}

/// Class `class_id` if `owner_id` runs it; not found otherwise (another instructor's class,
/// or none), so that nobody learns which classes exist.
pub async fn owned(pool: &Pool, owner_id: i64, class_id: i64) -> Result<ClassRow, StudyError> {
    db::classes::find_owned(pool, class_id, owner_id)
        .await?
        .ok_or(StudyError::NotFound)
}

/// A deck the class page offers to assign (or shows assigned).
#[derive(Debug, Clone)]
pub struct DeckChoice {
    /// The deck.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// Whether everyone studies it anyway.
    pub public: bool,
    /// Whether the class has it.
    pub assigned: bool,
}

/// What the class page shows its instructor.
#[derive(Debug, Clone)]
pub struct ClassPage {
    /// The class.
    pub class: ClassRow,
    /// Its members by name.
    pub members: Vec<MemberRow>,
    /// The decks assigned to it, and those the instructor may assign.
    pub decks: Vec<DeckChoice>,
    /// Its default retention under FSRS, if set.
    pub default_retention: Option<i64>,
    /// Its exams, earliest first.
    pub exams: Vec<ExamRow>,
}

impl ClassPage {
    /// The decks the class studies: those assigned to it and the public ones (what an exam
    /// may cover).
    pub fn studied_decks(&self) -> Vec<i64> {
        self.decks
            .iter()
            .filter(|d| d.assigned || d.public)
            .map(|d| d.id)
            .collect()
    }
}

/// The page of class `class_id` for the teacher who runs it, on their study day `today`.
pub async fn page(
    pool: &Pool,
    teacher: Actor<'_>,
    class_id: i64,
    today: i32,
) -> Result<ClassPage, StudyError> {
    let class = owned(pool, teacher.learner.id, class_id).await?;
    let assigned = db::classes::deck_ids(pool, class.id).await?;
    let decks = db::decks::list_with_counts(
        pool,
        teacher.learner.id,
        today,
        teacher.learner.visible_decks(),
    )
    .await?
    .into_iter()
    .filter(|d| assigned.contains(&d.id) || teacher.may_assign_deck(d.owner_id, d.public))
    .map(|d| DeckChoice {
        assigned: assigned.contains(&d.id),
        public: d.public,
        id: d.id,
        name: d.name,
    })
    .collect();
    Ok(ClassPage {
        members: db::classes::members(pool, class.id).await?,
        default_retention: db::classes::default_retention(pool, class.id).await?,
        exams: db::exams::of_class(pool, class.id).await?,
        class,
        decks,
    })
}

/// Parses the class page's default retention: a whole percentage from 70 to 97, or empty
/// for none (students then study at 90% unless they choose).
pub fn parse_default_retention(raw: &str) -> Result<Option<i64>, crate::domain::Invalid> {
    let text = raw.trim();
    match text.parse::<i64>() {
        _ if text.is_empty() => Ok(None),
        Ok(r) if crate::srs::scheduler::RETENTION_PCT.contains(&r) => Ok(Some(r)),
        _ => Err(crate::domain::Invalid(format!(
            "The default retention is a whole percentage from 70 to 97, or empty for none, not \"{}\".",
            text.chars().take(20).collect::<String>()
        ))),
    }
}

/// Sets the default retention of class `class_id`, run by `owner_id`, and reschedules its
/// students on FSRS with it (`scheduling::reschedule_class`, which says everyone's sessions
/// went stale).
pub async fn set_default_retention(
    db: &db::Db,
    sessions: &dyn Forget,
    owner_id: i64,
    class_id: i64,
    retention: Option<i64>,
    max_interval_days: u32,
    now: Timestamp,
) -> Result<(), StudyError> {
    let class = owned(db.reader(), owner_id, class_id).await?;
    db::classes::set_default_retention(db.writer(), class.id, retention)
        .await
        .context("saving a class's default retention")?;
    super::scheduling::reschedule_class(db, sessions, class.id, max_interval_days, now).await
}

/// Assigns deck `deck_id` to class `class_id` run by the teacher, or takes it off. A deck the
/// teacher cannot see is not found; taking a deck off one's own class is always allowed,
/// handing one out only as [`Actor::may_assign_deck`] says. Every member's view of the decks
/// changes, so everyone's sessions go stale.
pub async fn assign_deck(
    db: &db::Db,
    sessions: &dyn Forget,
    teacher: Actor<'_>,
    class_id: i64,
    deck_id: i64,
    assigned: bool,
) -> Result<(), StudyError> {
    let class = owned(db.reader(), teacher.learner.id, class_id).await?;
    if !teacher.learner.can_see(deck_id) {
        return Err(StudyError::NotFound);
    }
    if assigned {
        let deck = db::decks::find(db.reader(), deck_id)
            .await?
            .ok_or(StudyError::NotFound)?;
        if !teacher.may_assign_deck(deck.owner_id, deck.public) {
            return Err(StudyError::Forbidden(
                "Only a private deck's owner can assign it to a class.".to_owned(),
            ));
        }
    }
    db::classes::set_deck(db.writer(), class.id, deck_id, assigned)
        .await
        .context("assigning a deck to a class")?;
    sessions.forget(Stale::Everyone);
    Ok(())
}

/// Adds an exam to class `class_id` run by `owner_id` (`exams::create`), within their
/// hourly budget of new exams.
pub async fn add_exam(
    db: &db::Db,
    sessions: &dyn Forget,
    quotas: &Quotas,
    owner_id: i64,
    class_id: i64,
    exam: &super::exams::NewExam,
    now: Timestamp,
) -> Result<(), StudyError> {
    let class = owned(db.reader(), owner_id, class_id).await?;
    quotas.spend(owner_id, &[(Kind::Exam, 1)], now.as_millisecond())?;
    super::exams::create(db, sessions, class.id, exam, now).await
}

/// Exam `exam_id` of class `class_id` run by `owner_id`, with the class, for the page that
/// asks before deleting it; not found otherwise.
pub async fn exam_to_delete(
    pool: &Pool,
    owner_id: i64,
    class_id: i64,
    exam_id: i64,
) -> Result<(ClassRow, ExamRow), StudyError> {
    let class = owned(pool, owner_id, class_id).await?;
    let exam = db::exams::of_class(pool, class.id)
        .await?
        .into_iter()
        .find(|e| e.id == exam_id)
        .ok_or(StudyError::NotFound)?;
    Ok((class, exam))
}

/// Deletes exam `exam_id` of class `class_id` run by `owner_id` (`exams::delete`).
pub async fn delete_exam(
    db: &db::Db,
    sessions: &dyn Forget,
    owner_id: i64,
    class_id: i64,
    exam_id: i64,
    now: Timestamp,
) -> Result<(), StudyError> {
    let class = owned(db.reader(), owner_id, class_id).await?;
    super::exams::delete(db, sessions, class.id, exam_id, now).await
}

/// The open reports of class `class_id`'s students on the decks it studies, for the teacher
/// who runs it, with who may edit each card; with the class.
pub async fn open_reports(
    pool: &Pool,
    teacher: Actor<'_>,
    class_id: i64,
) -> Result<(ClassRow, Vec<super::reports::Listed>), StudyError> {
    let class = owned(pool, teacher.id(), class_id).await?;
    let reports = db::reports::open_for_class(pool, class.id).await?;
    let reports = super::reports::with_editors(pool, teacher, reports).await?;
    Ok((class, reports))
}

/// Resolves report `report_id`, listed for class `class_id` run by `owner_id`; not found if
/// the class lists no such open report.
pub async fn resolve_report(
    pool: &Pool,
    owner_id: i64,
    class_id: i64,
    report_id: i64,
    now: i64,
) -> Result<(), StudyError> {
    let class = owned(pool, owner_id, class_id).await?;
    if db::reports::resolve(pool, report_id, class.id, owner_id, now)
        .await
        .context("resolving a report")?
    {
        Ok(())
    } else {
        Err(StudyError::NotFound)
    }
}

/// Draws a new join code for class `class_id` run by `owner_id` (the old one stops working).
pub async fn regenerate_code(pool: &Pool, owner_id: i64, class_id: i64) -> Result<(), StudyError> {
    let class_id = owned(pool, owner_id, class_id).await?.id;
    for _ in 0..2 {
        match db::classes::set_join_code(pool, class_id, &new_join_code()).await {
            Err(e) if db::is_unique_violation(&e) => continue,
            other => return Ok(other?),
        }
    }
    Err(StudyError::Internal(anyhow::anyhow!(
        "could not draw a unique join code"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_long_unambiguous_and_forgiving_to_type() {
        let code = new_join_code();
        assert_eq!(code.len(), CODE_LENGTH);
        assert!(code.bytes().all(|b| CODE_ALPHABET.contains(&b)));
        assert_ne!(code, new_join_code());
        assert_eq!(normalise_code(" abcd-efgh 23 "), "ABCDEFGH23");
    }
}
