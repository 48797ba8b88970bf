//! A class's exams, the decks each covers, and what placing cards in their windows reads and
//! writes (`srs::exam` decides where).

use crate::db::{Backend, Conn, Executor};
use crate::srs::exam::{ExamWindow, Scheduled};
use sqlx::FromRow;
use std::collections::HashMap;

/// SQL for the exams of user `u`'s classes that are not long past, as a JSON array of
/// `{exam_day, window_days, decks}` (`windows_from_json` reads it): $2 is now, Unix seconds.
/// A macro so that the session lookup can carry it in its one static statement; in the
/// dialect named (`sqlite` or `postgres`).
#[macro_export]
macro_rules! exams_of_user {
    (sqlite) => {
        "(SELECT json_group_array(json_object('exam_day', e.exam_day,
                   'window_days', e.window_days,
                   'decks', (SELECT json_group_array(x.deck_id) FROM class_exam_decks x
                              WHERE x.exam_id = e.id)))
            FROM class_exams e JOIN class_members m ON m.class_id = e.class_id
           WHERE m.user_id = u.id AND e.exam_day >= $2 / 86400 - 2)"
    };
    (postgres) => {
        "(SELECT CAST(COALESCE(json_agg(json_build_object('exam_day', e.exam_day,
                   'window_days', e.window_days,
                   'decks', (SELECT COALESCE(json_agg(x.deck_id), '[]') FROM class_exam_decks x
                              WHERE x.exam_id = e.id))), '[]') AS TEXT)
            FROM class_exams e JOIN class_members m ON m.class_id = e.class_id
           WHERE m.user_id = u.id AND e.exam_day >= $2 / 86400 - 2)"
    };
}

/// The elements of the JSON array of integers in parameter `$n`, as a one-column subquery.
fn json_ints(backend: Backend, n: u8) -> String {
    match backend {
        Backend::Sqlite => format!("(SELECT value FROM json_each(${n}))"),
        Backend::Postgres => format!(
            "(SELECT CAST(value AS BIGINT) FROM json_array_elements_text(CAST(${n} AS json)))"
        ),
    }
}

#[derive(serde::Deserialize)]
struct WindowJson {
    exam_day: i32,
    window_days: u32,
    decks: Vec<i64>,
}

/// The exam windows in `exams_of_user!`'s JSON (none if it does not parse), earliest first,
/// with their decks sorted.
pub fn windows_from_json(json: Option<&str>) -> Vec<ExamWindow> {
    let rows: Vec<WindowJson> = json
        .and_then(|j| serde_json::from_str(j).ok())
        .unwrap_or_default();
    let mut windows: Vec<ExamWindow> = rows
        .into_iter()
        .map(|r| {
            let mut decks = r.decks;
            decks.sort_unstable();
            decks.dedup();
            ExamWindow {
                exam_day: r.exam_day,
                window_days: r.window_days,
                decks,
            }
        })
        .collect();
    windows.sort_by_key(|w| (w.exam_day, w.window_days));
    windows
}

/// The exams of `user_id`'s classes that are not long past (now is `now`, Unix seconds).
pub async fn windows_of_user(
    db: impl Executor<'_>,
    user_id: i64,
    now: i64,
) -> Result<Vec<ExamWindow>, sqlx::Error> {
    let sql = match db.backend() {
        Backend::Sqlite => concat!(
            "SELECT ",
            exams_of_user!(sqlite),
            " FROM users u WHERE u.id = $1"
        ),
        Backend::Postgres => {
            concat!(
                "SELECT ",
                exams_of_user!(postgres),
                " FROM users u WHERE u.id = $1"
            )
        }
    };
    let json: Option<String> = sqlx::query_scalar(sql)
        .bind(user_id)
        .bind(now)
        .fetch_optional(db)
        .await?
        .flatten();
    Ok(windows_from_json(json.as_deref()))
}

