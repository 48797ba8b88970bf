//! Anki collections (schema 11, the layout of `collection.anki2`): reading the notes of an
//! imported package, and writing a collection for an exported one. Each uses its own SQLite
//! file in the temporary folder, removed afterwards.

use futures_util::TryStreamExt;
use serde_json::json;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{Connection, SqliteConnection};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub use crate::import::apkg::{NoteType, PackageNote};

/// A temporary file removed when dropped.
struct TempFile(PathBuf);

impl TempFile {
    fn new(suffix: &str) -> Self {
        Self(std::env::temp_dir().join(format!(
            "studyhall-{}{suffix}",
            hex::encode(rand::random::<[u8; 12]>())
        )))
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        for extra in ["", "-journal", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{extra}", self.0.display()));
        }
    }
}

/// The most notes a package may hold (a course deck has hundreds; 300,000 tiny notes in a
/// 1 MB package once held the site's writer for seconds).
pub const MAX_NOTES: i64 = 20_000;
/// The most text all the notes may hold together.
pub const MAX_NOTES_BYTES: usize = 16 * 1024 * 1024;
/// How long reading a package's collection may take before it is abandoned.
const READ_BUDGET: Duration = Duration::from_secs(2);
/// The longest string or blob SQLite will make while reading a package (`SQLITE_LIMIT_LENGTH`):
/// far above any card's text, far below what a crafted expression could build.
const MAX_VALUE_BYTES: i32 = 1024 * 1024;
/// The longest default a column of `notes` may declare. Anki's own declares none. A default is
/// stored once, in the schema, and read as the value of every row stored without that column:
/// a 90 KB default over 20,000 two-byte rows made 1.8 GB of text to copy and sort, which held
/// a core until the read budget ran out (1.1 to 1.6 s of CPU per upload).
pub const MAX_DEFAULT_BYTES: i64 = 1024;

/// Why a package's collection was refused.
#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    /// The collection breaks one of the limits above, or is shaped to attack the reader.
    #[error("{0}")]
    Refused(String),
    /// SQLite could not read it.
    #[error("the Anki collection could not be read: {}", describe(.0))]
    Unreadable(#[from] sqlx::Error),
}

/// SQLite's own words for what is wrong with a file, without the driver's internals (type
/// names, error codes).
fn describe(e: &sqlx::Error) -> String {
    match e.as_database_error() {
        Some(db) if db.message().contains("interrupt") => format!(
            "reading it took longer than {} seconds",
            READ_BUDGET.as_secs()
        ),
        Some(db) => db.message().to_owned(),
        None => "it is damaged or not an Anki collection".to_owned(),
    }
}

/// Sets SQLite's limits for a connection to an untrusted file, as SQLite's own "defense
/// against the dark arts" advises.
async fn limit_untrusted(conn: &mut SqliteConnection) -> Result<(), sqlx::Error> {
    use libsqlite3_sys as ffi;
    let mut handle = conn.lock_handle().await?;
    let db = handle.as_raw_handle().as_ptr();
    for (limit, value) in [
        (ffi::SQLITE_LIMIT_LENGTH, MAX_VALUE_BYTES),
        (ffi::SQLITE_LIMIT_SQL_LENGTH, 100_000),
        (ffi::SQLITE_LIMIT_COLUMN, 100),
        (ffi::SQLITE_LIMIT_EXPR_DEPTH, 10),
        (ffi::SQLITE_LIMIT_COMPOUND_SELECT, 3),
        (ffi::SQLITE_LIMIT_VDBE_OP, 25_000),
        (ffi::SQLITE_LIMIT_FUNCTION_ARG, 8),
        (ffi::SQLITE_LIMIT_ATTACHED, 0),
        (ffi::SQLITE_LIMIT_LIKE_PATTERN_LENGTH, 50),
        (ffi::SQLITE_LIMIT_VARIABLE_NUMBER, 10),
        (ffi::SQLITE_LIMIT_TRIGGER_DEPTH, 10),
    ] {
        // SAFETY: `db` is this connection's open handle, held locked for the duration, and
        // sqlite3_limit only sets an integer on it.
        unsafe {
            ffi::sqlite3_limit(db, limit, value);
        }
    }
    let deadline = Instant::now() + READ_BUDGET;
    handle.set_progress_handler(1000, move || Instant::now() < deadline);
    Ok(())
}

