//! Anki collections (schema 11, the layout of `collection.anki2`): reading the notes of an
//! imported package, and writing a collection for an exported one. Each uses its own SQLite
//! file in the temporary folder, removed afterwards.

use serde_json::json;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Connection, SqliteConnection};
use std::path::PathBuf;

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

/// The fields of every note of a collection, in note order, split on Anki's field separator.
pub async fn read_notes(collection: &[u8]) -> Result<Vec<Vec<String>>, sqlx::Error> {
    let file = TempFile::new(".anki2");
    std::fs::write(&file.0, collection).map_err(sqlx::Error::Io)?;
    let mut conn = SqliteConnection::connect_with(
        &SqliteConnectOptions::new()
            .filename(&file.0)
            .read_only(true),
    )
    .await?;
    let rows: Vec<String> = sqlx::query_scalar("SELECT flds FROM notes ORDER BY id")
        .fetch_all(&mut conn)
        .await?;
    conn.close().await?;
    Ok(rows
        .into_iter()
        .map(|f| f.split('\u{1f}').map(str::to_owned).collect())
        .collect())
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

/// Writes a collection holding one deck of basic notes (front, back as Anki HTML) and returns
/// its bytes. `now_ms` seeds the ids, as Anki's own ids are millisecond timestamps.
pub async fn write_collection(
    deck_name: &str,
    notes: &[(String, String)],
    now_ms: i64,
) -> Result<Vec<u8>, sqlx::Error> {
    let file = TempFile::new(".anki2");
    let mut conn = SqliteConnection::connect_with(
        &SqliteConnectOptions::new()
            .filename(&file.0)
            .create_if_missing(true),
    )
    .await?;
    sqlx::raw_sql(SCHEMA).execute(&mut conn).await?;
    let (model_id, deck_id) = (now_ms, now_ms + 1);
    let secs = now_ms / 1000;
    let field = |name: &str, ord: i64| json!({"name": name, "ord": ord, "sticky": false, "rtl": false, "font": "Arial", "size": 20, "media": []});
    let models = json!({ model_id.to_string(): {
        "id": model_id, "name": "Basic (studyhall)", "type": 0, "mod": secs, "usn": -1,
        "sortf": 0, "did": deck_id, "tags": [], "vers": [],
        "flds": [field("Front", 0), field("Back", 1)],
        "tmpls": [{"name": "Card 1", "ord": 0, "qfmt": "{{Front}}",
                   "afmt": "{{FrontSide}}<hr id=answer>{{Back}}", "did": null,
                   "bqfmt": "", "bafmt": ""}],
        "css": ".card { font-family: arial; font-size: 20px; text-align: center; }",
        "latexPre": "\\documentclass[12pt]{article}\n\\special{papersize=3in,5in}\n\\usepackage{amssymb,amsmath}\n\\pagestyle{empty}\n\\setlength{\\parindent}{0in}\n\\begin{document}\n",
        "latexPost": "\\end{document}", "latexsvg": false,
        "req": [[0, "any", [0]]]
    }});
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
        .execute(&mut conn)
        .await?;
    for (i, (front, back)) in notes.iter().enumerate() {
        let i = i64::try_from(i).unwrap_or(0);
        let note_id = now_ms + 10 + i;
        let guid = hex::encode(rand::random::<[u8; 8]>());
        sqlx::query("INSERT INTO notes VALUES (?1, ?2, ?3, ?4, -1, '', ?5, ?6, ?7, 0, '')")
            .bind(note_id)
            .bind(guid)
            .bind(model_id)
            .bind(secs)
            .bind(format!("{front}\u{1f}{back}"))
            .bind(front)
            .bind(checksum(&super::super::import::apkg::html_to_text(front)))
            .execute(&mut conn)
            .await?;
        sqlx::query("INSERT INTO cards VALUES (?1, ?2, ?3, 0, ?4, -1, 0, 0, ?5, 0, 0, 0, 0, 0, 0, 0, 0, '')")
            .bind(note_id)
            .bind(note_id)
            .bind(deck_id)
            .bind(secs)
            .bind(i + 1)
            .execute(&mut conn)
            .await?;
    }
    conn.close().await?;
    std::fs::read(&file.0).map_err(sqlx::Error::Io)
}