/// An exam as its class page lists it.
#[derive(Debug, Clone, FromRow)]
pub struct ExamRow {
    /// Id.
    pub id: i64,
    /// Its name ("Quiz 3").
    pub name: String,
    /// Its study day.
    pub exam_day: i64,
    /// Study days before it that make its window.
    pub window_days: i64,
    /// The names of the decks it covers, joined by ", ".
    pub deck_names: String,
}

/// A class's exams, earliest first.
pub async fn of_class(db: impl Executor<'_>, class_id: i64) -> Result<Vec<ExamRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT e.id, e.name, e.exam_day, e.window_days,
                COALESCE((SELECT string_agg(d.name, ', ') FROM class_exam_decks x
                            JOIN decks d ON d.id = x.deck_id WHERE x.exam_id = e.id), '')
                  AS deck_names
         FROM class_exams e WHERE e.class_id = $1 ORDER BY e.exam_day, e.id",
    )
    .bind(class_id)
    .fetch_all(db)
    .await
}

/// A new exam of class `class_id` covering `decks`. Returns its id.
pub async fn create(
    db: &mut Conn,
    class_id: i64,
    name: &str,
    exam_day: i32,
    window_days: u32,
    decks: &[i64],
    now: i64,
) -> Result<i64, sqlx::Error> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO class_exams (class_id, name, exam_day, window_days, created_at)
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(class_id)
    .bind(name)
    .bind(exam_day)
    .bind(i64::from(window_days))
    .bind(now)
    .fetch_one(&mut *db)
    .await?;
    let decks = serde_json::to_string(decks).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    let sql = format!(
        "INSERT INTO class_exam_decks (exam_id, deck_id)
         SELECT $1, * FROM {} AS d WHERE true ON CONFLICT DO NOTHING",
        json_ints(Backend::of_conn(db), 2)
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(decks)
        .execute(&mut *db)
        .await?;
    Ok(id)
}

/// Tells every member of class `class_id` of its new exam `exam_id`: a notice each, which
/// every page shows them until they open their exams or dismiss it (`ExamNotice`).
pub async fn add_notices(
    db: impl Executor<'_>,
    class_id: i64,
    exam_id: i64,
    now: i64,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO exam_notices (user_id, exam_id, created_at)
         SELECT user_id, $1, $2 FROM class_members WHERE class_id = $3
         ON CONFLICT DO NOTHING",
    )
    .bind(exam_id)
    .bind(now)
    .bind(class_id)
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}

/// Deletes `user_id`'s exam notices up to the one the banner showed (`upto`: its created_at
/// and exam id; None: all of them, they opened their exams); returns how many went. A notice
/// written after the page was shown stays.
pub async fn delete_notices(
    db: impl Executor<'_>,
    user_id: i64,
    upto: Option<(i64, i64)>,
) -> Result<u64, sqlx::Error> {
    let (at, exam) = upto.unwrap_or((i64::MAX, i64::MAX));
    let done = sqlx::query(
        "DELETE FROM exam_notices
         WHERE user_id = $1 AND (created_at < $2 OR (created_at = $2 AND exam_id <= $3))",
    )
    .bind(user_id)
    .bind(at)
    .bind(exam)
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}

/// SQL for user `u`'s newest exam notice of a class they are still in, for an exam not past
/// (`$2` is now, Unix seconds), as a JSON object `{name, class, exam_day, decks}` that
/// `notice_from_json` reads, then `count` more: `exam_notice_of_user!(sqlite)` in the session
/// lookup.
#[macro_export]
macro_rules! exam_notice_of_user {
    (sqlite) => {
        concat!(
            "(SELECT json_object('name', e.name, 'class', c.name, 'exam_day', e.exam_day,
                     'decks', COALESCE((SELECT group_concat(d.name, ', ') FROM class_exam_decks x
                                          JOIN decks d ON d.id = x.deck_id WHERE x.exam_id = e.id), ''),
                     'seen_at', n.created_at, 'seen_exam', n.exam_id, 'count', ",
            $crate::exam_notice_count!(),
            ")",
            $crate::exam_notice_from!(),
            ")"
        )
    };
    (postgres) => {
        concat!(
            "(SELECT CAST(json_build_object('name', e.name, 'class', c.name, 'exam_day', e.exam_day,
                     'decks', COALESCE((SELECT string_agg(d.name, ', ') FROM class_exam_decks x
                                          JOIN decks d ON d.id = x.deck_id WHERE x.exam_id = e.id), ''),
                     'seen_at', n.created_at, 'seen_exam', n.exam_id, 'count', ",
            $crate::exam_notice_count!(),
            ") AS TEXT)",
            $crate::exam_notice_from!(),
            ")"
        )
    };
}

