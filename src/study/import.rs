//! Importing parsed cards into a deck. Everything that can be wrong with a file is checked
//! before the first write; the writes then go in short batches so that grades, which share
//! the one writer, keep flowing during a large import.

use super::actor::Actor;
use super::{Context, Forget, Stale, StudyError};
use crate::db;
use crate::db::{Conn, Pool};
use crate::domain::DeckName;
use crate::import::{self, Format, ParsedDeck, apkg};
use tokio::sync::{Semaphore, SemaphorePermit};

/// The most cards one file may add.
pub const MAX_IMPORT_CARDS: usize = 20_000;
/// Cards written per transaction: a few milliseconds of the writer's time each.
const BATCH: usize = 500;
/// Imports that may run at once; more are asked to retry (each holds its file in memory and
/// takes turns with grades on the writer).
pub const CONCURRENT_IMPORTS: usize = 2;

/// The places for imports running at once, one set per server.
pub fn import_slots() -> Semaphore {
    Semaphore::new(CONCURRENT_IMPORTS)
}

/// A place among the imports running now, or `Busy` when all are taken.
pub fn import_slot(slots: &Semaphore) -> Result<SemaphorePermit<'_>, StudyError> {
    slots.try_acquire().map_err(|_| StudyError::Busy {
        message: "Other imports are running; try again in a few seconds.".to_owned(),
        retry_after_secs: 5,
    })
}

