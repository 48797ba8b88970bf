//! Decks and their cards.

use crate::db::{Backend, Executor, Pool};
use sqlx::FromRow;

/// A deck with one user's counts.
#[derive(Debug, Clone, FromRow)]
pub struct DeckSummary {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Cards in the deck.
    pub total: i64,
    /// Cards this user never reviewed (not suspended, nor buried today).
    pub new_count: i64,
    /// Whether everyone sees it.
    #[sqlx(try_from = "crate::db::Flag")]
    pub public: bool,
    /// Who owns it (None for the shipped decks).
    pub owner_id: Option<i64>,
    /// Cards due for this user by `today` (not suspended, nor buried today).
    pub due_count: i64,
}

/// A deck.
#[derive(Debug, Clone, FromRow)]
pub struct DeckRow {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Who owns it (None for the shipped decks).
    pub owner_id: Option<i64>,
    /// Whether everyone sees it.
    #[sqlx(try_from = "crate::db::Flag")]
    pub public: bool,
    /// The owner's name while they teach (and so may edit it); `None` when only the admins
    /// may: whom to ask for a change.
    pub owner_name: Option<String>,
}

/// `DeckRow`'s columns of `decks`.
macro_rules! deck_columns {
    () => {
        "SELECT id, name, description, owner_id, public,
                (SELECT o.username FROM users o WHERE o.id = decks.owner_id
                   AND o.role IN ('instructor', 'admin')) AS owner_name
         FROM decks"
    };
}

/// A card.
#[derive(Debug, Clone, FromRow)]
pub struct CardRow {
    /// Id.
    pub id: i64,
    /// Its deck.
    pub deck_id: i64,
    /// Prompt.
    pub front: String,
    /// Answer.
    pub back: String,
    /// basic | generated.
    pub kind: String,
    /// For generated cards, the practice family.
    pub generator: Option<String>,
    /// Order within the deck.
    pub position: i64,
    /// Tags, comma-separated.
    pub tags: String,
    /// How the sides are stored: `text` or `html` (`markup::Format`).
    pub format: String,
}