/// The fields of every note of a collection, in note order, split on Anki's field separator
/// (see [`read_package`], which also reads each note's type).
pub async fn read_notes(collection: &[u8]) -> Result<Vec<Vec<String>>, PackageError> {
    let (notes, _) = read_package(collection).await?;
    Ok(notes.into_iter().map(|n| n.fields).collect())
}

/// The most note types a package may define.
const MAX_NOTE_TYPES: i64 = 1_000;
/// The most text the note types' names, fields and templates may hold together.
const MAX_NOTE_TYPES_BYTES: usize = 8 * 1024 * 1024;

/// Every note of a collection, in note order, with its type's id and its fields split on
/// Anki's field separator; and the collection's note types (`notetypes`, `fields` and
/// `templates` in the modern schema, `col.models` in the legacy one; none when it has
/// neither).
///
/// The collection is a file an uploader made, so it is treated as hostile: opened read-only
/// with `trusted_schema` off, `notes` must be a plain table (a view or a generated column
/// would run the uploader's SQL), SQLite's length and depth limits are lowered, a progress
/// handler abandons the read after [`READ_BUDGET`], and the note count and total text are
/// checked before anything is kept.
pub async fn read_package(
    collection: &[u8],
) -> Result<(Vec<PackageNote>, Vec<NoteType>), PackageError> {
    let file = TempFile::new(".anki2");
    write_private(&file.0, collection).map_err(sqlx::Error::Io)?;
    let mut conn = SqliteConnection::connect_with(
        &SqliteConnectOptions::new()
            .filename(&file.0)
            .read_only(true)
            .pragma("trusted_schema", "OFF")
            .pragma("cell_size_check", "ON")
            .pragma("mmap_size", "0"),
    )
    .await?;
    let result = read_checked_notes(&mut conn).await;
    conn.close().await?;
    if let Err(PackageError::Unreadable(e)) = &result {
        tracing::warn!(error = %e, "an uploaded Anki collection could not be read");
    }
    if result.is_err() {
        give_back_memory();
    }
    result
}

/// Hands freed heap pages back to the system after a refused package. glibc keeps what a
/// thread freed in that thread's arena for reuse, and SQLite's and the unpacker's buffers for a
/// crafted package can run to tens of MiB on threads that rarely allocate again. Only after a
/// refusal: a trim walks every arena, a few milliseconds that an accepted import need not pay.
fn give_back_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim takes no pointers; it only returns free pages of glibc's own arenas.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Whether the collection has table `name` (any case), refusing one that is not a plain
/// table (a view, a virtual table or computed columns would run the uploader's SQL on every
/// read) or that declares a long default (read as the value of every row stored without it).
async fn plain_table(conn: &mut SqliteConnection, name: &str) -> Result<bool, PackageError> {
    let refused = |m: String| PackageError::Refused(m);
    let shape: Option<(String, String)> = sqlx::query_as(
        "SELECT type, COALESCE(sql, '') FROM sqlite_schema WHERE name = ?1 COLLATE NOCASE",
    )
    .bind(name)
    .fetch_optional(&mut *conn)
    .await?;
    match shape {
        None => return Ok(false),
        Some((kind, sql))
            if kind != "table"
                || sql
                    .trim_start()
                    .to_ascii_uppercase()
                    .starts_with("CREATE VIRTUAL") =>
        {
            return Err(refused(format!(
                "the package's {name} are not a plain table"
            )));
        }
        Some(_) => {}
    }
    // table_xinfo's `hidden` is 2 or 3 for generated columns, which compute on every read.
    let generated: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM pragma_table_xinfo(?1) WHERE hidden IN (2, 3)")
            .bind(name)
            .fetch_one(&mut *conn)
            .await?;
    if generated > 0 {
        return Err(refused(format!(
            "the package's {name} table has computed columns"
        )));
    }
    // The default's text as the schema declares it: reading it evaluates nothing.
    let longest_default: i64 = sqlx::query_scalar(
        "SELECT COALESCE(MAX(LENGTH(dflt_value)), 0) FROM pragma_table_xinfo(?1)",
    )
    .bind(name)
    .fetch_one(&mut *conn)
    .await?;
    if longest_default > MAX_DEFAULT_BYTES {
        return Err(PackageError::Refused(format!(
            "the package's {name} table declares a default value of {longest_default} bytes \
             (at most {MAX_DEFAULT_BYTES} are accepted)"
        )));
    }
    Ok(true)
}