/// Takes one import, the bytes of its cards' text and the bytes of its media files (those
/// its cards use and the package's other files) from `user_id`'s hourly budgets
/// (`auth::quota`), before anything of it is written.
pub fn charge(
    quotas: &crate::auth::quota::Quotas,
    user_id: i64,
    parsed: &ParsedDeck,
    now_ms: i64,
) -> Result<(), StudyError> {
    use crate::auth::quota::Kind;
    let bytes: usize = parsed
        .cards
        .iter()
        .map(|c| c.front.as_str().len() + c.back.as_str().len())
        .sum();
    let bytes = u64::try_from(bytes).unwrap_or(u64::MAX);
    let media: u64 = parsed
        .media
        .iter()
        .map(|f| f.bytes.len() as u64)
        .chain(parsed.kept.iter().map(|f| f.bytes.len() as u64))
        .sum();
    Ok(quotas.spend(
        user_id,
        &[
            (Kind::Import, 1),
            (Kind::ImportBytes, bytes),
            (Kind::ImportMediaBytes, media),
        ],
        now_ms,
    )?)
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportReport {
    /// The deck imported into.
    pub deck_id: i64,
    /// Its name.
    pub deck_name: String,
    /// Cards added.
    pub added: usize,
    /// Cards skipped because the deck already had them (same front and back).
    pub already_present: usize,
    /// The package's files no card shows, newly kept with the deck.
    pub files_kept: usize,
    /// Such files left out because the deck keeps as many as it may.
    pub files_over_limit: usize,
}

/// Imports `parsed` into `owner_id`'s deck called `name` (created if missing), in batches of
/// [`BATCH`] cards. The parse has already checked every card, so a batch fails only if the
/// database does; importing the same file again then adds just what is missing.
pub async fn import_deck(
    pool: &Pool,
    name: &DeckName,
    parsed: &ParsedDeck,
    owner_id: Option<i64>,
    public: bool,
    now: i64,
) -> Result<ImportReport, StudyError> {
    let existing = db::decks::find_by_name(pool, owner_id, name.as_str()).await?;
    check_media(pool, existing.map(|d| d.id), parsed).await??;
    Ok(import_batches(pool, name, parsed, owner_id, public, now).await??)
}

/// Why an import's batches stopped at the deck's media limit.
struct Stopped {
    /// What to tell the importer.
    message: String,
    /// Whether no batch had been written yet (the import can be tried again whole).
    nothing_written: bool,
}

impl From<Stopped> for StudyError {
    fn from(stopped: Stopped) -> Self {
        StudyError::Validation(stopped.message)
    }
}

/// The writes of [`import_deck`], its media checked: each batch checks the deck's media
/// limit again before it commits.
async fn import_batches(
    pool: &Pool,
    name: &DeckName,
    parsed: &ParsedDeck,
    owner_id: Option<i64>,
    public: bool,
    now: i64,
) -> Result<Result<ImportReport, Stopped>, StudyError> {
    // The files first: the cards' ties to them are written with the cards.
    super::media::store_all(pool, &parsed.media, owner_id, now).await?;
    super::media::store_kept(pool, &parsed.kept, now).await?;
    let brought = parsed.brought();
    let mut report = None::<ImportReport>;
    for cards in parsed.cards.chunks(BATCH) {
        let mut tx = db::begin_write(pool).await?;
        let deck_id = match &report {
            Some(r) => r.deck_id,
            None => deck_for(&mut tx, name, owner_id, public, now).await?,
        };
        let writer = super::media::Writer {
            brought: &brought,
            user_id: owner_id,
            learner: None,
        };
        let added = add_cards(&mut tx, deck_id, cards, &writer, now).await?;
        // Checked again inside the batch's write transaction, after its cards tied their
        // files: a card may name any stored file its importer brought (not only the
        // file's own), and two imports into one deck take turns on the writer.
        let bytes = super::media::deck_bytes_with(&mut tx, Some(deck_id), &[]).await?;
        if let Some(why) = super::media::over_deck_limit(bytes) {
            drop(tx);
            return Ok(Err(Stopped {
                message: match &report {
                    None => format!("Nothing was imported: {why}."),
                    Some(r) => format!(
                        "The import stopped: {why}. The first {} cards of the file went into the deck ({} new); the rest were not imported.",
                        r.added + r.already_present,
                        r.added
                    ),
                },
                nothing_written: report.is_none(),
            }));
        }
        tx.commit().await?;
        let r = report.get_or_insert_with(|| ImportReport {
            deck_id,
            deck_name: name.as_str().to_owned(),
            added: 0,
            already_present: 0,
            files_kept: 0,
            files_over_limit: 0,
        });
        r.added += added;
        r.already_present += cards.len() - added;
    }
    if let Some(r) = report.take_if(|_| parsed.kept.is_empty()) {
        return Ok(Ok(r));
    }
    // No cards: the deck is still created, as before. The files no card shows join it.
    let mut tx = db::begin_write(pool).await?;
    let mut report = match report {
        Some(r) => r,
        None => ImportReport {
            deck_id: deck_for(&mut tx, name, owner_id, public, now).await?,
            deck_name: name.as_str().to_owned(),
            added: 0,
            already_present: 0,
            files_kept: 0,
            files_over_limit: 0,
        },
    };
    (report.files_kept, report.files_over_limit) =
        super::media::keep_with_deck(&mut tx, report.deck_id, &parsed.kept).await?;
    tx.commit().await?;
    Ok(Ok(report))
}

/// What an import would do, shown before anything is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportPreview {
    /// The deck the cards go into.
    pub deck_name: String,
    /// That deck when it exists already, and how many cards it has.
    pub existing: Option<(i64, usize)>,
    /// The cards that would be added, in file order.
    pub adding: Vec<import::ParsedCard>,
    /// The cards that would be skipped, each with why.
    pub skipped: Vec<(import::ParsedCard, String)>,
    /// How the file was read, where the reader had to guess.
    pub notes: Vec<String>,
    /// The media files the cards use, kept with the preview so that it shows them.
    pub media: Vec<import::MediaFile>,
    /// The package's files no card shows, kept with the deck on import.
    pub kept: Vec<import::KeptFile>,
    /// Why the import would be refused on confirmation (the deck's media limit), if it
    /// would.
    pub refused: Option<String>,
}

