//! Classes, their members and their decks; and which decks a user may see.

use crate::db::Executor;
use sqlx::FromRow;

/// SQL for the retention user `u` is scheduled at under FSRS: their own if chosen, else the
/// default of the first of their classes that has one, else 90 (a macro, so that `concat!`
/// builds each query as one static string).
#[macro_export]
macro_rules! retention_of_user {
    () => {
        "(CASE WHEN u.retention_chosen = 1 THEN u.desired_retention
               ELSE COALESCE((SELECT c.default_retention FROM classes c
                                JOIN class_members m ON m.class_id = c.id
                               WHERE m.user_id = u.id AND c.default_retention IS NOT NULL
                               ORDER BY c.id LIMIT 1), 90) END)"
    };
}

/// A class.
#[derive(Debug, Clone, FromRow)]
pub struct ClassRow {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// The instructor who runs it.
    pub owner_id: i64,
    /// The code students join with.
    pub join_code: String,
    /// Members.
    pub members: i64,
}

/// A member of a class.
#[derive(Debug, Clone, FromRow)]
pub struct MemberRow {
    /// User id.
    pub id: i64,
    /// Login name.
    pub username: String,
}

/// The decks `user_id` may see, sorted, and whether that is every deck of the site. The one
/// home of the visibility rule: public decks, decks they own, decks assigned to a class they
/// belong to or run; every deck for an admin. Each part is an indexed lookup from the user
/// (`decks_public`, `decks_owner`, `class_members_user`, `classes_owner` and the class decks'
/// keys), so the cost follows the user's decks and classes, not the site's.
pub async fn visible_decks(
    db: impl Executor<'_>,
    user_id: i64,
) -> Result<(Vec<i64>, bool), sqlx::Error> {
    let rows: Vec<(i64, i64)> = sqlx::query_as(
        "WITH admin AS (SELECT 1 AS yes FROM users WHERE id = $1 AND role = 'admin'),
              seen AS (
                SELECT id FROM decks WHERE public = 1
                UNION SELECT id FROM decks WHERE owner_id = $1
                UNION SELECT cd.deck_id FROM class_members m
                      JOIN class_decks cd ON cd.class_id = m.class_id WHERE m.user_id = $1
                UNION SELECT cd.deck_id FROM classes c
                      JOIN class_decks cd ON cd.class_id = c.id WHERE c.owner_id = $1
                UNION SELECT id FROM decks WHERE EXISTS (SELECT 1 FROM admin))
         SELECT id, (SELECT COUNT(*) FROM decks) AS every FROM seen ORDER BY id",
    )
    .bind(user_id)
    .fetch_all(db)
    .await?;
    let every = rows.first().map_or(0, |(_, n)| *n);
    let ids: Vec<i64> = rows.into_iter().map(|(id, _)| id).collect();
    let all = usize::try_from(every).is_ok_and(|n| n == ids.len());
    Ok((ids, all))
}

/// Creates a class.
pub async fn create(
    db: impl Executor<'_>,
    name: &str,
    owner_id: i64,
    join_code: &str,
    now: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO classes (name, owner_id, join_code, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(name)
    .bind(owner_id)
    .bind(join_code)
    .bind(now)
    .fetch_one(db)
    .await
}

/// The classes a user runs.
pub async fn owned_by(db: impl Executor<'_>, user_id: i64) -> Result<Vec<ClassRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT c.id, c.name, c.owner_id, c.join_code,
                (SELECT COUNT(*) FROM class_members m WHERE m.class_id = c.id) AS members
         FROM classes c WHERE c.owner_id = $1 ORDER BY c.name COLLATE NOCASE",
    )
    .bind(user_id)
    .fetch_all(db)
    .await
}

