//! Students' reports of problems with cards.

use sqlx::{FromRow, SqliteExecutor};

/// An open report as the triage list shows it.
#[derive(Debug, Clone, FromRow)]
pub struct ReportRow {
    /// Id.
    pub id: i64,
    /// The card.
    pub card_id: i64,
    /// Its front.
    pub front: String,
    /// Its deck's name.
    pub deck_name: String,
    /// Who reported it.
    pub username: String,
    /// What they said.
    pub message: String,
    /// Unix seconds.
    pub created_at: i64,
}

/// Files a report.
pub async fn create(
    db: impl SqliteExecutor<'_>,
    card_id: i64,
    user_id: i64,
    message: &str,
    now: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO card_reports (card_id, user_id, message, created_at) VALUES (?1, ?2, ?3, ?4) RETURNING id",
    )
    .bind(card_id)
    .bind(user_id)
    .bind(message)
    .bind(now)
    .fetch_one(db)
    .await
}

/// Open reports by members of a class on cards of the decks assigned to it, oldest first.
pub async fn open_for_class(
    db: impl SqliteExecutor<'_>,
    class_id: i64,
) -> Result<Vec<ReportRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT r.id, r.card_id, c.front, d.name AS deck_name, u.username, r.message, r.created_at
         FROM card_reports r
         JOIN cards c ON c.id = r.card_id
         JOIN decks d ON d.id = c.deck_id
         JOIN users u ON u.id = r.user_id
         WHERE r.resolved_at IS NULL
           AND EXISTS (SELECT 1 FROM class_decks cd WHERE cd.class_id = ?1 AND cd.deck_id = c.deck_id)
           AND EXISTS (SELECT 1 FROM class_members m WHERE m.class_id = ?1 AND m.user_id = r.user_id)
         ORDER BY r.id",
    )
    .bind(class_id)
    .fetch_all(db)
    .await
}

/// Resolves a report listed for a class run by `owner_id`; false if there is no such report.
pub async fn resolve(
    db: impl SqliteExecutor<'_>,
    report_id: i64,
    class_id: i64,
    owner_id: i64,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE card_reports SET resolved_at = ?4, resolved_by = ?3
         WHERE id = ?1 AND resolved_at IS NULL
           AND EXISTS (SELECT 1 FROM classes k WHERE k.id = ?2 AND k.owner_id = ?3)
           AND EXISTS (SELECT 1 FROM class_decks cd JOIN cards c ON c.deck_id = cd.deck_id
                       WHERE cd.class_id = ?2 AND c.id = card_reports.card_id)
           AND EXISTS (SELECT 1 FROM class_members m WHERE m.class_id = ?2 AND m.user_id = card_reports.user_id)",
    )
    .bind(report_id)
    .bind(class_id)
    .bind(owner_id)
    .bind(now)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}