/// Whether table `table` of the collection has column `column`.
async fn has_column(
    conn: &mut SqliteConnection,
    table: &str,
    column: &str,
) -> Result<bool, PackageError> {
    let found: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM pragma_table_xinfo(?1) WHERE name = ?2 COLLATE NOCASE",
    )
    .bind(table)
    .bind(column)
    .fetch_one(&mut *conn)
    .await?;
    Ok(found > 0)
}

async fn read_checked_notes(
    conn: &mut SqliteConnection,
) -> Result<(Vec<PackageNote>, Vec<NoteType>), PackageError> {
    limit_untrusted(conn).await?;
    let refused = |m: &str| PackageError::Refused(m.to_owned());
    if !plain_table(conn, "notes").await? {
        return Err(refused("the package's collection has no notes table"));
    }
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM notes")
        .fetch_one(&mut *conn)
        .await?;
    if count > MAX_NOTES {
        return Err(PackageError::Refused(format!(
            "the package holds {count} notes; at most {MAX_NOTES} are imported at once"
        )));
    }
    // Read as bytes whatever the column holds (a crafted file may put numbers, blobs or NULL
    // there), then check the text. In stored order, which is note id order in Anki's notes
    // (`id integer primary key`): an ORDER BY could make SQLite copy every row into a sorter
    // before the first reaches the checks below.
    // A note's type where the column holds an integer (a crafted file may leave it out).
    let query = if has_column(conn, "notes", "mid").await? {
        "SELECT COALESCE(CAST(flds AS BLOB), X''),
                CASE WHEN typeof(mid) = 'integer' THEN mid END FROM notes"
    } else {
        "SELECT COALESCE(CAST(flds AS BLOB), X''), NULL FROM notes"
    };
    let mut rows = sqlx::query_as::<_, (Vec<u8>, Option<i64>)>(query).fetch(&mut *conn);
    let mut notes = Vec::new();
    let mut total = 0usize;
    while let Some((bytes, type_id)) = rows.try_next().await? {
        let fields = String::from_utf8(bytes).map_err(|_| {
            PackageError::Refused(format!("note {} is not UTF-8 text", notes.len() + 1))
        })?;
        total += fields.len();
        if total > MAX_NOTES_BYTES || notes.len() as i64 >= MAX_NOTES {
            return Err(PackageError::Refused(format!(
                "the package's notes hold more than {} MiB of text",
                MAX_NOTES_BYTES / 1024 / 1024
            )));
        }
        notes.push(PackageNote {
            type_id,
            fields: fields.split('\u{1f}').map(str::to_owned).collect(),
        });
    }
    drop(rows);
    let types = match read_note_types(conn).await {
        Ok(types) => types,
        // Types SQLite cannot read (a value past its length limit) leave the notes mapped
        // by their fields; a refusal or the time budget still ends the read.
        Err(PackageError::Unreadable(e))
            if !e
                .as_database_error()
                .is_some_and(|d| d.message().contains("interrupt")) =>
        {
            tracing::warn!(error = %e, "an uploaded Anki collection's note types could not be read");
            Vec::new()
        }
        Err(e) => return Err(e),
    };
    Ok((notes, types))
}