/// `exam_notice_of_user!`'s rows: the notices of `u` for exams of classes they are in that
/// are not past (a day's slack for time zones), newest first.
#[doc(hidden)]
#[macro_export]
macro_rules! exam_notice_from {
    () => {
        " FROM exam_notices n JOIN class_exams e ON e.id = n.exam_id
           JOIN class_members m ON m.class_id = e.class_id AND m.user_id = n.user_id
           JOIN classes c ON c.id = e.class_id
          WHERE n.user_id = u.id AND e.exam_day >= $2 / 86400 - 1
          ORDER BY n.created_at DESC, n.exam_id DESC LIMIT 1"
    };
}

/// How many notices `exam_notice_of_user!` counts (the one it shows among them).
#[doc(hidden)]
#[macro_export]
macro_rules! exam_notice_count {
    () => {
        "(SELECT COUNT(*) FROM exam_notices n2 JOIN class_exams e2 ON e2.id = n2.exam_id
           JOIN class_members m2 ON m2.class_id = e2.class_id AND m2.user_id = n2.user_id
          WHERE n2.user_id = u.id AND e2.exam_day >= $2 / 86400 - 1)"
    };
}

/// An exam set for one of the user's classes that they have not yet looked at: every page
/// says so until they open their exams or dismiss it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct ExamNotice {
    /// The exam's name.
    pub name: String,
    /// Its class's name.
    pub class: String,
    /// Its study day.
    pub exam_day: i64,
    /// The names of the decks it covers, joined by ", ".
    pub decks: String,
    /// How many exams the user has notices of, this one included.
    pub count: i64,
    /// When this notice was written (Unix seconds): a dismiss removes it and older ones.
    pub seen_at: i64,
    /// Its exam's id (with `seen_at`, the newest notice the banner showed).
    pub seen_exam: i64,
}

/// The notice in `exam_notice_of_user!`'s JSON, if there is one and it parses.
pub fn notice_from_json(json: Option<&str>) -> Option<ExamNotice> {
    json.and_then(|j| serde_json::from_str(j).ok())
}

/// Deletes exam `exam_id` of class `class_id`; returns whether there was one.
pub async fn delete(
    db: impl Executor<'_>,
    class_id: i64,
    exam_id: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM class_exams WHERE id = $1 AND class_id = $2")
        .bind(exam_id)
        .bind(class_id)
        .execute(db)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// `window_loads`' statement: the user (`$1`), the window's first and last day (`$2`, `$3`)
/// and its decks as a JSON array (`$4`).
pub(crate) fn window_loads_sql(backend: Backend) -> String {
    format!(
        "SELECT due_day, CAST(SUM(cards) AS BIGINT) FROM due_tally
         WHERE user_id = $1 AND due_day BETWEEN $2 AND $3 AND deck_id IN {}
         GROUP BY due_day",
        json_ints(backend, 4)
    )
}

/// How many of `user_id`'s cards of `decks` fall due on each day of `first..=last`.
pub async fn window_loads(
    db: impl Executor<'_>,
    user_id: i64,
    decks: &[i64],
    first: i32,
    last: i32,
) -> Result<HashMap<i32, u32>, sqlx::Error> {
    let decks = serde_json::to_string(decks).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    let sql = window_loads_sql(db.backend());
    let rows: Vec<(i64, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(user_id)
        .bind(first)
        .bind(last)
        .bind(decks)
        .fetch_all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(d, n)| Some((i32::try_from(d).ok()?, u32::try_from(n).ok()?)))
        .collect())
}

