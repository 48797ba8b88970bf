//! The two schemas stay in step: a database migrated on SQLite and one migrated on PostgreSQL
//! hold the same tables, columns (type family, nullability, primary key), indexes and foreign
//! keys, so a migration written for one backend without the other fails here.

use crate::helpers::{new_postgres_database, require_postgres};
use sqlx::{Connection, PgConnection, Row, SqliteConnection};
use std::collections::BTreeSet;

/// What the comparison leaves out, with the reason: the ways the two backends spell the same
/// rule differently.
const SPELLED_DIFFERENTLY: &[(&str, &str)] = &[
    (
        "index cards(deck_id,front,back) unique",
        "a card's text is unique in its deck; PostgreSQL's btree refuses keys over 2,704 bytes, \
         so it indexes md5(front), md5(back) instead",
    ),
    (
        "index cards(deck_id,<expression>,<expression>) unique",
        "the same rule on PostgreSQL",
    ),
];

/// A column type's family, as both backends store it.
fn family(declared: &str) -> &'static str {
    let t = declared.to_ascii_lowercase();
    if t.contains("int") || t == "boolean" {
        "int"
    } else if t.contains("char") || t.contains("text") || t.contains("clob") {
        "text"
    } else if t.contains("blob") || t == "bytea" {
        "blob"
    } else if t.contains("real") || t.contains("floa") || t.contains("doub") {
        "real"
    } else if t.contains("json") {
        "json"
    } else {
        "other"
    }
}

async fn sqlite_schema() -> BTreeSet<String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("schema.db");
    studyhall::db::connect(path.clone())
        .await
        .unwrap()
        .close()
        .await;
    let mut conn = SqliteConnection::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'
           AND name <> '_sqlx_migrations' ORDER BY name",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    let mut out = BTreeSet::new();
    for table in tables {
        out.insert(format!("table {table}"));
        let columns = sqlx::query(
            "SELECT name, type, \"notnull\", pk FROM pragma_table_info($1) ORDER BY cid",
        )
        .bind(&table)
        .fetch_all(&mut conn)
        .await
        .unwrap();
        let mut key = Vec::new();
        for c in &columns {
            let name: String = c.get(0);
            let declared: String = c.get(1);
            let not_null: i64 = c.get(2);
            let pk: i64 = c.get(3);
            if pk > 0 {
                key.push((pk, name.clone()));
            }
            let null = if not_null != 0 || pk > 0 {
                "not null"
            } else {
                "null"
            };
            out.insert(format!(
                "column {table}.{name} {} {null}",
                family(&declared)
            ));
        }
        key.sort();
        let key: Vec<String> = key.into_iter().map(|(_, n)| n).collect();
        out.insert(format!("primary key {table}({})", key.join(",")));
        let indexes = sqlx::query(
            "SELECT name, \"unique\", partial FROM pragma_index_list($1) WHERE origin <> 'pk'",
        )
        .bind(&table)
        .fetch_all(&mut conn)
        .await
        .unwrap();
        for i in &indexes {
            let name: String = i.get(0);
            let unique: i64 = i.get(1);
            let partial: i64 = i.get(2);
            let columns: Vec<Option<String>> =
                sqlx::query_scalar("SELECT name FROM pragma_index_info($1) ORDER BY seqno")
                    .bind(&name)
                    .fetch_all(&mut conn)
                    .await
                    .unwrap();
            let columns: Vec<String> = columns
                .into_iter()
                .map(|c| c.unwrap_or_else(|| "<expression>".to_owned()))
                .collect();
            out.insert(format!(
                "index {table}({}){}{}",
                columns.join(","),
                if unique != 0 { " unique" } else { "" },
                if partial != 0 { " partial" } else { "" }
            ));
        }
        let keys = sqlx::query(
            "SELECT \"table\", \"from\", \"to\", on_delete FROM pragma_foreign_key_list($1)",
        )
        .bind(&table)
        .fetch_all(&mut conn)
        .await
        .unwrap();
        for k in &keys {
            let target: String = k.get(0);
            let from: String = k.get(1);
            let to: Option<String> = k.get(2);
            let on_delete: String = k.get(3);
            let to = to.unwrap_or_else(|| "id".to_owned());
            out.insert(format!(
                "foreign key {table}.{from} -> {target}.{to} on delete {}",
                on_delete.to_ascii_lowercase()
            ));
        }
    }
    out
}

