//! A class's exam dates: setting one reschedules the class's students so that no card of its
//! decks jumps it (`srs::exam`), deleting one gives the cards back their natural due days,
//! and the class dashboard predicts each student's recall at the exam.

use super::{Context, Forget, Stale, StudyError};
use crate::db;
use crate::db::Conn;
use crate::srs::day::StudyCalendar;
use crate::srs::{evaluate, exam};
use jiff::Timestamp;

pub use crate::db::exams::{ExamNotice, notice_from_json};

/// An exam as an instructor sets it, already checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewExam {
    /// Its name.
    pub name: crate::domain::ExamName,
    /// Its study day.
    pub exam_day: i32,
    /// Study days before it that make its window.
    pub window_days: u32,
    /// The decks it covers (the class's).
    pub decks: Vec<i64>,
}

impl NewExam {
    /// An exam from the class page's form: a name (see [`crate::domain::ExamName`]), a date after
    /// `today` and within three years, a window of 1 to 30 study days, and at least one of
    /// the class's decks (`allowed`). Every problem is named, so the form can show them all.
    pub fn parse(
        name: &str,
        date: &str,
        window_days: &str,
        decks: Vec<i64>,
        today: i32,
        allowed: &[i64],
    ) -> Result<Self, Vec<String>> {
        let mut problems = Vec::new();
        let name = match crate::domain::ExamName::parse(name) {
            Ok(name) => Some(name),
            Err(e) => {
                problems.push(e.0);
                None
            }
        };
        let exam_day = match date.trim().parse::<jiff::civil::Date>() {
            Ok(d) => {
                let day = crate::srs::day::day_number(d);
                if day <= today {
                    problems.push("The exam's date is a day after today.".to_owned());
                } else if day > today + 3 * 366 {
                    problems.push("The exam's date is within three years.".to_owned());
                }
                day
            }
            Err(_) => {
                problems.push(format!(
                    "The exam's date is a date like 2026-12-18, not \"{}\".",
                    date.chars().take(20).collect::<String>()
                ));
                0
            }
        };
        let window = window_days.trim();
        let window_days = match window.parse::<u32>() {
            _ if window.is_empty() => exam::DEFAULT_WINDOW_DAYS,
            Ok(w) if (1..=exam::MAX_WINDOW_DAYS).contains(&w) => w,
            _ => {
                problems.push(format!(
                    "The review window is a whole number of study days from 1 to {}, not \"{}\".",
                    exam::MAX_WINDOW_DAYS,
                    window.chars().take(20).collect::<String>()
                ));
                0
            }
        };
        let mut decks = decks;
        decks.sort_unstable();
        decks.dedup();
        if decks.is_empty() {
            problems.push("Choose at least one deck the exam covers.".to_owned());
        } else if decks.iter().any(|d| !allowed.contains(d)) {
            problems.push("An exam covers only decks this class studies.".to_owned());
        }
        let Some(name) = name.filter(|_| problems.is_empty()) else {
            return Err(problems);
        };
        Ok(Self {
            name,
            exam_day,
            window_days,
            decks,
        })
    }
}

/// Places every card of `user_id`'s in the windows of their classes' exams, from the natural
/// due days, on their study day at `now`; cards no exam constrains get their natural due day
/// back. Returns how many cards moved.
pub async fn place_cards(conn: &mut Conn, user_id: i64, now: Timestamp) -> Result<u64, StudyError> {
    let exams = db::exams::windows_of_user(&mut *conn, user_id, now.as_second()).await?;
    let decks: Vec<i64> = exams.iter().flat_map(|e| e.decks.iter().copied()).collect();
    let cards = db::exams::placeable(&mut *conn, user_id, &decks)
        .await
        .context("reading the cards an exam may move")?;
    if cards.is_empty() {
        return Ok(0);
    }
    let Some(user) = db::users::find(&mut *conn, user_id).await? else {
        return Ok(0);
    };
    let calendar = StudyCalendar::stored(&user.time_zone, user.day_starts_hour);
    let due = exam::place_all(&exams, calendar.day_of(now), &cards);
    db::exams::set_due_days(&mut *conn, user_id, &due)
        .await
        .context("moving due days into exam windows")
}

