//! Media files (issue 24): kept when an import brings them, tied to the cards that name
//! them, and served only to someone who may see one of those cards (or who brought the file,
//! before any card uses it: an import's preview). A hash is not a password.

use super::learner::Learner;
use super::{Context, StudyError};
use crate::db::{self, Conn, Pool};
use crate::import::MediaFile;

/// A file as served.
pub type Served = db::media::MediaRow;

/// Keeps `files` (already checked by `media::check`), brought by `uploaded_by` (none from
/// the command line).
pub async fn store_all(
    pool: &Pool,
    files: &[MediaFile],
    uploaded_by: Option<i64>,
    now: i64,
) -> Result<(), StudyError> {
    if files.is_empty() {
        return Ok(());
    }
    let mut tx = db::begin_write(pool).await.context("keeping media")?;
    // Files an import's preview kept a day ago and no card took up go first.
    db::media::drop_unused_before(&mut *tx, now - 86_400)
        .await
        .context("dropping unused media")?;
    for f in files {
        db::media::store(
            &mut *tx,
            &f.checked.hash,
            f.checked.kind.content_type(),
            &f.bytes,
            uploaded_by,
            now,
        )
        .await
        .context("keeping a media file")?;
    }
    tx.commit().await.context("keeping media")?;
    Ok(())
}

/// Keeps the files of `files` that carry their bytes (an import's files no card shows),
/// brought by `uploaded_by`; they are tied to a deck by [`keep_with_deck`].
pub async fn store_kept(
    pool: &Pool,
    files: &[crate::import::KeptFile],
    uploaded_by: Option<i64>,
    now: i64,
) -> Result<(), StudyError> {
    if files.iter().all(|f| f.bytes.is_empty()) {
        return Ok(());
    }
    let mut tx = db::begin_write(pool).await.context("keeping files")?;
    for f in files.iter().filter(|f| !f.bytes.is_empty()) {
        db::media::store(
            &mut *tx,
            &f.hash,
            &f.content_type,
            &f.bytes,
            uploaded_by,
            now,
        )
        .await
        .context("keeping a file")?;
    }
    tx.commit().await.context("keeping files")?;
    Ok(())
}

/// Ties `files` (stored already) to deck `deck_id` under their names, while the deck keeps
/// at most [`crate::media::MAX_DECK_KEPT_BYTES`] of such files; returns how many were added
/// and how many were left out for the limit.
pub async fn keep_with_deck(
    conn: &mut Conn,
    deck_id: i64,
    files: &[crate::import::KeptFile],
) -> Result<(usize, usize), StudyError> {
    let mut total = u64::try_from(
        db::media::kept_bytes(&mut *conn, deck_id)
            .await
            .context("reading a deck's kept files")?,
    )
    .unwrap_or(0);
    let (mut added, mut over) = (0, 0);
    for f in files {
        if total + f.size > crate::media::MAX_DECK_KEPT_BYTES {
            over += 1;
            continue;
        }
        if db::media::keep_for_deck(&mut *conn, deck_id, &f.name, &f.hash)
            .await
            .context("keeping a file with a deck")?
        {
            total += f.size;
            added += 1;
        }
    }
    Ok((added, over))
}

/// Who writes a card's sides, and so which stored files its text may tie to it: a file is
/// served to everyone who may see a card tied to it, so naming `/media/<hash>` in a card must
/// not be a way to reach a file one could not fetch already (a hash is not a password).
#[derive(Debug, Clone, Copy)]
pub struct Writer<'a> {
    /// The hashes of the files this writing brought (an import's own files, or those its
    /// preview stored): tied whoever last uploaded them.
    pub brought: &'a [String],
    /// The account writing: it may also tie a file it brought itself (the latest to bring
    /// it) or one a card it may see uses. None: the command line, which ties only `brought`.
    pub user_id: Option<i64>,
    /// The writer's visible decks, where known (the editor).
    pub learner: Option<&'a Learner>,
}

impl Writer<'_> {
    /// Whether file `hash` (stored) may be tied to a card by this writer.
    async fn may_tie(&self, conn: &mut Conn, hash: &str) -> Result<bool, StudyError> {
        if self.brought.iter().any(|h| h == hash) {
            return Ok(true);
        }
        let Some(user_id) = self.user_id else {
            return Ok(false);
        };
        let Some(file) = db::media::get(&mut *conn, hash)
            .await
            .context("reading a media file")?
        else {
            return Ok(false);
        };
        if file.uploaded_by == Some(user_id) {
            return Ok(true);
        }
        let Some(learner) = self.learner else {
            return Ok(false);
        };
        let decks = db::media::decks_using(&mut *conn, hash)
            .await
            .context("reading who may see a media file")?;
        Ok(decks.iter().any(|d| learner.can_see(*d)))
    }
}