/// Which cards of `parsed` an import into `owner_id`'s deck `name` would add, and which it
/// would skip (the deck has them, or the file repeats them): the same rule `add_cards`
/// applies, a card being its exact front and back.
pub async fn preview(
    pool: &Pool,
    name: &DeckName,
    parsed: ParsedDeck,
    owner_id: Option<i64>,
) -> Result<ImportPreview, StudyError> {
    let deck = db::decks::find_by_name(pool, owner_id, name.as_str()).await?;
    let mut known: std::collections::HashMap<(String, String), Option<usize>> =
        std::collections::HashMap::new();
    let existing = match deck {
        Some(deck) => {
            let cards = db::decks::cards(pool, deck.id).await?;
            let count = cards.len();
            for c in cards {
                known.insert((c.front, c.back), None);
            }
            Some((deck.id, count))
        }
        None => None,
    };
    let media_bytes = {
        let mut conn = pool.acquire().await.context("reading a deck's media")?;
        super::media::deck_bytes_with(
            &mut conn,
            existing.map(|(id, _)| id),
            &media_sizes(&parsed.media),
        )
        .await?
    };
    let refused = super::media::over_deck_limit(media_bytes)
        .map(|why| format!("This file cannot be imported into this deck: {why}."));
    let (mut adding, mut skipped) = (Vec::new(), Vec::new());
    let notes = parsed.notes;
    for card in parsed.cards {
        let key = (
            card.front.as_str().to_owned(),
            card.back.as_str().to_owned(),
        );
        match known.get(&key) {
            Some(None) => skipped.push((card, "already in the deck".to_owned())),
            Some(Some(line)) => {
                let why = format!("the same as line {line}");
                skipped.push((card, why));
            }
            None => {
                known.insert(key, Some(card.line));
                adding.push(card);
            }
        }
    }
    Ok(ImportPreview {
        deck_name: name.as_str().to_owned(),
        existing,
        adding,
        skipped,
        notes,
        media: parsed.media,
        kept: parsed.kept,
        refused,
    })
}

/// The hashes and sizes of an import's media files.
fn media_sizes(files: &[import::MediaFile]) -> Vec<(String, u64)> {
    files
        .iter()
        .map(|f| (f.checked.hash.clone(), f.bytes.len() as u64))
        .collect()
}

/// Why an import's media cannot go into a deck; nothing is written.
enum MediaRefusal {
    /// Files its preview stored are gone (a deck whose cards used them was deleted
    /// meanwhile): the file must be chosen again.
    Gone(String),
    /// The deck's cards would use more media than a deck may: it can go in once the deck has
    /// room.
    NoRoom(String),
}

impl From<MediaRefusal> for StudyError {
    fn from(refusal: MediaRefusal) -> Self {
        match refusal {
            MediaRefusal::Gone(why) | MediaRefusal::NoRoom(why) => StudyError::Validation(why),
        }
    }
}

/// Checks, before anything is written, that the media `parsed` brings fit deck `deck_id`'s
/// limit (the deck may not exist yet) and, for a confirmed preview's files, that they are
/// still stored: a file the preview kept goes early if a deck whose cards used it is
/// deleted meanwhile, and the cards would then lose it without a word.
async fn check_media(
    pool: &Pool,
    deck_id: Option<i64>,
    parsed: &ParsedDeck,
) -> Result<Result<(), MediaRefusal>, StudyError> {
    let mut conn = pool.acquire().await.context("reading media sizes")?;
    let mut adding = media_sizes(&parsed.media);
    let mut gone = 0;
    for hash in &parsed.stored_media {
        match db::media::size_of(&mut *conn, hash)
            .await
            .context("reading a media file's size")?
        {
            Some(size) => adding.push((hash.clone(), u64::try_from(size).unwrap_or(0))),
            None => gone += 1,
        }
    }
    if gone > 0 {
        return Ok(Err(MediaRefusal::Gone(format!(
            "Nothing was imported: {gone} of the images and sounds checked for this preview {} been removed since (a deck that used {} was deleted meanwhile); choose the file again.",
            if gone == 1 { "has" } else { "have" },
            if gone == 1 { "it" } else { "them" },
        ))));
    }
    let bytes = super::media::deck_bytes_with(&mut conn, deck_id, &adding).await?;
    Ok(match super::media::over_deck_limit(bytes) {
        Some(why) => Err(MediaRefusal::NoRoom(format!(
            "Nothing was imported: {why}."
        ))),
        None => Ok(()),
    })
}