/// Changes class `class_id`'s exams, then places the cards of each of its members again, each
/// member in a write transaction of their own, so a class of hundreds never holds the one
/// writer for long: another student's grade waits for one member's placement at most. Each
/// placement reads the member's cards and exams inside its own transaction, so a grade that
/// lands between two members is placed with the rest. Should the process stop half way, the
/// members not yet placed keep their due days until their next change of exams or scheduler
/// (grading a card places that card in any window it falls into). Sessions carry the exams,
/// so they are dropped.
async fn place_class(
    db: &db::Db,
    sessions: &dyn Forget,
    class_id: i64,
    now: Timestamp,
    change: impl AsyncFnOnce(&mut Conn) -> Result<bool, StudyError>,
) -> Result<bool, StudyError> {
    let mut tx = db::begin_write(db.writer()).await?;
    if !change(&mut tx).await? {
        return Ok(false);
    }
    let members = db::exams::member_ids(&mut *tx, class_id).await?;
    tx.commit().await?;
    sessions.forget(Stale::Everyone);
    for user_id in members {
        let mut tx = db.begin_write_of(&[db::Rows::of_user(user_id)]).await?;
        place_cards(&mut tx, user_id, now).await?;
        tx.commit().await?;
    }
    Ok(true)
}

/// Adds an exam to class `class_id` and reschedules its students around it.
pub async fn create(
    db: &db::Db,
    sessions: &dyn Forget,
    class_id: i64,
    exam: &NewExam,
    now: Timestamp,
) -> Result<(), StudyError> {
    place_class(db, sessions, class_id, now, async |tx| {
        let exam_id = db::exams::create(
            &mut *tx,
            class_id,
            exam.name.as_str(),
            exam.exam_day,
            exam.window_days,
            &exam.decks,
            now.as_second(),
        )
        .await?;
        // News for every member, written with the exam (the sessions that carry it are
        // dropped with the exams' below).
        db::exams::add_notices(&mut *tx, class_id, exam_id, now.as_second())
            .await
            .context("telling the class of its exam")?;
        Ok(true)
    })
    .await?;
    Ok(())
}

/// `user_id` has seen the exams set for their classes (they opened their exams on /stats, or
/// dismissed the notice every page shows): the notices go, from their sessions too.
pub async fn notices_seen(
    pool: &db::Pool,
    sessions: &dyn Forget,
    user_id: i64,
    upto: Option<(i64, i64)>,
) -> Result<(), StudyError> {
    let seen = db::exams::delete_notices(pool, user_id, upto)
        .await
        .context("marking exam notices seen")?;
    if seen > 0 {
        sessions.forget(Stale::User(user_id));
    }
    Ok(())
}

/// Deletes exam `exam_id` of class `class_id` (its notices with it); its students' cards get the due days their
/// scheduler gave back (or another exam's window). Not found if the class has no such exam.
pub async fn delete(
    db: &db::Db,
    sessions: &dyn Forget,
    class_id: i64,
    exam_id: i64,
    now: Timestamp,
) -> Result<(), StudyError> {
    let deleted = place_class(db, sessions, class_id, now, async |tx| {
        Ok(db::exams::delete(&mut *tx, class_id, exam_id).await?)
    })
    .await?;
    if deleted {
        Ok(())
    } else {
        Err(StudyError::NotFound)
    }
}

/// One student's predicted recall of an exam's decks on the exam day.
#[derive(Debug, Clone, PartialEq)]
pub struct StudentRecall {
    /// The student.
    pub username: String,
    /// The mean predicted recall over all the exam's cards, a card never studied counting
    /// as 0.
    pub recall: f64,
    /// Cards of the exam the student has studied.
    pub studied: usize,
}

/// A card the class is least likely to recall at the exam.
#[derive(Debug, Clone, PartialEq)]
pub struct CardRecall {
    /// The card's front.
    pub front: String,
    /// Mean predicted recall over the class's students (never studied: 0).
    pub recall: f64,
    /// Students who studied it.
    pub studied: usize,
}

/// What the class dashboard shows of one exam.
#[derive(Debug, Clone)]
pub struct ExamReport {
    /// The exam.
    pub exam: db::exams::ExamRow,
    /// The exam's cards.
    pub cards: usize,
    /// Each student, least prepared first.
    pub students: Vec<StudentRecall>,
    /// The cards the class is least likely to recall, at most ten.
    pub weakest: Vec<CardRecall>,
}