/// The user's scheduled cards an exam may move or may have moved: those of `decks`, and
/// those whose due day is not the one their scheduler gave (an exam since deleted or changed
/// brought it forward).
pub async fn placeable(
    db: impl Executor<'_>,
    user_id: i64,
    decks: &[i64],
) -> Result<Vec<Scheduled>, sqlx::Error> {
    let decks = serde_json::to_string(decks).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    let sql = format!(
        "SELECT s.card_id, c.deck_id, COALESCE(s.graded_day, s.due_day - s.interval_days),
                COALESCE(s.graded_day, s.due_day - s.interval_days) + s.interval_days
         FROM review_states s JOIN cards c ON c.id = s.card_id
         WHERE s.user_id = $1
           AND (c.deck_id IN {}
                OR (s.graded_day IS NOT NULL AND s.due_day <> s.graded_day + s.interval_days))
         ORDER BY s.card_id",
        json_ints(db.backend(), 2)
    );
    let rows: Vec<(i64, i64, i64, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(user_id)
        .bind(decks)
        .fetch_all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(card_id, deck_id, graded, natural)| {
            Some(Scheduled {
                card_id,
                deck_id,
                graded_day: i32::try_from(graded).ok()?,
                natural_due: i32::try_from(natural).ok()?,
            })
        })
        .collect())
}

/// Sets the due days of the user's cards, (card, due day), in one statement; rows whose day
/// is already that are left alone, so the tallies' triggers run only for real moves.
pub async fn set_due_days(
    db: impl Executor<'_>,
    user_id: i64,
    due: &[(i64, i32)],
) -> Result<u64, sqlx::Error> {
    let json = serde_json::to_string(due).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    let sql = match db.backend() {
        Backend::Sqlite => SET_DUE_DAYS_SQLITE,
        Backend::Postgres => {
            "UPDATE review_states SET due_day = j.due
             FROM (SELECT CAST(value ->> 0 AS BIGINT) AS card, CAST(value ->> 1 AS BIGINT) AS due
                   FROM json_array_elements(CAST($2 AS json))) AS j
             WHERE review_states.user_id = $1 AND review_states.card_id = j.card
               AND review_states.due_day <> j.due"
        }
    };
    let done = sqlx::query(sql)
        .bind(user_id)
        .bind(json)
        .execute(db)
        .await?;
    Ok(done.rows_affected())
}

/// SQLite's query plan of `set_due_days`' statement (a test keeps it linear).
pub async fn set_due_days_plan(db: impl Executor<'_>) -> Result<Vec<String>, sqlx::Error> {
    super::reviews::sqlite_plan(db, SET_DUE_DAYS_SQLITE).await
}

/// `set_due_days` on SQLite: an upsert that only ever updates (the `EXISTS`), for the reason
/// `rewrite_states` is one: `UPDATE ... FROM json_each` scans the JSON once per state.
const SET_DUE_DAYS_SQLITE: &str = "INSERT INTO review_states (user_id, card_id, repetitions,
             easiness_hundredths, interval_days, due_day, last_reviewed_at)
         SELECT $1, j.value ->> '$[0]', 0, 0, 0, j.value ->> '$[1]', 0 FROM json_each($2) AS j
         WHERE EXISTS (SELECT 1 FROM review_states s
                       WHERE s.user_id = $1 AND s.card_id = j.value ->> '$[0]')
         ON CONFLICT (user_id, card_id) DO UPDATE SET due_day = excluded.due_day
         WHERE review_states.due_day <> excluded.due_day";

/// The class's members who are students, by name: whom its exam reports cover.
pub async fn students(
    db: impl Executor<'_>,
    class_id: i64,
) -> Result<Vec<super::classes::MemberRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT u.id, u.username FROM class_members m JOIN users u ON u.id = m.user_id
         WHERE m.class_id = $1 AND u.role = 'student' ORDER BY u.username COLLATE NOCASE",
    )
    .bind(class_id)
    .fetch_all(db)
    .await
}