/// The deck of an Anki package's collection and media.
async fn package_deck(
    collection: Vec<u8>,
    media: apkg::PackageMedia,
) -> Result<ParsedDeck, StudyError> {
    let (notes, types) = db::anki::read_package(&collection)
        .await
        .map_err(|e| StudyError::Validation(format!("The file was not imported: {e}.")))?;
    let deck = apkg::deck_from_package(notes, &types, media)?;
    if deck.cards.is_empty() {
        // Every note skipped: the preview's line says why.
        let why = deck.notes.join(" ");
        return Err(StudyError::Validation(
            format!("The file was not imported: the package holds no notes that make cards. {why}")
                .trim_end()
                .to_owned(),
        ));
    }
    Ok(deck)
}

/// The largest text deck file (Quizwiz, TSV, CSV): 20,000 cards of text fit many times over.
/// Anki packages may be as large as the upload limit: they are read where they lie.
pub const MAX_TEXT_FILE_BYTES: u64 = 2 * 1024 * 1024;

/// Reads an uploaded deck file where it lies (`path`, the upload's temporary file): an Anki
/// package is unpacked from the file, on a blocking thread, never read whole into memory; a
/// text file (at most [`MAX_TEXT_FILE_BYTES`]) is read and parsed as [`read_deck_file`] does.
pub async fn read_deck_upload(
    path: std::path::PathBuf,
    file_name: &str,
    format: Option<Format>,
) -> Result<ParsedDeck, StudyError> {
    use std::io::Read;
    let unreadable =
        |e: std::io::Error| StudyError::Internal(anyhow::anyhow!("reading an upload: {e}"));
    let mut head = [0u8; 4];
    let mut file = std::fs::File::open(&path).map_err(unreadable)?;
    let size = file.metadata().map_err(unreadable)?.len();
    let read = file.read(&mut head).map_err(unreadable)?;
    if apkg::is_zip(&head[..read]) {
        let (collection, media) = tokio::task::spawn_blocking(move || {
            let open = || std::fs::File::open(&path);
            let collection = apkg::collection_from(open().map_err(|e| {
                import::ImportError::whole(format!("the upload could not be read: {e}"))
            })?)?;
            let media = apkg::media_from(open().map_err(|e| {
                import::ImportError::whole(format!("the upload could not be read: {e}"))
            })?)?;
            Ok::<_, import::ImportError>((collection, media))
        })
        .await
        .map_err(|e| StudyError::Internal(anyhow::anyhow!("reading a package: {e}")))??;
        let deck = package_deck(collection, media).await?;
        return read_deck_checked(deck);
    }
    if size > MAX_TEXT_FILE_BYTES {
        return Err(StudyError::Validation(format!(
            "Text deck files are limited to {} MiB (Anki packages may be larger); split it into several files.",
            MAX_TEXT_FILE_BYTES / 1024 / 1024
        )));
    }
    let bytes = std::fs::read(&path).map_err(unreadable)?;
    read_deck_file(&bytes, file_name, format).await
}

/// The card-count limit every import is held to.
fn read_deck_checked(deck: ParsedDeck) -> Result<ParsedDeck, StudyError> {
    if deck.cards.len() > MAX_IMPORT_CARDS {
        return Err(StudyError::Validation(format!(
            "The file was not imported: it holds {} cards, and at most {MAX_IMPORT_CARDS} are imported at once; split it into several files.",
            deck.cards.len()
        )));
    }
    Ok(deck)
}

/// The cards of a preview as kept until the import is confirmed: front, back, line and
/// format, then for a card of a cloze note its number, the note's text, extra and format.
pub fn cards_to_json(cards: &[import::ParsedCard]) -> String {
    serde_json::Value::Array(
        cards
            .iter()
            .map(|c| match &c.cloze {
                None => serde_json::json!([
                    c.front.as_str(),
                    c.back.as_str(),
                    c.line,
                    c.format.as_str()
                ]),
                Some(n) => serde_json::json!([
                    c.front.as_str(),
                    c.back.as_str(),
                    c.line,
                    c.format.as_str(),
                    n.number,
                    n.text,
                    n.extra,
                    n.format.as_str()
                ]),
            })
            .collect(),
    )
    .to_string()
}