/// The classes a user belongs to.
pub async fn joined_by(db: impl Executor<'_>, user_id: i64) -> Result<Vec<ClassRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT c.id, c.name, c.owner_id, c.join_code,
                (SELECT COUNT(*) FROM class_members m WHERE m.class_id = c.id) AS members
         FROM classes c JOIN class_members me ON me.class_id = c.id AND me.user_id = $1
         ORDER BY c.name COLLATE NOCASE",
    )
    .bind(user_id)
    .fetch_all(db)
    .await
}

/// A class run by `owner_id` (another instructor's class is None).
pub async fn find_owned(
    db: impl Executor<'_>,
    class_id: i64,
    owner_id: i64,
) -> Result<Option<ClassRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT c.id, c.name, c.owner_id, c.join_code,
                (SELECT COUNT(*) FROM class_members m WHERE m.class_id = c.id) AS members
         FROM classes c WHERE c.id = $1 AND c.owner_id = $2",
    )
    .bind(class_id)
    .bind(owner_id)
    .fetch_optional(db)
    .await
}

/// The class with this join code.
pub async fn find_by_code(
    db: impl Executor<'_>,
    code: &str,
) -> Result<Option<ClassRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT c.id, c.name, c.owner_id, c.join_code,
                (SELECT COUNT(*) FROM class_members m WHERE m.class_id = c.id) AS members
         FROM classes c WHERE c.join_code = $1",
    )
    .bind(code)
    .fetch_optional(db)
    .await
}

/// The login name of the instructor who runs class `class_id`.
pub async fn instructor_name(db: impl Executor<'_>, class_id: i64) -> Result<String, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT u.username FROM classes c JOIN users u ON u.id = c.owner_id WHERE c.id = $1",
    )
    .bind(class_id)
    .fetch_one(db)
    .await
}

/// Adds a member (joining twice changes nothing).
pub async fn join(
    db: impl Executor<'_>,
    class_id: i64,
    user_id: i64,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO class_members (class_id, user_id, joined_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
        .bind(class_id)
        .bind(user_id)
        .bind(now)
        .execute(db)
        .await?;
    Ok(())
}

/// Removes a member; returns whether they were one.
pub async fn leave(
    db: impl Executor<'_>,
    class_id: i64,
    user_id: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM class_members WHERE class_id = $1 AND user_id = $2")
        .bind(class_id)
        .bind(user_id)
        .execute(db)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// A class's members by name.
pub async fn members(db: impl Executor<'_>, class_id: i64) -> Result<Vec<MemberRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT u.id, u.username FROM class_members m JOIN users u ON u.id = m.user_id
         WHERE m.class_id = $1 ORDER BY u.username COLLATE NOCASE",
    )
    .bind(class_id)
    .fetch_all(db)
    .await
}

/// Replaces a class's join code.
pub async fn set_join_code(
    db: impl Executor<'_>,
    class_id: i64,
    code: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE classes SET join_code = $2 WHERE id = $1")
        .bind(class_id)
        .bind(code)
        .execute(db)
        .await?;
    Ok(())
}

/// The ids of the decks assigned to a class.
pub async fn deck_ids(db: impl Executor<'_>, class_id: i64) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT deck_id FROM class_decks WHERE class_id = $1 ORDER BY deck_id")
        .bind(class_id)
        .fetch_all(db)
        .await
}

/// Assigns a deck to a class, or takes it back.
pub async fn set_deck(
    db: impl Executor<'_>,
    class_id: i64,
    deck_id: i64,
    assigned: bool,
) -> Result<(), sqlx::Error> {
    let sql = if assigned {
        "INSERT INTO class_decks (class_id, deck_id) VALUES ($1, $2) ON CONFLICT DO NOTHING"
    } else {
        "DELETE FROM class_decks WHERE class_id = $1 AND deck_id = $2"
    };
    sqlx::query(sql)
        .bind(class_id)
        .bind(deck_id)
        .execute(db)
        .await?;
    Ok(())
}

/// A class a deck is assigned to, as its deck's owner sees it.
#[derive(Debug, Clone, FromRow)]
pub struct Assignment {
    /// The class.
    pub class_id: i64,
    /// Its name.
    pub class_name: String,
    /// Its instructor's login name.
    pub instructor: String,
}

/// Every class deck `deck_id` is assigned to, by name.
pub async fn assignments(
    db: impl Executor<'_>,
    deck_id: i64,
) -> Result<Vec<Assignment>, sqlx::Error> {
    sqlx::query_as(
        "SELECT c.id AS class_id, c.name AS class_name, u.username AS instructor
         FROM class_decks cd JOIN classes c ON c.id = cd.class_id JOIN users u ON u.id = c.owner_id
         WHERE cd.deck_id = $1 ORDER BY c.name COLLATE NOCASE, c.id",
    )
    .bind(deck_id)
    .fetch_all(db)
    .await
}

/// SQL for the FSRS parameters user `u` is scheduled with, JSON: their own fit where it was
/// kept (it predicted their later reviews better), else the fit of the first of their
/// classes that has one, else NULL for FSRS's defaults. A macro, so that the session lookup
/// carries it in its one static statement.
#[macro_export]
macro_rules! fsrs_parameters_of_user {
    () => {
        "COALESCE((SELECT sf.parameters FROM student_fits sf
                    WHERE sf.user_id = u.id AND sf.kept = 1),
                  (SELECT f.parameters FROM class_fits f
                     JOIN class_members m ON m.class_id = f.class_id
                    WHERE m.user_id = u.id ORDER BY f.class_id LIMIT 1))"
    };
}