/// The collection's note types: the modern schema's tables when it has them, else the legacy
/// `col.models` JSON; none when it has neither (its notes are then mapped by their fields).
async fn read_note_types(conn: &mut SqliteConnection) -> Result<Vec<NoteType>, PackageError> {
    let too_many = || {
        PackageError::Refused(format!(
            "the package's note types hold more than {} MiB or number more than {MAX_NOTE_TYPES}",
            MAX_NOTE_TYPES_BYTES / 1024 / 1024
        ))
    };
    let mut total = 0usize;
    let mut types: Vec<NoteType> = Vec::new();
    if plain_table(conn, "notetypes").await?
        && plain_table(conn, "fields").await?
        && plain_table(conn, "templates").await?
    {
        let rows: Vec<(i64, String, Vec<u8>)> = sqlx::query_as(
            "SELECT id, CAST(name AS TEXT), COALESCE(CAST(config AS BLOB), X'')
             FROM notetypes LIMIT ?1",
        )
        .bind(MAX_NOTE_TYPES + 1)
        .fetch_all(&mut *conn)
        .await?;
        if rows.len() as i64 > MAX_NOTE_TYPES {
            return Err(too_many());
        }
        for (id, name, config) in rows {
            total += name.len() + config.len();
            types.push(NoteType {
                id,
                name,
                cloze: crate::import::package::notetype_is_cloze(&config),
                fields: Vec::new(),
                fronts: Vec::new(),
            });
        }
        // Read in stored order and sorted here (an ORDER BY on a crafted table could copy
        // every row into a sorter before the size checks see one).
        let mut fields: Vec<(i64, i64, String)> = Vec::new();
        let mut rows = sqlx::query_as::<_, (i64, i64, String)>(
            "SELECT ntid, ord, CAST(name AS TEXT) FROM fields",
        )
        .fetch(&mut *conn);
        while let Some(row) = rows.try_next().await? {
            total += row.2.len();
            if total > MAX_NOTE_TYPES_BYTES {
                return Err(too_many());
            }
            fields.push(row);
        }
        drop(rows);
        let mut templates: Vec<(i64, i64, String)> = Vec::new();
        let mut rows = sqlx::query_as::<_, (i64, i64, Vec<u8>)>(
            "SELECT ntid, ord, COALESCE(CAST(config AS BLOB), X'') FROM templates",
        )
        .fetch(&mut *conn);
        while let Some((ntid, ord, config)) = rows.try_next().await? {
            total += config.len();
            if total > MAX_NOTE_TYPES_BYTES {
                return Err(too_many());
            }
            templates.push((ntid, ord, crate::import::package::template_front(&config)));
        }
        drop(rows);
        fields.sort_by_key(|(ntid, ord, _)| (*ntid, *ord));
        templates.sort_by_key(|(ntid, ord, _)| (*ntid, *ord));
        let mut by_id: std::collections::HashMap<i64, &mut NoteType> =
            types.iter_mut().map(|t| (t.id, t)).collect();
        for (ntid, _, name) in fields {
            if let Some(t) = by_id.get_mut(&ntid) {
                t.fields.push(name);
            }
        }
        for (ntid, _, front) in templates {
            if let Some(t) = by_id.get_mut(&ntid) {
                t.fronts.push(front);
            }
        }
        return Ok(types);
    }
    if !plain_table(conn, "col").await? || !has_column(conn, "col", "models").await? {
        return Ok(types);
    }
    let models: Option<Vec<u8>> =
        sqlx::query_scalar("SELECT COALESCE(CAST(models AS BLOB), X'') FROM col LIMIT 1")
            .fetch_optional(&mut *conn)
            .await?;
    // An unreadable map of note types leaves the notes mapped by their fields.
    let models: serde_json::Map<String, serde_json::Value> = models
        .and_then(|m| serde_json::from_slice(&m).ok())
        .unwrap_or_default();
    if models.len() as i64 > MAX_NOTE_TYPES {
        return Err(too_many());
    }
    let names = |list: &serde_json::Value, key: &str| -> Vec<String> {
        let mut items: Vec<(i64, String)> = list
            .as_array()
            .map(|a| {
                a.iter()
                    .enumerate()
                    .map(|(i, item)| {
                        let ord = item["ord"].as_i64().unwrap_or(i as i64);
                        (ord, item[key].as_str().unwrap_or("").to_owned())
                    })
                    .collect()
            })
            .unwrap_or_default();
        items.sort_by_key(|(ord, _)| *ord);
        items.into_iter().map(|(_, v)| v).collect()
    };
    for (key, model) in &models {
        let Some(id) = model["id"]
            .as_i64()
            .or_else(|| model["id"].as_str().and_then(|s| s.parse().ok()))
            .or_else(|| key.parse().ok())
        else {
            continue;
        };
        types.push(NoteType {
            id,
            name: model["name"].as_str().unwrap_or("").to_owned(),
            cloze: model["type"].as_i64() == Some(1),
            fields: names(&model["flds"], "name"),
            fronts: names(&model["tmpls"], "qfmt"),
        });
    }
    Ok(types)
}

