//! The dependency rules of docs/architecture.md, checked on the source: the web wing sits
//! above everything and nothing reaches back up into it; the pure rules name no store, use
//! case or wing. A `use` that breaks a rule fails here before review has to spot it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`.
fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(sources(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out
}

/// The files under `src/<folder>` (or the file `src/<folder>.rs`) that name any of `names`,
/// with the name found.
fn offenders(folder: &str, names: &[&str]) -> Vec<String> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let dir = src.join(folder);
    let file = src.join(format!("{folder}.rs"));
    let files = if dir.is_dir() {
        sources(&dir)
    } else if file.is_file() {
        vec![file]
    } else {
        Vec::new()
    };
    let mut found = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for name in names {
            if text.contains(name) {
                found.push(format!("{} names {name}", file.display()));
            }
        }
    }
    found
}

#[test]
fn nothing_outside_the_web_wing_imports_it_or_names_actix() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut found = Vec::new();
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        if name == "web" || name == "main" {
            continue;
        }
        // Not even in a comment: the wing is where HTTP is spoken of.
        found.extend(offenders(&name, &["crate::web", "actix"]));
    }
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn the_pure_rules_name_no_store_use_case_or_wing() {
    let upper = [
        "crate::db",
        "crate::study",
        "crate::web",
        "crate::jobs",
        "crate::auth",
        "sqlx::",
    ];
    let mut found = Vec::new();
    for folder in ["srs", "practice", "import", "domain"] {
        found.extend(offenders(folder, &upper));
    }
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn the_use_cases_and_jobs_never_reach_up_into_the_wing() {
    let mut found = Vec::new();
    for folder in ["study", "jobs", "auth", "db"] {
        found.extend(offenders(folder, &["crate::web", "crate::cli"]));
    }
    assert!(found.is_empty(), "{found:#?}");
}

/// The calls to `prefix…(` in `text`: a path that starts with `prefix` and is called.
fn calls<'a>(text: &'a str, prefix: &str) -> Vec<&'a str> {
    let mut found = Vec::new();
    for (at, _) in text.match_indices(prefix) {
        let rest = &text[at..];
        let end = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
            .unwrap_or(rest.len());
        if rest[end..].starts_with('(') {
            found.push(&rest[..end]);
        }
    }
    found
}

#[test]
fn handlers_call_use_cases_never_the_store_or_the_session_cache() {
    let routes = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/web/routes");
    let mut found = Vec::new();
    for file in sources(&routes) {
        let text = std::fs::read_to_string(&file).unwrap();
        for call in calls(&text, "crate::db::")
            .into_iter()
            .chain(calls(&text, "db::"))
        {
            found.push(format!("{} calls {call}", file.display()));
        }
        // A store module imported by name could be called without its path.
        for line in text.lines().map(str::trim) {
            if line.starts_with("use crate::db") && imports_a_module(line) {
                found.push(format!("{} imports a store module: {line}", file.display()));
            }
        }
        for check in [".can_see(", "visible_decks()", ".forget("] {
            if text.contains(check) {
                found.push(format!("{} checks visibility: {check}", file.display()));
            }
        }
    }
    assert!(found.is_empty(), "{found:#?}");
}

/// Whether a `use` line brings in anything named in lower case (a module or a function), not
/// only types.
fn imports_a_module(line: &str) -> bool {
    let items = line
        .trim_start_matches("use ")
        .trim_end_matches(';')
        .replace(['{', '}'], ",");
    items.split(',').any(|item| {
        let last = item.trim().rsplit("::").next().unwrap_or("");
        let last = last.split(" as ").next().unwrap_or("").trim();
        // `self` too: `decks::{self, CardRow}` imports the module.
        last.starts_with(|c: char| c.is_ascii_lowercase())
    })
}

#[test]
fn the_import_check_tells_modules_from_types() {
    assert!(imports_a_module("use crate::db::decks;"));
    assert!(imports_a_module("use crate::db::{decks, Pool};"));
    assert!(imports_a_module("use crate::db::decks::{self, CardRow};"));
    assert!(!imports_a_module(
        "use crate::db::decks::{CardRow, DeckRow};"
    ));
    assert!(!imports_a_module("use crate::db::Pool;"));
}

#[test]
fn the_call_finder_finds_a_call_and_passes_a_type() {
    let text = "let x = crate::db::decks::find(pool, 1); fn f(p: &crate::db::Pool) {}";
    assert_eq!(calls(text, "crate::db::"), vec!["crate::db::decks::find"]);
}