/// The cards kept by [`cards_to_json`], checked again as they are read back.
pub fn cards_from_json(json: &str) -> Result<Vec<import::ParsedCard>, StudyError> {
    /// A kept card: front, back, line, (since formatted cards) its format, and (since cloze
    /// notes) its cloze number, note text, extra and note format.
    #[derive(serde::Deserialize)]
    struct Kept(
        String,
        String,
        usize,
        #[serde(default)] Option<String>,
        #[serde(default)] Option<u32>,
        #[serde(default)] Option<String>,
        #[serde(default)] Option<String>,
        #[serde(default)] Option<String>,
    );
    let rows: Vec<Kept> = serde_json::from_str(json)
        .map_err(|e| StudyError::Internal(anyhow::anyhow!("a kept import is unreadable: {e}")))?;
    rows.into_iter()
        .map(
            |Kept(front, back, line, format, number, text, extra, note_format)| {
                let format =
                    crate::markup::Format::from_stored(format.as_deref().unwrap_or("text"));
                let cloze = match (number, text) {
                    (Some(number), Some(text)) => Some(import::ClozeOrigin {
                        number,
                        text,
                        extra: extra.unwrap_or_default(),
                        format: crate::markup::Format::from_stored(
                            note_format.as_deref().unwrap_or("html"),
                        ),
                    }),
                    _ => None,
                };
                Ok(import::ParsedCard {
                    front: crate::domain::CardText::parse_as(&front, "front", format)?,
                    back: crate::domain::CardText::parse_as(&back, "back", format)?,
                    line,
                    format,
                    cloze,
                })
            },
        )
        .collect()
}

/// Whose deck an import by `actor` goes into, and whether it is public. An admin's deck is
/// public; an instructor's is private to them and the classes they assign it to. Names are per
/// owner: an instructor's import goes into their own deck of that name, whatever others have;
/// an admin may also add to a shipped deck.
async fn target(
    pool: &Pool,
    actor: Actor<'_>,
    name: &DeckName,
) -> Result<(Option<i64>, bool), StudyError> {
    if !actor.is_instructor() {
        return Err(StudyError::Forbidden(
            "Only instructors and admins import decks.".to_owned(),
        ));
    }
    let public = actor.is_admin();
    let owner = if actor.is_admin()
        && db::decks::find_by_name(pool, Some(actor.id()), name.as_str())
            .await?
            .is_none()
        && db::decks::find_by_name(pool, None, name.as_str())
            .await?
            .is_some()
    {
        None
    } else {
        Some(actor.id())
    };
    Ok((owner, public))
}

/// What importing `parsed` as deck `name` would do for `actor` (see [`preview`]).
pub async fn preview_for(
    pool: &Pool,
    actor: Actor<'_>,
    name: &DeckName,
    parsed: ParsedDeck,
) -> Result<ImportPreview, StudyError> {
    let (owner, _) = target(pool, actor, name).await?;
    preview(pool, name, parsed, owner).await
}

/// How long a preview waits for its confirmation, in seconds.
const PREVIEW_KEPT_SECS: i64 = 86_400;

/// Keeps the cards of `preview` until `actor` confirms it (replacing any earlier preview of
/// theirs, and dropping everyone's older than a day); returns the key the confirmation
/// carries. What is imported is then exactly what was shown, not the file read again.
pub async fn keep_preview(
    pool: &Pool,
    actor: Actor<'_>,
    preview: &ImportPreview,
    now: jiff::Timestamp,
) -> Result<String, StudyError> {
    let now = now.as_second();
    let token = crate::auth::session::random_token();
    super::media::store_all(pool, &preview.media, Some(actor.id()), now).await?;
    super::media::store_kept(pool, &preview.kept, now).await?;
    let files = KeptFiles {
        kept: preview
            .kept
            .iter()
            .map(|f| (f.name.clone(), f.hash.clone(), f.size))
            .collect(),
        media: preview
            .media
            .iter()
            .map(|f| f.checked.hash.clone())
            .collect(),
    };
    let files = serde_json::to_string(&files)
        .map_err(|e| StudyError::Internal(anyhow::anyhow!("keeping a preview's files: {e}")))?;
    db::pending_imports::drop_older_than(pool, now - PREVIEW_KEPT_SECS)
        .await
        .context("dropping old import previews")?;
    db::pending_imports::save(
        pool,
        actor.id(),
        &token,
        &preview.deck_name,
        &cards_to_json(&preview.adding),
        &files,
        now,
    )
    .await
    .context("keeping an import preview")?;
    Ok(token)
}