/// `list_with_counts`'s statement over the decks `$where` picks: the user's schedules
/// grouped by deck once, each deck's size from its tally (one row, kept by triggers), so the
/// cost follows the decks listed and the user's own schedules, not the site's cards.
macro_rules! decks_with_counts {
    ($($where:tt)*) => {
        concat!(
            "WITH mine AS (
                SELECT c.deck_id, COUNT(*) AS scheduled,
                       CAST(SUM(CASE WHEN s.due_day <= $2 AND NOT ",
            crate::held_back!("$1", "s.card_id", "$2"),
            " THEN 1 ELSE 0 END) AS BIGINT) AS due
                FROM review_states s JOIN cards c ON c.id = s.card_id
                WHERE s.user_id = $1 GROUP BY c.deck_id),
             held AS (
                SELECT c.deck_id, COUNT(*) AS cards
                FROM card_controls f JOIN cards c ON c.id = f.card_id
                WHERE f.user_id = $1 AND (f.suspended_at IS NOT NULL OR f.buried_day = $2)
                  AND NOT EXISTS (SELECT 1 FROM review_states s
                                  WHERE s.user_id = $1 AND s.card_id = f.card_id)
                GROUP BY c.deck_id)
             SELECT d.id, d.name, d.description, d.public, d.owner_id,
                    COALESCE(z.cards, 0) AS total,
                    COALESCE(z.cards, 0) - COALESCE(m.scheduled, 0) - COALESCE(h.cards, 0)
                      AS new_count,
                    COALESCE(m.due, 0) AS due_count
             FROM decks d LEFT JOIN deck_tally z ON z.deck_id = d.id
                  LEFT JOIN mine m ON m.deck_id = d.id
                  LEFT JOIN held h ON h.deck_id = d.id ",
            $($where)*,
            " ORDER BY d.name COLLATE NOCASE"
        )
    };
}

/// `list_with_counts` in the decks of $3, on PostgreSQL.
pub(in crate::db) const IN_DECKS_WITH_COUNTS_POSTGRES: &str =
    decks_with_counts!(concat!("WHERE ", crate::in_decks!(postgres, "d.id", "$3")));

/// The decks of `decks` (a JSON array; every deck when `None`) with this user's new, due and
/// total counts, by name.
pub async fn list_with_counts(
    db: impl Executor<'_>,
    user_id: i64,
    today: i32,
    decks: Option<&str>,
) -> Result<Vec<DeckSummary>, sqlx::Error> {
    let Some(decks) = decks else {
        return sqlx::query_as(decks_with_counts!(""))
            .bind(user_id)
            .bind(today)
            .fetch_all(db)
            .await;
    };
    let sql = match db.backend() {
        Backend::Sqlite => {
            decks_with_counts!(concat!("WHERE ", crate::in_decks!(sqlite, "d.id", "$3")))
        }
        Backend::Postgres => IN_DECKS_WITH_COUNTS_POSTGRES,
    };
    sqlx::query_as(sql)
        .bind(user_id)
        .bind(today)
        .bind(decks)
        .fetch_all(db)
        .await
}

/// One deck.
pub async fn find(db: impl Executor<'_>, id: i64) -> Result<Option<DeckRow>, sqlx::Error> {
    sqlx::query_as(concat!(deck_columns!(), " WHERE id = $1"))
        .bind(id)
        .fetch_optional(db)
        .await
}

/// `owner_id`'s deck with this name, ignoring case (`None`: the shipped decks, which have no
/// owner). Names are unique per owner only.
pub async fn find_by_name(
    db: impl Executor<'_>,
    owner_id: Option<i64>,
    name: &str,
) -> Result<Option<DeckRow>, sqlx::Error> {
    sqlx::query_as(concat!(
        deck_columns!(),
        " WHERE COALESCE(owner_id, 0) = COALESCE($1, 0) AND name = $2"
    ))
    .bind(owner_id)
    .bind(name)
    .fetch_optional(db)
    .await
}

/// Creates a deck.
pub async fn create(
    db: impl Executor<'_>,
    name: &str,
    description: &str,
    owner_id: Option<i64>,
    public: bool,
    now: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO decks (name, description, owner_id, public, created_at)
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(name)
    .bind(description)
    .bind(owner_id)
    .bind(i64::from(public))
    .bind(now)
    .fetch_one(db)
    .await
}

/// The next free position at the end of a deck.
pub async fn next_position(db: impl Executor<'_>, deck_id: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COALESCE(MAX(position), 0) + 1 FROM cards WHERE deck_id = $1")
        .bind(deck_id)
        .fetch_one(db)
        .await
}

/// Adds a basic card unless the deck already has one with the same front and back; returns
/// its id if it was added.
pub async fn add_card_if_absent(
    db: impl Executor<'_>,
    deck_id: i64,
    front: &str,
    back: &str,
    format: &str,
    position: i64,
    now: i64,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO cards (deck_id, front, back, position, created_at, updated_at, format)
         VALUES ($1, $2, $3, $4, $5, $5, $6)
         ON CONFLICT DO NOTHING
         RETURNING id",
    )
    .bind(deck_id)
    .bind(front)
    .bind(back)
    .bind(position)
    .bind(now)
    .bind(format)
    .fetch_optional(db)
    .await
}

/// Adds a generated card (its problems come from practice family `generator`) unless the
/// deck already has it; returns whether it was added.
pub async fn add_generated_card_if_absent(
    db: impl Executor<'_>,
    deck_id: i64,
    front: &str,
    back: &str,
    generator: &str,
    position: i64,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO cards (deck_id, front, back, kind, generator, position, created_at, updated_at)
         VALUES ($1, $2, $3, 'generated', $4, $5, $6, $6)
         ON CONFLICT DO NOTHING",
    )
    .bind(deck_id)
    .bind(front)
    .bind(back)
    .bind(generator)
    .bind(position)
    .bind(now)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A deck's cards in order.
pub async fn cards(db: impl Executor<'_>, deck_id: i64) -> Result<Vec<CardRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, deck_id, front, back, kind, generator, position, tags, format FROM cards
         WHERE deck_id = $1 ORDER BY position, id",
    )
    .bind(deck_id)
    .fetch_all(db)
    .await
}

/// The filter of the deck editor's search: the text in a card's front, back or tags, any
/// ASCII case (`instr`, not `LIKE`, so `%` and `_` are searched for as themselves).
/// A macro, not a constant, so the queries stay `&'static str` literals (`concat!`).
macro_rules! matches_search {
    () => {
        "($2 = '' OR instr(lower(front), lower($2)) > 0
          OR instr(lower(back), lower($2)) > 0 OR instr(lower(tags), lower($2)) > 0)"
    };
}

/// How many of a deck's cards match `search` (all of them when it is empty).
pub async fn count_matching(db: &Pool, deck_id: i64, search: &str) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(concat!(
        "SELECT COUNT(*) FROM cards WHERE deck_id = $1 AND ",
        matches_search!()
    ))
    .bind(deck_id)
    .bind(search)
    .fetch_one(db)
    .await
}