/// Creates `path` readable by this user only, with `bytes` in it.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(bytes)
}

const SCHEMA: &str = "
CREATE TABLE col (id integer primary key, crt integer not null, mod integer not null,
    scm integer not null, ver integer not null, dty integer not null, usn integer not null,
    ls integer not null, conf text not null, models text not null, decks text not null,
    dconf text not null, tags text not null);
CREATE TABLE notes (id integer primary key, guid text not null, mid integer not null,
    mod integer not null, usn integer not null, tags text not null, flds text not null,
    sfld text not null, csum integer not null, flags integer not null, data text not null);
CREATE TABLE cards (id integer primary key, nid integer not null, did integer not null,
    ord integer not null, mod integer not null, usn integer not null, type integer not null,
    queue integer not null, due integer not null, ivl integer not null, factor integer not null,
    reps integer not null, lapses integer not null, left integer not null, odue integer not null,
    odid integer not null, flags integer not null, data text not null);
CREATE TABLE revlog (id integer primary key, cid integer not null, usn integer not null,
    ease integer not null, ivl integer not null, lastIvl integer not null, factor integer not null,
    time integer not null, type integer not null);
CREATE TABLE graves (usn integer not null, oid integer not null, type integer not null);
CREATE INDEX ix_notes_usn ON notes (usn);
CREATE INDEX ix_cards_usn ON cards (usn);
CREATE INDEX ix_revlog_usn ON revlog (usn);
CREATE INDEX ix_cards_nid ON cards (nid);
CREATE INDEX ix_cards_sched ON cards (did, queue, due);
CREATE INDEX ix_revlog_cid ON revlog (cid);
CREATE INDEX ix_notes_csum ON notes (csum);
";

/// The first 8 hex digits of the SHA-1 of a note's sort field, as Anki computes `csum`.
fn checksum(text: &str) -> i64 {
    let digest = hex::encode(<sha1::Sha1 as sha1::Digest>::digest(text.as_bytes()));
    i64::from_str_radix(&digest[..8], 16).unwrap_or(0)
}

/// A note written to an exported collection, its fields as Anki HTML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnkiNote {
    /// A Basic note: one card.
    Basic {
        /// The Front field.
        front: String,
        /// The Back field.
        back: String,
    },
    /// A Basic and reversed note: two cards, front to back and back to front.
    Reversed {
        /// The Front field.
        front: String,
        /// The Back field.
        back: String,
    },
    /// A Cloze note: one card per deletion number.
    Cloze {
        /// The Text field, with its `{{c1::...}}` deletions.
        text: String,
        /// The Back Extra field.
        extra: String,
        /// Its deletion numbers (each a card).
        numbers: Vec<u32>,
    },
}

/// Writes a collection holding one deck of basic notes (front, back as Anki HTML) and returns
/// its bytes. `now_ms` seeds the ids, as Anki's own ids are millisecond timestamps.
pub async fn write_collection(
    deck_name: &str,
    notes: &[(String, String)],
    now_ms: i64,
) -> Result<Vec<u8>, sqlx::Error> {
    let notes: Vec<AnkiNote> = notes
        .iter()
        .map(|(front, back)| AnkiNote::Basic {
            front: front.clone(),
            back: back.clone(),
        })
        .collect();
    write_notes(deck_name, &notes, now_ms).await
}