/// A preview's files, kept with it: the package's files no card shows (name, hash, size) and
/// the hashes of the media its cards use, all stored already.
#[derive(serde::Serialize, serde::Deserialize)]
struct KeptFiles {
    kept: Vec<(String, String, u64)>,
    media: Vec<String>,
}

/// A preview's files as kept: [`KeptFiles`], or (previews made before the media were kept)
/// just the package's files no card shows.
#[derive(serde::Deserialize)]
#[serde(untagged)]
enum KeptForm {
    Files(KeptFiles),
    Bare(Vec<(String, String, u64)>),
}

/// Imports `actor`'s kept preview with key `token` (see [`import_as`]): exactly the cards
/// it showed, with the files it stored. `None` when it was imported already, replaced by a
/// newer one, or dropped as too old. Refused because the deck's cards would use more media
/// than a deck may, the preview is kept (nothing was written), so that it can be confirmed
/// again once the deck has room.
pub async fn confirm_preview(
    pool: &Pool,
    sessions: &dyn Forget,
    actor: Actor<'_>,
    token: &str,
    now: i64,
) -> Result<Confirmed, StudyError> {
    let Some(pending) = db::pending_imports::take(pool, actor.id(), token)
        .await
        .context("taking an import preview")?
    else {
        return Ok(Confirmed::Gone);
    };
    let (name, parsed) = from_pending(&pending)?;
    let (owner, public) = target(pool, actor, &name).await?;
    let deck = db::decks::find_by_name(pool, owner, name.as_str()).await?;
    let why = match check_media(pool, deck.map(|d| d.id), &parsed).await? {
        Ok(()) => match import_batches(pool, &name, &parsed, owner, public, now).await? {
            Ok(report) => {
                sessions.forget(Stale::Everyone);
                return Ok(Confirmed::Imported(report));
            }
            Err(stopped) if stopped.nothing_written => stopped.message,
            Err(stopped) => {
                sessions.forget(Stale::Everyone);
                return Err(stopped.into());
            }
        },
        Err(MediaRefusal::NoRoom(why)) => why,
        Err(gone) => return Err(gone.into()),
    };
    db::pending_imports::put_back(pool, actor.id(), &pending)
        .await
        .context("keeping an import preview")?;
    Ok(Confirmed::Kept(format!(
        "{why} The preview is kept for a day: make room in the deck (remove images from its cards), then confirm it again with the button below."
    )))
}

/// What confirming an import preview did.
#[derive(Debug)]
pub enum Confirmed {
    /// The cards went in.
    Imported(ImportReport),
    /// The preview was imported already, replaced by a newer one, or is over a day old.
    Gone,
    /// The deck has no room for its media: nothing was written, and the preview (the same
    /// token) is kept to be confirmed again; the message says why.
    Kept(String),
}

/// A kept preview's deck name and cards, checked again.
fn from_pending(
    pending: &db::pending_imports::PendingImport,
) -> Result<(DeckName, ParsedDeck), StudyError> {
    // The files were stored with the preview: only their names and hashes come back. The
    // media the cards use were checked then and brought by this importer, so the cards tie
    // them whoever has brought the same file since.
    let files = match serde_json::from_str(&pending.files)
        .map_err(|e| StudyError::Internal(anyhow::anyhow!("a kept import is unreadable: {e}")))?
    {
        KeptForm::Files(files) => files,
        KeptForm::Bare(kept) => KeptFiles {
            kept,
            media: Vec::new(),
        },
    };
    let parsed = ParsedDeck {
        media: Vec::new(),
        stored_media: files.media,
        title: None,
        cards: cards_from_json(&pending.cards)?,
        notes: Vec::new(),
        kept: files
            .kept
            .into_iter()
            .map(|(name, hash, size)| import::KeptFile {
                name,
                hash,
                content_type: String::new(),
                size,
                bytes: Vec::new(),
            })
            .collect(),
    };
    Ok((DeckName::parse(&pending.deck_name)?, parsed))
}