/// Every member of class `class_id`, by id: whom a change to its exams reschedules.
pub async fn member_ids(db: impl Executor<'_>, class_id: i64) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT user_id FROM class_members WHERE class_id = $1 ORDER BY user_id")
        .bind(class_id)
        .fetch_all(db)
        .await
}

/// The standing grades of exam `exam_id`'s cards by the students of its class (or by
/// `only` of them), one card of one student after another, oldest first: (user, card, study
/// day, quality).
pub async fn histories(
    db: impl Executor<'_>,
    exam_id: i64,
    only: Option<i64>,
) -> Result<Vec<(i64, i64, i64, i64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT r.user_id, r.card_id, r.study_day, r.quality
         FROM standing_reviews r
         JOIN cards c ON c.id = r.card_id
         JOIN class_exam_decks x ON x.deck_id = c.deck_id AND x.exam_id = $1
         JOIN class_exams e ON e.id = x.exam_id
         JOIN class_members m ON m.class_id = e.class_id AND m.user_id = r.user_id
         JOIN users u ON u.id = r.user_id AND u.role = 'student'
         WHERE r.quality IS NOT NULL AND ($2 IS NULL OR r.user_id = $2)
         ORDER BY r.user_id, r.card_id, r.id",
    )
    .bind(exam_id)
    .bind(only)
    .fetch_all(db)
    .await
}

/// The cards exam `exam_id` covers: (id, front, format).
pub async fn cards(
    db: impl Executor<'_>,
    exam_id: i64,
) -> Result<Vec<(i64, String, String)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT c.id, c.front, c.format FROM cards c
         JOIN class_exam_decks x ON x.deck_id = c.deck_id
         WHERE x.exam_id = $1 ORDER BY c.deck_id, c.position, c.id",
    )
    .bind(exam_id)
    .fetch_all(db)
    .await
}

/// An exam of one of a student's classes, as their progress page lists it.
#[derive(Debug, Clone, FromRow)]
pub struct UpcomingRow {
    /// Id.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// Its class's name.
    pub class_name: String,
    /// Its study day.
    pub exam_day: i64,
    /// Study days of its window.
    pub window_days: i64,
    /// The names of its decks, joined by ", ".
    pub deck_names: String,
    /// The exam's cards.
    pub cards: i64,
    /// The student's cards of it due in its window.
    pub due_in_window: i64,
}

/// The exams of `user_id`'s classes from study day `today` on, earliest first.
pub async fn upcoming_of_user(
    db: impl Executor<'_>,
    user_id: i64,
    today: i32,
) -> Result<Vec<UpcomingRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT e.id, e.name, c.name AS class_name, e.exam_day, e.window_days,
                COALESCE((SELECT string_agg(d.name, ', ') FROM class_exam_decks x
                            JOIN decks d ON d.id = x.deck_id WHERE x.exam_id = e.id), '')
                  AS deck_names,
                (SELECT COUNT(*) FROM cards k JOIN class_exam_decks x ON x.deck_id = k.deck_id
                  WHERE x.exam_id = e.id) AS cards,
                (SELECT COUNT(*) FROM review_states s JOIN cards k ON k.id = s.card_id
                   JOIN class_exam_decks x ON x.deck_id = k.deck_id AND x.exam_id = e.id
                  WHERE s.user_id = $1
                    AND s.due_day BETWEEN e.exam_day - e.window_days AND e.exam_day - 1)
                  AS due_in_window
         FROM class_exams e JOIN classes c ON c.id = e.class_id
         JOIN class_members m ON m.class_id = e.class_id AND m.user_id = $1
         WHERE e.exam_day >= $2 ORDER BY e.exam_day, e.id",
    )
    .bind(user_id)
    .bind(today)
    .fetch_all(db)
    .await
}