/// The FSRS parameters the user is scheduled with (`fsrs_parameters_of_user!`), JSON.
pub async fn fsrs_parameters_of(
    db: impl Executor<'_>,
    user_id: i64,
) -> Result<Option<String>, sqlx::Error> {
    Ok(sqlx::query_scalar(concat!(
        "SELECT ",
        fsrs_parameters_of_user!(),
        " FROM users u WHERE u.id = $1"
    ))
    .bind(user_id)
    .fetch_optional(db)
    .await?
    .flatten())
}

/// The FSRS parameters fitted to the first of the user's classes that has them, JSON: what a
/// student's own fit has to beat.
pub async fn class_parameters_of(
    db: impl Executor<'_>,
    user_id: i64,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT f.parameters FROM class_fits f JOIN class_members m ON m.class_id = f.class_id
         WHERE m.user_id = $1 ORDER BY f.class_id LIMIT 1",
    )
    .bind(user_id)
    .fetch_optional(db)
    .await
}

/// The class's members on FSRS.
pub async fn fsrs_members(db: impl Executor<'_>, class_id: i64) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT u.id FROM users u JOIN class_members m ON m.user_id = u.id
         WHERE m.class_id = $1 AND u.scheduler = 'fsrs' ORDER BY u.id",
    )
    .bind(class_id)
    .fetch_all(db)
    .await
}

/// The retention in percent a student on FSRS is scheduled at: their own if they chose one,
/// else the default of the first of their classes that has one, else 90. The session lookup
/// computes the same (`RETENTION_OF_USER`).
pub async fn effective_retention(db: impl Executor<'_>, user_id: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(concat!(
        "SELECT ",
        retention_of_user!(),
        " FROM users u WHERE u.id = $1"
    ))
    .bind(user_id)
    .fetch_one(db)
    .await
}

/// A class's default retention, if it has one.
pub async fn default_retention(
    db: impl Executor<'_>,
    class_id: i64,
) -> Result<Option<i64>, sqlx::Error> {
    Ok(
        sqlx::query_scalar("SELECT default_retention FROM classes WHERE id = $1")
            .bind(class_id)
            .fetch_optional(db)
            .await?
            .flatten(),
    )
}

/// Sets (or, with None, clears) a class's default retention.
pub async fn set_default_retention(
    db: impl Executor<'_>,
    class_id: i64,
    retention: Option<i64>,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE classes SET default_retention = $2 WHERE id = $1")
        .bind(class_id)
        .bind(retention)
        .execute(db)
        .await?;
    Ok(())
}