/// Imports `parsed` as `actor`'s deck `name` (see [`import_deck`]). A new deck changes what
/// people may see, so every session goes stale.
pub async fn import_as(
    pool: &Pool,
    sessions: &dyn Forget,
    actor: Actor<'_>,
    name: &DeckName,
    parsed: &ParsedDeck,
    now: i64,
) -> Result<ImportReport, StudyError> {
    let (owner, public) = target(pool, actor, name).await?;
    let report = import_deck(pool, name, parsed, owner, public, now).await?;
    sessions.forget(Stale::Everyone);
    Ok(report)
}

/// Imports inside a caller's transaction (the shipped decks, at first start).
pub async fn import_into(
    conn: &mut Conn,
    name: &DeckName,
    parsed: &ParsedDeck,
    owner_id: Option<i64>,
    public: bool,
    now: i64,
) -> Result<ImportReport, StudyError> {
    let deck_id = deck_for(conn, name, owner_id, public, now).await?;
    let brought = parsed.brought();
    let writer = super::media::Writer {
        brought: &brought,
        user_id: owner_id,
        learner: None,
    };
    let added = add_cards(conn, deck_id, &parsed.cards, &writer, now).await?;
    Ok(ImportReport {
        deck_id,
        deck_name: name.as_str().to_owned(),
        added,
        already_present: parsed.cards.len() - added,
        files_kept: 0,
        files_over_limit: 0,
    })
}

/// The owner's deck called `name`, created if missing.
async fn deck_for(
    conn: &mut Conn,
    name: &DeckName,
    owner_id: Option<i64>,
    public: bool,
    now: i64,
) -> Result<i64, StudyError> {
    Ok(
        match db::decks::find_by_name(&mut *conn, owner_id, name.as_str()).await? {
            Some(deck) => deck.id,
            None => db::decks::create(&mut *conn, name.as_str(), "", owner_id, public, now).await?,
        },
    )
}

/// Adds the cards the deck lacks at its end; returns how many were added.
async fn add_cards(
    conn: &mut Conn,
    deck_id: i64,
    cards: &[import::ParsedCard],
    writer: &super::media::Writer<'_>,
    now: i64,
) -> Result<usize, StudyError> {
    let mut position = db::decks::next_position(&mut *conn, deck_id).await?;
    let mut added = 0;
    for card in cards {
        let added_id = db::decks::add_card_if_absent(
            &mut *conn,
            deck_id,
            card.front.as_str(),
            card.back.as_str(),
            card.format.as_str(),
            position,
            now,
        )
        .await?;
        if let Some(id) = added_id {
            if let Some(origin) = &card.cloze {
                // The card joins its note: the deck's note of the same text, or a new one.
                let note_id =
                    match db::cloze::find_by_text(&mut *conn, deck_id, &origin.text, &origin.extra)
                        .await?
                    {
                        Some(note_id) => note_id,
                        None => {
                            db::cloze::create_note(
                                &mut *conn,
                                deck_id,
                                &origin.text,
                                &origin.extra,
                                origin.format.as_str(),
                                now,
                            )
                            .await?
                        }
                    };
                db::cloze::attach(&mut *conn, id, note_id, i64::from(origin.number)).await?;
            }
            super::media::link_card(
                &mut *conn,
                id,
                card.front.as_str(),
                card.back.as_str(),
                writer,
            )
            .await?;
            added += 1;
            position += 1;
        }
    }
    Ok(added)
}

/// Reads an uploaded deck file: an Anki package (recognised by its zip signature), or UTF-8
/// text in `format` (guessed from the name and first line when None). Every limit is checked
/// here, before anything is written.
pub async fn read_deck_file(
    bytes: &[u8],
    file_name: &str,
    format: Option<Format>,
) -> Result<ParsedDeck, StudyError> {
    let deck = if apkg::is_zip(bytes) {
        let collection = apkg::collection(bytes)?;
        let media = apkg::media(bytes)?;
        package_deck(collection, media).await?
    } else {
        let text = std::str::from_utf8(bytes).map_err(|e| {
            StudyError::Validation(format!(
                "The file is not UTF-8 text or an Anki package (the first bad byte is at offset {}).",
                e.valid_up_to()
            ))
        })?;
        let format = format.unwrap_or_else(|| Format::detect(file_name, text));
        import::parse(format, text)?
    };
    read_deck_checked(deck)
}
