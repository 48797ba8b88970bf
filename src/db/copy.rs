//! `studyhall migrate-to`: copies a SQLite site into an empty PostgreSQL database, every table
//! (users and their sessions, decks, cards, classes, the whole review history, reports,
//! practice attempts, rollups, tallies, fits, exams) in one PostgreSQL transaction, then
//! checks that every table holds as many rows on both sides before it commits.
//!
//! The tables are read from SQLite's own schema, so a table added by a later migration is
//! copied without a change here, and a table PostgreSQL lacks stops the copy with its name.
//! One is not copied: `queue_versions`, SQLite's check of kept review queues (migration 0041),
//! which PostgreSQL leaves empty (its servers hear of changes by notice).
//! Values are copied with their declared type (integers, reals, text, bytes), exactly.

use super::{Backend, Pool};
use futures_util::TryStreamExt;
use sqlx::Row;

/// Tables in an order that satisfies their foreign keys (a table not named here comes after
/// them, in name order).
const ORDER: &[&str] = &[
    "users",
    "sessions",
    "decks",
    "cloze_notes",
    "cards",
    "media",
    "card_media",
    "review_states",
    "reviews",
    "app_meta",
    "practice_attempts",
    "review_days",
    "classes",
    "class_members",
    "class_decks",
    "card_reports",
    "pending_imports",
    "class_fits",
    "class_exams",
    "class_exam_decks",
    "student_fits",
];

/// The triggers that keep the tallies: off while the tallies themselves are copied.
const TALLY_TRIGGERS: &[(&str, &str)] = &[
    ("review_states", "review_states_tally"),
    ("cards", "cards_tally_insert"),
    ("cards", "cards_tally_delete"),
    ("cards", "cards_tally_move"),
];

/// Rows per INSERT statement (PostgreSQL takes at most 65,535 parameters in one).
const ROWS_PER_INSERT: usize = 500;

/// What a copy did: each table with its rows on both sides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyReport {
    /// (table, rows in the SQLite file, rows in PostgreSQL), in copy order.
    pub tables: Vec<(String, i64, i64)>,
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Integer,
    Real,
    Text,
    Blob,
}

#[derive(Debug)]
struct Table {
    name: String,
    columns: Vec<(String, Kind)>,
}

enum Value {
    Integer(Option<i64>),
    Real(Option<f64>),
    Text(Option<String>),
    Blob(Option<Vec<u8>>),
}

/// Why a copy did not happen: a refusal names what is wrong with the source or target in a
/// sentence of its own; a database error is passed through.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

fn refuse(message: String) -> CopyError {
    CopyError::Refused(message)
}

/// SQLite's tables (not its own, nor sqlx's record of migrations), in copy order.
async fn tables(source: &Pool) -> Result<Vec<Table>, sqlx::Error> {
    let mut names: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_schema WHERE type = 'table'
           AND name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations'
           AND name <> 'queue_versions' ORDER BY name",
    )
    .fetch_all(source)
    .await?;
    let rank = |name: &str| ORDER.iter().position(|t| *t == name).unwrap_or(ORDER.len());
    names.sort_by_key(|name| rank(name));
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        let columns: Vec<(String, String)> =
            sqlx::query_as("SELECT name, type FROM pragma_table_info($1) ORDER BY cid")
                .bind(&name)
                .fetch_all(source)
                .await?;
        let columns = columns
            .into_iter()
            .map(|(column, declared)| {
                // SQLite's affinity rules, for the types this schema declares.
                let declared = declared.to_ascii_uppercase();
                let kind = if declared.contains("INT") {
                    Kind::Integer
                } else if declared.contains("CHAR") || declared.contains("TEXT") {
                    Kind::Text
                } else if declared.contains("BLOB") {
                    Kind::Blob
                } else {
                    Kind::Real
                };
                (column, kind)
            })
            .collect();
        out.push(Table { name, columns });
    }
    Ok(out)
}

async fn count(db: impl super::Executor<'_>, table: &str) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT COUNT(*) FROM \"{table}\""
    )))
    .fetch_one(db)
    .await
}