/// Makes the files card `card_id` uses exactly those its sides name (stored ones, and new
/// ones only if `writer` may tie them): new ones are tied to it first, then the ones it no
/// longer names let go (a file whose last card this was goes with it).
pub async fn link_card(
    conn: &mut Conn,
    card_id: i64,
    front: &str,
    back: &str,
    writer: &Writer<'_>,
) -> Result<(), StudyError> {
    let mut named = crate::media::referenced(front);
    for h in crate::media::referenced(back) {
        if !named.contains(&h) {
            named.push(h);
        }
    }
    let tied = db::media::of_card(&mut *conn, card_id)
        .await
        .context("reading a card's media")?;
    for h in &named {
        if !tied.contains(h) && !writer.may_tie(conn, h).await? {
            continue;
        }
        db::media::link(&mut *conn, card_id, h)
            .await
            .context("tying a media file to a card")?;
    }
    for h in tied.iter().filter(|h| !named.contains(h)) {
        db::media::unlink(&mut *conn, card_id, h)
            .await
            .context("letting a media file go")?;
    }
    Ok(())
}

/// File `hash` for `learner`: `None` unless it is stored and they may see a card that uses
/// it, or brought it themselves.
pub async fn fetch(
    pool: &Pool,
    learner: &Learner,
    hash: &str,
) -> Result<Option<Served>, StudyError> {
    if !crate::markup::is_media_address(&format!("/media/{hash}")) {
        return Ok(None);
    }
    let Some(file) = db::media::get(pool, hash)
        .await
        .context("reading a media file")?
    else {
        return Ok(None);
    };
    // A deck's kept files of other types (fonts, videos, anything) are never served.
    if !(file.content_type.starts_with("image/") || file.content_type.starts_with("audio/")) {
        return Ok(None);
    }
    if file.uploaded_by == Some(learner.id) {
        return Ok(Some(file));
    }
    let decks = db::media::decks_using(pool, hash)
        .await
        .context("reading who may see a media file")?;
    Ok(decks.iter().any(|d| learner.can_see(*d)).then_some(file))
}

/// An image the deck editor uploads into a card, read from where the upload lies: checked
/// (`media::check`: its type from its bytes, within the size and pixel limits; an image, not
/// a sound) and kept as brought by `user_id`, who may then see it in a preview and tie it to
/// a card they save. Returns the `<img>` element a card side holds: `/media/{hash}` with
/// `alt` (the file's name when none is given).
pub async fn upload_image(
    pool: &Pool,
    user_id: i64,
    path: std::path::PathBuf,
    file_name: &str,
    alt: &str,
    now: i64,
) -> Result<String, StudyError> {
    let limit = crate::media::MAX_FILE_BYTES as u64;
    let bytes = tokio::task::spawn_blocking(move || {
        use std::io::Read;
        let mut out = Vec::new();
        std::fs::File::open(path)?
            .take(limit + 1)
            .read_to_end(&mut out)?;
        Ok::<_, std::io::Error>(out)
    })
    .await
    .map_err(|e| StudyError::Internal(e.into()))?
    .map_err(|e| StudyError::Internal(e.into()))?;
    let checked = crate::media::check(&bytes)
        .map_err(|why| StudyError::Validation(format!("The image was not kept: {why}.")))?;
    if !checked.kind.is_image() {
        return Err(StudyError::Validation(
            "The image was not kept: it is a sound, not a PNG, JPEG, GIF or WebP image.".to_owned(),
        ));
    }
    let alt = if alt.trim().is_empty() {
        file_name.trim()
    } else {
        alt.trim()
    };
    let element = format!(
        r#"<img src="/media/{}" alt="{}">"#,
        checked.hash,
        html_escape::encode_double_quoted_attribute(alt)
    );
    let file = MediaFile {
        name: file_name.to_owned(),
        checked,
        bytes,
    };
    store_all(pool, std::slice::from_ref(&file), Some(user_id), now).await?;
    Ok(element)
}