/// The predicted recall of each student of class `class_id` at each of its exams, by FSRS
/// with `parameters` (the class's fitted ones, or the defaults), whatever scheduler each
/// student uses. The arithmetic runs off the worker thread.
pub async fn reports(
    db: &db::Db,
    class_id: i64,
    parameters: Vec<f32>,
) -> Result<Vec<ExamReport>, StudyError> {
    let pool = db.reader();
    let members = db::exams::students(pool, class_id).await?;
    let mut out = Vec::new();
    for row in db::exams::of_class(pool, class_id).await? {
        let histories = db::exams::histories(pool, row.id, None)
            .await
            .context("reading the history of an exam's cards")?;
        let cards: Vec<(i64, String)> = db::exams::cards(pool, row.id)
            .await?
            .into_iter()
            .map(|(id, front, format)| (id, crate::markup::summary(&front, &format)))
            .collect();
        let members = members.clone();
        let parameters = parameters.clone();
        let report = tokio::task::spawn_blocking(move || {
            report(row, &members, &cards, &histories, &parameters)
        })
        .await
        .map_err(|e| StudyError::Internal(anyhow::anyhow!("predicting recall: {e}")))?;
        out.push(report);
    }
    Ok(out)
}

fn report(
    exam: db::exams::ExamRow,
    members: &[db::classes::MemberRow],
    cards: &[(i64, String)],
    histories: &[(i64, i64, i64, i64)],
    parameters: &[f32],
) -> ExamReport {
    let day = i32::try_from(exam.exam_day).unwrap_or(i32::MAX);
    // (student, card) -> predicted recall at the exam.
    let mut recall = std::collections::HashMap::new();
    for events in histories.chunk_by(|a, b| (a.0, a.1) == (b.0, b.1)) {
        let history: Vec<(i32, u8)> = evaluate::histories_by_card(events)
            .into_iter()
            .flatten()
            .collect();
        if let Some(r) = evaluate::recall_at(parameters, &history, day) {
            recall.insert((events[0].0, events[0].1), r);
        }
    }
    let n_cards = cards.len().max(1) as f64;
    let mut students: Vec<StudentRecall> = members
        .iter()
        .map(|m| {
            let mine: Vec<f64> = cards
                .iter()
                .filter_map(|(card, _)| recall.get(&(m.id, *card)).copied())
                .collect();
            StudentRecall {
                username: m.username.clone(),
                recall: mine.iter().sum::<f64>() / n_cards,
                studied: mine.len(),
            }
        })
        .collect();
    students.sort_by(|a, b| {
        a.recall
            .total_cmp(&b.recall)
            .then(a.username.cmp(&b.username))
    });
    let n_students = members.len().max(1) as f64;
    let mut weakest: Vec<CardRecall> = cards
        .iter()
        .map(|(card, front)| {
            let theirs: Vec<f64> = members
                .iter()
                .filter_map(|m| recall.get(&(m.id, *card)).copied())
                .collect();
            CardRecall {
                front: front.clone(),
                recall: theirs.iter().sum::<f64>() / n_students,
                studied: theirs.len(),
            }
        })
        .collect();
    weakest.sort_by(|a, b| {
        a.recall
            .total_cmp(&b.recall)
            .then(b.studied.cmp(&a.studied))
    });
    weakest.truncate(10);
    ExamReport {
        exam,
        cards: cards.len(),
        students,
        weakest,
    }
}

/// One of a student's coming exams, as their progress page shows it.
#[derive(Debug, Clone)]
pub struct MyExam {
    /// The exam, its class and its cards in the student's window.
    pub exam: db::exams::UpcomingRow,
    /// The student's mean predicted recall of its cards on the day (never studied: 0).
    pub recall: f64,
    /// Cards of it the student has studied.
    pub studied: usize,
}

/// The student's coming exams (from today on), each with their predicted recall on the day
/// by FSRS with the parameters that schedule them (or the defaults), whatever scheduler they
/// use.
pub async fn mine(
    db: &db::Db,
    learner: &super::Learner,
    now: Timestamp,
) -> Result<Vec<MyExam>, StudyError> {
    // The session carries the exam windows of the student's classes: most students have
    // none, and their progress page costs no query for it.
    if learner.exams.is_empty() {
        return Ok(Vec::new());
    }
    let pool = db.reader();
    let mut out = Vec::new();
    for exam in db::exams::upcoming_of_user(pool, learner.id, learner.today(now)).await? {
        let histories = db::exams::histories(pool, exam.id, Some(learner.id))
            .await
            .context("reading the history of an exam's cards")?;
        let day = i32::try_from(exam.exam_day).unwrap_or(i32::MAX);
        let recalls: Vec<f64> = evaluate::histories_by_card(&histories)
            .iter()
            .filter_map(|h| evaluate::recall_at(&learner.fsrs_parameters, h, day))
            .collect();
        out.push(MyExam {
            recall: recalls.iter().sum::<f64>() / exam.cards.max(1) as f64,
            studied: recalls.len(),
            exam,
        });
    }
    Ok(out)
}