/// Writes a collection holding one deck of `notes` (Basic and Cloze) and returns its bytes.
/// `now_ms` seeds the ids, as Anki's own ids are millisecond timestamps.
pub async fn write_notes(
    deck_name: &str,
    notes: &[AnkiNote],
    now_ms: i64,
) -> Result<Vec<u8>, sqlx::Error> {
    let file = TempFile::new(".anki2");
    // A scratch file: no journal and no syncs, and every row in one transaction through
    // sqlx's cached prepared statements (one commit per row once took 359 s for 20,000 cards).
    let mut conn = SqliteConnection::connect_with(
        &SqliteConnectOptions::new()
            .filename(&file.0)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Off)
            .synchronous(SqliteSynchronous::Off),
    )
    .await?;
    let mut tx = conn.begin().await?;
    sqlx::raw_sql(SCHEMA).execute(&mut *tx).await?;
    let (model_id, deck_id, cloze_model_id, reversed_model_id) =
        (now_ms, now_ms + 1, now_ms + 2, now_ms + 3);
    let secs = now_ms / 1000;
    let field = |name: &str, ord: i64| json!({"name": name, "ord": ord, "sticky": false, "rtl": false, "font": "Arial", "size": 20, "media": []});
    let latex_pre = "\\documentclass[12pt]{article}\n\\special{papersize=3in,5in}\n\\usepackage{amssymb,amsmath}\n\\pagestyle{empty}\n\\setlength{\\parindent}{0in}\n\\begin{document}\n";
    let models = json!({
        model_id.to_string(): {
            "id": model_id, "name": "Basic (studyhall)", "type": 0, "mod": secs, "usn": -1,
            "sortf": 0, "did": deck_id, "tags": [], "vers": [],
            "flds": [field("Front", 0), field("Back", 1)],
            "tmpls": [{"name": "Card 1", "ord": 0, "qfmt": "{{Front}}",
                       "afmt": "{{FrontSide}}<hr id=answer>{{Back}}", "did": null,
                       "bqfmt": "", "bafmt": ""}],
            "css": ".card { font-family: arial; font-size: 20px; text-align: center; }",
            "latexPre": latex_pre,
            "latexPost": "\\end{document}", "latexsvg": false,
            "req": [[0, "any", [0]]]
        },
        reversed_model_id.to_string(): {
            "id": reversed_model_id, "name": "Basic and reversed card (studyhall)", "type": 0,
            "mod": secs, "usn": -1, "sortf": 0, "did": deck_id, "tags": [], "vers": [],
            "flds": [field("Front", 0), field("Back", 1)],
            "tmpls": [{"name": "Card 1", "ord": 0, "qfmt": "{{Front}}",
                       "afmt": "{{FrontSide}}<hr id=answer>{{Back}}", "did": null,
                       "bqfmt": "", "bafmt": ""},
                      {"name": "Card 2", "ord": 1, "qfmt": "{{Back}}",
                       "afmt": "{{FrontSide}}<hr id=answer>{{Front}}", "did": null,
                       "bqfmt": "", "bafmt": ""}],
            "css": ".card { font-family: arial; font-size: 20px; text-align: center; }",
            "latexPre": latex_pre,
            "latexPost": "\\end{document}", "latexsvg": false,
            "req": [[0, "any", [0]], [1, "any", [1]]]
        },
        cloze_model_id.to_string(): {
            "id": cloze_model_id, "name": "Cloze (studyhall)", "type": 1, "mod": secs, "usn": -1,
            "sortf": 0, "did": deck_id, "tags": [], "vers": [],
            "flds": [field("Text", 0), field("Back Extra", 1)],
            "tmpls": [{"name": "Cloze", "ord": 0, "qfmt": "{{cloze:Text}}",
                       "afmt": "{{cloze:Text}}<br>\n{{Back Extra}}", "did": null,
                       "bqfmt": "", "bafmt": ""}],
            "css": ".card { font-family: arial; font-size: 20px; text-align: center; }\n.cloze { font-weight: bold; color: blue; }",
            "latexPre": latex_pre,
            "latexPost": "\\end{document}", "latexsvg": false
        }
    });
    let deck = |id: i64, name: &str| {
        json!({
            "id": id, "name": name, "desc": "", "mod": secs, "usn": -1, "collapsed": false,
            "browserCollapsed": false, "conf": 1, "dyn": 0, "extendNew": 0, "extendRev": 0,
            "newToday": [0, 0], "revToday": [0, 0], "lrnToday": [0, 0], "timeToday": [0, 0]
        })
    };
    let decks = json!({ "1": deck(1, "Default"), deck_id.to_string(): deck(deck_id, deck_name) });
    let dconf = json!({ "1": {
        "id": 1, "name": "Default", "mod": 0, "usn": 0, "maxTaken": 60, "autoplay": true,
        "timer": 0, "replayq": true, "dyn": false,
        "new": {"delays": [1.0, 10.0], "ints": [1, 4, 0], "initialFactor": 2500, "order": 1,
                "perDay": 20, "bury": false},
        "rev": {"perDay": 200, "ease4": 1.3, "maxIvl": 36500, "hardFactor": 1.2, "bury": false},
        "lapse": {"delays": [10.0], "mult": 0.0, "minInt": 1, "leechFails": 8, "leechAction": 1}
    }});
    let conf = json!({"nextPos": notes.len() + 1, "curDeck": 1, "curModel": model_id.to_string(),
                      "activeDecks": [1], "sortType": "noteFld", "sortBackwards": false,
                      "addToCur": true, "newSpread": 0, "collapseTime": 1200, "timeLim": 0,
                      "estTimes": true, "dueCounts": true});
    sqlx::query("INSERT INTO col VALUES (1, ?1, ?2, ?2, 11, 0, 0, 0, ?3, ?4, ?5, ?6, '{}')")
        .bind(secs)
        .bind(now_ms)
        .bind(conf.to_string())
        .bind(models.to_string())
        .bind(decks.to_string())
        .bind(dconf.to_string())
        .execute(&mut *tx)
        .await?;
    // Every note in one statement, every card in another: the rows travel as JSON arrays of
    // named objects. A note's id leaves room below the next note's for its cards' ids.
    let mut note_rows = Vec::with_capacity(notes.len());
    let mut card_rows = Vec::with_capacity(notes.len());
    let mut next_id = now_ms + 10;
    for (position, note) in (1i64..).zip(notes) {
        let (mid, flds, sort, ords) = match note {
            AnkiNote::Basic { front, back } => {
                (model_id, format!("{front}\u{1f}{back}"), front, vec![0])
            }
            AnkiNote::Reversed { front, back } => (
                reversed_model_id,
                format!("{front}\u{1f}{back}"),
                front,
                vec![0, 1],
            ),
            AnkiNote::Cloze {
                text,
                extra,
                numbers,
            } => (
                cloze_model_id,
                format!("{text}\u{1f}{extra}"),
                text,
                numbers
                    .iter()
                    .map(|n| i64::from(n.saturating_sub(1)))
                    .collect(),
            ),
        };
        let note_id = next_id;
        next_id += 1;
        note_rows.push(json!({
            "id": note_id,
            "guid": hex::encode(rand::random::<[u8; 8]>()),
            "mid": mid,
            "flds": flds,
            "sfld": sort,
            "csum": checksum(&super::super::import::apkg::html_to_text(sort)),
        }));
        for ord in ords {
            card_rows.push(json!({"id": next_id, "nid": note_id, "ord": ord, "due": position}));
            next_id += 1;
        }
    }
    sqlx::query(
        "INSERT INTO notes SELECT value ->> '$.id', value ->> '$.guid', value ->> '$.mid', ?2,
                -1, '', value ->> '$.flds', value ->> '$.sfld', value ->> '$.csum', 0, ''
         FROM json_each(?1)",
    )
    .bind(serde_json::Value::Array(note_rows).to_string())
    .bind(secs)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO cards SELECT value ->> '$.id', value ->> '$.nid', ?2, value ->> '$.ord',
                ?3, -1, 0, 0, value ->> '$.due', 0, 0, 0, 0, 0, 0, 0, 0, ''
         FROM json_each(?1)",
    )
    .bind(serde_json::Value::Array(card_rows).to_string())
    .bind(deck_id)
    .bind(secs)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    conn.close().await?;
    std::fs::read(&file.0).map_err(sqlx::Error::Io)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    /// A collection file made by `sql`, as bytes.
    async fn collection_from_sql(sql: String) -> Vec<u8> {
        let file = TempFile::new(".anki2");
        let mut conn = SqliteConnection::connect_with(
            &SqliteConnectOptions::new()
                .filename(&file.0)
                .create_if_missing(true),
        )
        .await
        .unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
        std::fs::read(&file.0).unwrap()
    }

    #[tokio::test]
    async fn a_huge_column_default_is_refused_before_a_row_is_read() {
        // 20,000 rows stored before the column was added: each reads as the 90 KB default, and
        // sorting them by a non-rowid id once copied 1.8 GB until the read budget ran out.
        let collection = collection_from_sql(format!(
            "CREATE TABLE notes (id INTEGER);
             WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r LIMIT 20000)
             INSERT INTO notes (id) SELECT x FROM r;
             ALTER TABLE notes ADD COLUMN flds TEXT DEFAULT '{}';",
            "x".repeat(90_000)
        ))
        .await;
        assert!(collection.len() < 1024 * 1024, "{} bytes", collection.len());
        // Refused by the schema check, not interrupted by the time budget or stopped by
        // SQLite's length limit after building values.
        match read_notes(&collection).await {
            Err(PackageError::Refused(message)) => {
                assert!(
                    message.contains("default value of 90002 bytes"),
                    "{message}"
                )
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn small_defaults_and_rows_out_of_id_order_are_still_read() {
        let collection = collection_from_sql(
            "CREATE TABLE notes (id INTEGER PRIMARY KEY, flds TEXT NOT NULL DEFAULT '',
                 tags TEXT DEFAULT 'imported');
             INSERT INTO notes (id, flds) VALUES (2, 'b' || char(31) || 'B'), (1, 'a' || char(31) || 'A');"
                .to_owned(),
        )
        .await;
        let notes = read_notes(&collection).await.unwrap();
        assert_eq!(notes, vec![vec!["a", "A"], vec!["b", "B"]]);
    }

    #[tokio::test]
    async fn note_types_are_read_from_either_schema_and_held_to_the_same_checks() {
        // The modern schema's tables, one type of two templates.
        let collection = collection_from_sql(
            "CREATE TABLE notes (id INTEGER PRIMARY KEY, mid INTEGER, flds TEXT);
             INSERT INTO notes VALUES (1, 7, 'dog' || char(31) || 'Hund');
             CREATE TABLE notetypes (id INTEGER PRIMARY KEY, name TEXT, config BLOB);
             INSERT INTO notetypes VALUES (7, 'Both ways', X'');
             CREATE TABLE fields (ntid INTEGER, ord INTEGER, name TEXT);
             INSERT INTO fields VALUES (7, 1, 'Back'), (7, 0, 'Front');
             CREATE TABLE templates (ntid INTEGER, ord INTEGER, config BLOB);
             INSERT INTO templates VALUES (7, 1, X'0a087b7b4261636b7d7d'),
                                          (7, 0, X'0a097b7b46726f6e747d7d');"
                .to_owned(),
        )
        .await;
        let (notes, types) = read_package(&collection).await.unwrap();
        assert_eq!(notes[0].type_id, Some(7));
        assert_eq!(types.len(), 1);
        assert_eq!(types[0].fields, vec!["Front", "Back"]);
        assert_eq!(types[0].fronts, vec!["{{Front}}", "{{Back}}"]);
        assert!(!types[0].cloze);
        // A view where a table belongs is refused, as for notes.
        let collection = collection_from_sql(
            "CREATE TABLE notes (id INTEGER PRIMARY KEY, mid INTEGER, flds TEXT);
             INSERT INTO notes VALUES (1, 7, 'a' || char(31) || 'b');
             CREATE VIEW notetypes AS SELECT 7 AS id, 'x' AS name, X'' AS config;
             CREATE TABLE fields (ntid INTEGER, ord INTEGER, name TEXT);
             CREATE TABLE templates (ntid INTEGER, ord INTEGER, config BLOB);"
                .to_owned(),
        )
        .await;
        match read_package(&collection).await {
            Err(PackageError::Refused(m)) => assert!(m.contains("notetypes"), "{m}"),
            other => panic!("expected a refusal, got {other:?}"),
        }
        // The legacy schema's JSON, a cloze type.
        let collection = collection_from_sql(
            r#"CREATE TABLE notes (id INTEGER PRIMARY KEY, mid INTEGER, flds TEXT);
             INSERT INTO notes VALUES (1, 9, '{{c1::x}}' || char(31) || '');
             CREATE TABLE col (id INTEGER PRIMARY KEY, models TEXT);
             INSERT INTO col VALUES (1, '{"9": {"id": 9, "name": "Cloze", "type": 1,
                 "flds": [{"name": "Text", "ord": 0}, {"name": "Back Extra", "ord": 1}],
                 "tmpls": [{"qfmt": "{{cloze:Text}}", "ord": 0}]}}');"#
                .to_owned(),
        )
        .await;
        let (_, types) = read_package(&collection).await.unwrap();
        assert_eq!(types.len(), 1);
        assert!(types[0].cloze);
        assert_eq!(types[0].fields, vec!["Text", "Back Extra"]);
    }
}