async fn postgres_schema(url: &str) -> BTreeSet<String> {
    studyhall::db::connect(studyhall::db::Location::Postgres(url.to_owned()))
        .await
        .unwrap()
        .close()
        .await;
    let mut conn = PgConnection::connect(url).await.unwrap();
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables
          WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'
            AND table_name <> '_sqlx_migrations' ORDER BY table_name",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    let mut out = BTreeSet::new();
    for table in tables {
        out.insert(format!("table {table}"));
        let columns = sqlx::query(
            "SELECT column_name::text, data_type::text, is_nullable::text
               FROM information_schema.columns
              WHERE table_schema = current_schema() AND table_name = $1",
        )
        .bind(&table)
        .fetch_all(&mut conn)
        .await
        .unwrap();
        for c in &columns {
            let name: String = c.get(0);
            let declared: String = c.get(1);
            let nullable: String = c.get(2);
            let null = if nullable == "NO" { "not null" } else { "null" };
            out.insert(format!(
                "column {table}.{name} {} {null}",
                family(&declared)
            ));
        }
        let indexes = sqlx::query(
            "SELECT ix.indisprimary, ix.indisunique, ix.indpred IS NOT NULL,
                    (SELECT string_agg(COALESCE(a.attname::text, '<expression>'), ',' ORDER BY k.ord)
                       FROM unnest(ix.indkey) WITH ORDINALITY AS k(attnum, ord)
                       LEFT JOIN pg_attribute a
                         ON a.attrelid = ix.indrelid AND a.attnum = k.attnum AND k.attnum <> 0)
               FROM pg_index ix
               JOIN pg_class t ON t.oid = ix.indrelid
               JOIN pg_namespace n ON n.oid = t.relnamespace
              WHERE n.nspname = current_schema() AND t.relname = $1",
        )
        .bind(&table)
        .fetch_all(&mut conn)
        .await
        .unwrap();
        for i in &indexes {
            let primary: bool = i.get(0);
            let unique: bool = i.get(1);
            let partial: bool = i.get(2);
            let columns: String = i.get(3);
            if primary {
                out.insert(format!("primary key {table}({columns})"));
            } else {
                out.insert(format!(
                    "index {table}({columns}){}{}",
                    if unique { " unique" } else { "" },
                    if partial { " partial" } else { "" }
                ));
            }
        }
        if !indexes.iter().any(|i| i.get::<bool, _>(0)) {
            out.insert(format!("primary key {table}()"));
        }
        let keys = sqlx::query(
            "SELECT a.attname::text, rt.relname::text, ra.attname::text, c.confdeltype::text
               FROM pg_constraint c
               JOIN pg_class t ON t.oid = c.conrelid
               JOIN pg_namespace n ON n.oid = t.relnamespace
               JOIN pg_class rt ON rt.oid = c.confrelid
               JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
               JOIN pg_attribute ra ON ra.attrelid = c.confrelid AND ra.attnum = c.confkey[1]
              WHERE c.contype = 'f' AND n.nspname = current_schema() AND t.relname = $1",
        )
        .bind(&table)
        .fetch_all(&mut conn)
        .await
        .unwrap();
        for k in &keys {
            let from: String = k.get(0);
            let target: String = k.get(1);
            let to: String = k.get(2);
            let rule = match k.get::<String, _>(3).as_str() {
                "c" => "cascade",
                "n" => "set null",
                "d" => "set default",
                "r" => "restrict",
                _ => "no action",
            };
            out.insert(format!(
                "foreign key {table}.{from} -> {target}.{to} on delete {rule}"
            ));
        }
    }
    out
}

#[tokio::test]
#[ignore = "needs PostgreSQL: scripts/with-postgres runs it"]
async fn both_backends_migrate_to_the_same_tables_columns_indexes_and_keys() {
    let server = require_postgres();
    let url = new_postgres_database(&server).await;
    let allowed: BTreeSet<&str> = SPELLED_DIFFERENTLY.iter().map(|(line, _)| *line).collect();
    let sqlite = sqlite_schema().await;
    let postgres = postgres_schema(&url).await;
    let only_sqlite: Vec<&String> = sqlite
        .difference(&postgres)
        .filter(|l| !allowed.contains(l.as_str()))
        .collect();
    let only_postgres: Vec<&String> = postgres
        .difference(&sqlite)
        .filter(|l| !allowed.contains(l.as_str()))
        .collect();
    assert!(
        only_sqlite.is_empty() && only_postgres.is_empty(),
        "the schemas differ\nonly on SQLite:\n{only_sqlite:#?}\nonly on PostgreSQL:\n{only_postgres:#?}"
    );
    assert!(
        sqlite.len() > 50,
        "the comparison saw the schema: {}",
        sqlite.len()
    );
}

/// The first migration written as a pair: before it, PostgreSQL's schema was created whole
/// (its 0001-0003 gather SQLite's 0001-0021, which stay as they are for the sites that ran
/// them); from it on, each change is one number and name in both folders.
const FIRST_PAIRED: u32 = 22;

#[test]
fn every_migration_from_the_pairing_on_has_its_twin_of_the_same_number_and_name() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let names = |backend: &str| -> BTreeSet<String> {
        std::fs::read_dir(root.join(backend))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| {
                name.split('_')
                    .next()
                    .and_then(|n| n.parse::<u32>().ok())
                    .is_some_and(|n| n >= FIRST_PAIRED)
            })
            .collect()
    };
    let (sqlite, postgres) = (names("sqlite"), names("postgres"));
    assert_eq!(
        sqlite, postgres,
        "a migration numbered {FIRST_PAIRED} or later needs its twin in the other folder"
    );
}