/// Copies the SQLite store `source` into the PostgreSQL store `target`, which must hold no
/// rows in any of the tables (its schema is migrated already). Nothing is written unless
/// every table was copied and counts the same on both sides.
pub async fn sqlite_to_postgres(source: &Pool, target: &Pool) -> Result<CopyReport, CopyError> {
    if Backend::of(source) != Backend::Sqlite {
        return Err(refuse("the site to copy must be a SQLite file".to_owned()));
    }
    if Backend::of(target) != Backend::Postgres {
        return Err(refuse(
            "the target must be a postgres:// URL of an empty PostgreSQL database".to_owned(),
        ));
    }
    let tables = tables(source).await?;
    let mut tx = target.begin().await?;
    let mut held = Vec::new();
    for table in &tables {
        let rows = count(&mut *tx, &table.name).await.map_err(|e| {
            refuse(format!(
                "the PostgreSQL database has no usable table {:?} ({e}); is it a studyhall database of this version?",
                table.name
            ))
        })?;
        if rows > 0 {
            held.push(format!("{} {}", rows, table.name));
        }
    }
    if !held.is_empty() {
        return Err(refuse(format!(
            "the PostgreSQL database is not empty (it holds {}); migrate-to copies into an empty database only",
            held.join(", ")
        )));
    }
    for (table, trigger) in TALLY_TRIGGERS {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "ALTER TABLE {table} DISABLE TRIGGER {trigger}"
        )))
        .execute(&mut *tx)
        .await?;
    }
    let mut report = CopyReport { tables: Vec::new() };
    for table in &tables {
        copy_table(source, &mut tx, table).await?;
        let copied = count(&mut *tx, &table.name).await?;
        let rows = count(source, &table.name).await?;
        report.tables.push((table.name.clone(), rows, copied));
    }
    for (table, trigger) in TALLY_TRIGGERS {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "ALTER TABLE {table} ENABLE TRIGGER {trigger}"
        )))
        .execute(&mut *tx)
        .await?;
    }
    // Identity columns start after the copied ids.
    for table in &tables {
        if table.columns.iter().any(|(c, _)| c == "id") {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT CAST(setval(pg_get_serial_sequence('{0}', 'id'),
                                    COALESCE(MAX(id), 0) + 1, false) AS BIGINT) FROM {0}",
                table.name
            )))
            .execute(&mut *tx)
            .await?;
        }
    }
    let differ: Vec<String> = report
        .tables
        .iter()
        .filter(|(_, rows, copied)| rows != copied)
        .map(|(name, rows, copied)| format!("{name}: {rows} in SQLite, {copied} copied"))
        .collect();
    if !differ.is_empty() {
        return Err(refuse(format!(
            "the row counts differ, nothing was written: {}",
            differ.join("; ")
        )));
    }
    // Planner statistics for the copied tables now, rather than when autovacuum comes round:
    // the first requests on the new site get the plans the old one had. Inside the
    // transaction, so that a failure here leaves the target empty rather than a copy the
    // command reports as failed.
    sqlx::query("ANALYZE").execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(report)
}

/// Copies one table in batches of multi-row INSERTs (history in id order, for `undoes`).
async fn copy_table(source: &Pool, tx: &mut super::Tx, table: &Table) -> Result<(), sqlx::Error> {
    let names: Vec<String> = table
        .columns
        .iter()
        .map(|(c, _)| format!("\"{c}\""))
        .collect();
    let order = if table.columns.iter().any(|(c, _)| c == "id") {
        " ORDER BY id"
    } else {
        ""
    };
    let select = format!("SELECT {} FROM \"{}\"{order}", names.join(", "), table.name);
    // Streamed, a batch at a time: the history of a large course need not fit in memory.
    let mut rows = sqlx::query(sqlx::AssertSqlSafe(select)).fetch(source);
    let mut batch = Vec::with_capacity(ROWS_PER_INSERT);
    while let Some(row) = rows.try_next().await? {
        batch.push(row);
        if batch.len() == ROWS_PER_INSERT {
            insert_batch(tx, table, &names, &batch).await?;
            batch.clear();
        }
    }
    if !batch.is_empty() {
        insert_batch(tx, table, &names, &batch).await?;
    }
    Ok(())
}

async fn insert_batch(
    tx: &mut super::Tx,
    table: &Table,
    names: &[String],
    batch: &[sqlx::any::AnyRow],
) -> Result<(), sqlx::Error> {
    let mut values = Vec::with_capacity(batch.len() * names.len());
    let mut tuples = Vec::with_capacity(batch.len());
    for row in batch {
        let mut placeholders = Vec::with_capacity(names.len());
        for (i, (_, kind)) in table.columns.iter().enumerate() {
            values.push(match kind {
                Kind::Integer => Value::Integer(row.try_get(i)?),
                Kind::Real => Value::Real(row.try_get(i)?),
                Kind::Text => Value::Text(row.try_get(i)?),
                Kind::Blob => Value::Blob(row.try_get(i)?),
            });
            placeholders.push(format!("${}", values.len()));
        }
        tuples.push(format!("({})", placeholders.join(", ")));
    }
    let insert = format!(
        "INSERT INTO \"{}\" ({}) VALUES {}",
        table.name,
        names.join(", "),
        tuples.join(", ")
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(insert));
    for value in values {
        query = match value {
            Value::Integer(v) => query.bind(v),
            Value::Real(v) => query.bind(v),
            Value::Text(v) => query.bind(v),
            Value::Blob(v) => query.bind(v),
        };
    }
    query.execute(&mut **tx).await?;
    Ok(())
}