/// Page `offset`..`offset + limit` of a deck's cards in order, only those matching `search`
/// (all when empty).
pub async fn cards_page(
    db: &Pool,
    deck_id: i64,
    search: &str,
    offset: i64,
    limit: i64,
) -> Result<Vec<CardRow>, sqlx::Error> {
    sqlx::query_as(concat!(
        "SELECT id, deck_id, front, back, kind, generator, position, tags, format FROM cards
         WHERE deck_id = $1 AND ",
        matches_search!(),
        " ORDER BY position, id LIMIT $4 OFFSET $3"
    ))
    .bind(deck_id)
    .bind(search)
    .bind(offset)
    .bind(limit)
    .fetch_all(db)
    .await
}

/// How many of the deck's cards matching `search` come before `card_id` in order, or `None`
/// when the card does not match: where the editor finds it.
pub async fn card_rank(
    db: &Pool,
    deck_id: i64,
    search: &str,
    card_id: i64,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(concat!(
        "SELECT (SELECT COUNT(*) FROM cards AS c WHERE c.deck_id = $1 AND ",
        matches_search!(),
        " AND (c.position, c.id) < (me.position, me.id))
         FROM cards AS me
         WHERE me.id = $3 AND me.id IN (SELECT id FROM cards WHERE deck_id = $1 AND ",
        matches_search!(),
        ")"
    ))
    .bind(deck_id)
    .bind(search)
    .bind(card_id)
    .fetch_optional(db)
    .await
}

/// One card.
pub async fn card(db: impl Executor<'_>, card_id: i64) -> Result<Option<CardRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, deck_id, front, back, kind, generator, position, tags, format FROM cards WHERE id = $1",
    )
    .bind(card_id)
    .fetch_optional(db)
    .await
}

/// Renames a deck and sets its description.
pub async fn update(
    db: impl Executor<'_>,
    id: i64,
    name: &str,
    description: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE decks SET name = $2, description = $3 WHERE id = $1")
        .bind(id)
        .bind(name)
        .bind(description)
        .execute(db)
        .await?;
    Ok(())
}

/// Deletes a deck with its cards and everyone's progress on them (foreign keys cascade).
pub async fn delete(db: impl Executor<'_>, id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM decks WHERE id = $1")
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

/// Adds a basic card at the end of a deck; returns its id.
pub async fn add_card(
    db: impl Executor<'_>,
    deck_id: i64,
    front: &str,
    back: &str,
    tags: &str,
    format: &str,
    now: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO cards (deck_id, front, back, tags, position, created_at, updated_at, format)
         VALUES ($1, $2, $3, $4, (SELECT COALESCE(MAX(position), 0) + 1 FROM cards WHERE deck_id = $1), $5, $5, $6)
         RETURNING id",
    )
    .bind(deck_id)
    .bind(front)
    .bind(back)
    .bind(tags)
    .bind(now)
    .bind(format)
    .fetch_one(db)
    .await
}

/// Changes a card's text and tags; its id, and so every student's progress on it, stays.
pub async fn update_card(
    db: impl Executor<'_>,
    id: i64,
    front: &str,
    back: &str,
    tags: &str,
    format: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE cards SET front = $2, back = $3, tags = $4, updated_at = $5, format = $6
         WHERE id = $1",
    )
    .bind(id)
    .bind(front)
    .bind(back)
    .bind(tags)
    .bind(now)
    .bind(format)
    .execute(db)
    .await?;
    Ok(())
}

/// Deletes a card and everyone's progress on it.
pub async fn delete_card(db: impl Executor<'_>, id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM cards WHERE id = $1")
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

/// Swaps a card with its neighbour before (`up`) or after it in the deck; false at an end.
pub async fn move_card(db: impl Executor<'_>, id: i64, up: bool) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "WITH me AS (SELECT id, deck_id, position FROM cards WHERE id = $1),
         other AS (
            SELECT c.id, c.position FROM cards c, me
            WHERE c.deck_id = me.deck_id
              AND (($2 = 1 AND c.position < me.position) OR ($2 = 0 AND c.position > me.position))
            ORDER BY CASE WHEN $2 = 1 THEN -c.position ELSE c.position END LIMIT 1)
         UPDATE cards SET position = CASE
             WHEN id = (SELECT id FROM me) THEN (SELECT position FROM other)
             ELSE (SELECT position FROM me) END
         WHERE id IN ((SELECT id FROM me), (SELECT id FROM other)) AND EXISTS (SELECT 1 FROM other)",
    )
    .bind(id)
    .bind(i64::from(up))
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 2)
}
