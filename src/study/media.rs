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

/// Keeps the files of `files` that carry their bytes (an import's files no card shows);
/// they are tied to a deck by [`keep_with_deck`].
pub async fn store_kept(
    pool: &Pool,
    files: &[crate::import::KeptFile],
    now: i64,
) -> Result<(), StudyError> {
    if files.iter().all(|f| f.bytes.is_empty()) {
        return Ok(());
    }
    let mut tx = db::begin_write(pool).await.context("keeping files")?;
    for f in files.iter().filter(|f| !f.bytes.is_empty()) {
        // Stored with no uploader: nobody is served them, not even who brought them.
        db::media::store(&mut *tx, &f.hash, &f.content_type, &f.bytes, None, now)
            .await
            .context("keeping a file")?;
    }
    tx.commit().await.context("keeping files")?;
    Ok(())
}

/// Ties `files` (stored already) to deck `deck_id` under their names, while the deck keeps
/// at most [`crate::media::MAX_DECK_KEPT_BYTES`] of such files; returns how many were added
/// (or took new bytes under a name the deck keeps) and how many were left out for the limit.
/// A file the deck keeps already under its name, the same bytes, counts as neither.
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
    let kept: std::collections::HashMap<String, String> =
        db::media::kept_by_deck(&mut *conn, deck_id)
            .await
            .context("reading a deck's kept files")?
            .into_iter()
            .collect();
    let (mut added, mut over) = (0, 0);
    for f in files {
        // New bytes under a name the deck keeps free the old ones' room.
        let freed = match kept.get(&f.name) {
            Some(hash) if *hash == f.hash => continue,
            Some(hash) => db::media::size_of(&mut *conn, hash)
                .await
                .context("reading a kept file's size")?
                .and_then(|size| u64::try_from(size).ok())
                .unwrap_or(0),
            None => 0,
        };
        let after = (total + f.size).saturating_sub(freed);
        if after > crate::media::MAX_DECK_KEPT_BYTES {
            over += 1;
            continue;
        }
        if db::media::keep_for_deck(&mut *conn, deck_id, &f.name, &f.hash)
            .await
            .context("keeping a file with a deck")?
        {
            total = after;
            added += 1;
        }
    }
    Ok((added, over))
}

/// Bytes as a person reads them: "3.5 MiB".
fn mib(bytes: u64) -> String {
    // Rounded up to the tenth: a deck just over the limit never reads as at it.
    let tenths = (u128::from(bytes) * 10).div_ceil(1024 * 1024);
    format!("{}.{} MiB", tenths / 10, tenths % 10)
}

/// What deck `deck_id`'s cards would use in media (bytes, each file once) with `adding`
/// (hash, size) added: the files they use already are not counted twice.
pub async fn deck_bytes_with(
    conn: &mut Conn,
    deck_id: Option<i64>,
    adding: &[(String, u64)],
) -> Result<u64, StudyError> {
    let mut used: std::collections::HashMap<String, u64> = match deck_id {
        Some(deck_id) => db::media::deck_card_files(&mut *conn, deck_id)
            .await
            .context("reading a deck's media sizes")?
            .into_iter()
            .map(|(h, size)| (h, u64::try_from(size).unwrap_or(0)))
            .collect(),
        None => Default::default(),
    };
    for (hash, size) in adding {
        used.entry(hash.clone()).or_insert(*size);
    }
    Ok(used.values().sum())
}

/// Why `bytes` of media is too much for one deck's cards, if it is
/// ([`crate::media::MAX_DECK_MEDIA_BYTES`]).
pub fn over_deck_limit(bytes: u64) -> Option<String> {
    (bytes > crate::media::MAX_DECK_MEDIA_BYTES).then(|| {
        format!(
            "the deck's cards would use {} of images and sounds, and a deck's cards may use at most {} MiB",
            mib(bytes),
            crate::media::MAX_DECK_MEDIA_BYTES / 1024 / 1024
        )
    })
}

/// Refuses (a `Validation` error, so the caller's transaction rolls back) when the cards of
/// deck `deck_id` now use more media than a deck may: called by the editor after a save
/// that tied a new file to a card.
pub async fn refuse_if_deck_over(conn: &mut Conn, deck_id: i64) -> Result<(), StudyError> {
    let bytes = deck_bytes_with(conn, Some(deck_id), &[]).await?;
    match over_deck_limit(bytes) {
        Some(why) => Err(StudyError::Validation(format!(
            "The card was not saved: {why}. Remove images from the deck's cards first."
        ))),
        None => Ok(()),
    }
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
        let Some((_, uploaded_by)) = db::media::about(&mut *conn, hash)
            .await
            .context("reading a media file")?
        else {
            return Ok(false);
        };
        if uploaded_by == Some(user_id) {
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
/// longer names let go (a file whose last card this was goes with it). Returns whether a
/// file was newly tied (the deck's media may have grown).
pub async fn link_card(
    conn: &mut Conn,
    card_id: i64,
    front: &str,
    back: &str,
    writer: &Writer<'_>,
) -> Result<bool, StudyError> {
    let mut named = crate::media::referenced(front);
    for h in crate::media::referenced(back) {
        if !named.contains(&h) {
            named.push(h);
        }
    }
    let tied = db::media::of_card(&mut *conn, card_id)
        .await
        .context("reading a card's media")?;
    let mut grew = false;
    for h in &named {
        if tied.contains(h) {
            continue;
        }
        if !writer.may_tie(conn, h).await? {
            continue;
        }
        db::media::link(&mut *conn, card_id, h)
            .await
            .context("tying a media file to a card")?;
        grew = true;
    }
    for h in tied.iter().filter(|h| !named.contains(h)) {
        db::media::unlink(&mut *conn, card_id, h)
            .await
            .context("letting a media file go")?;
    }
    Ok(grew)
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
    // The rights first, from queries that do not read the file's bytes: a file one may not
    // see costs no more than one that is missing.
    let Some((content_type, uploaded_by)) = db::media::about(pool, hash)
        .await
        .context("reading a media file")?
    else {
        return Ok(None);
    };
    // A deck's kept files of other types (fonts, videos, anything) are never served.
    if !(content_type.starts_with("image/") || content_type.starts_with("audio/")) {
        return Ok(None);
    }
    let decks = db::media::decks_using(pool, hash)
        .await
        .context("reading who may see a media file")?;
    // Its uploader sees it before a card uses it (an import's preview, the editor's), unless
    // it is one of a package's other files a deck keeps: those are never served, only
    // exported to the deck's editors.
    let may_see = decks.iter().any(|d| learner.can_see(*d))
        || (uploaded_by == Some(learner.id)
            && !db::media::kept_anywhere(pool, hash)
                .await
                .context("reading whether a deck keeps a file")?);
    if !may_see {
        return Ok(None);
    }
    db::media::get(pool, hash)
        .await
        .context("reading a media file")
}

/// An image the deck editor uploads into a card, read from where the upload lies: checked
/// (`media::check`: its type from its bytes, within the size and pixel limits; an image, not
/// a sound) and kept as brought by `user_id`, who may then see it in a preview and tie it to
/// a card they save. Returns the `<img>` element a card side holds: `/media/{hash}` with
/// `alt` (the file's name when none is given). Refused when deck `deck_id`'s cards would then
/// use more media than a deck may ([`crate::media::MAX_DECK_MEDIA_BYTES`]).
pub async fn upload_image(
    pool: &Pool,
    user_id: i64,
    deck_id: i64,
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
    let mut conn = pool.acquire().await.context("reading a deck's media")?;
    let with = deck_bytes_with(
        &mut conn,
        Some(deck_id),
        &[(checked.hash.clone(), bytes.len() as u64)],
    )
    .await?;
    drop(conn);
    if let Some(why) = over_deck_limit(with) {
        return Err(StudyError::Validation(format!(
            "The image was not kept: {why}."
        )));
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

#[cfg(test)]
mod tests {
    #[test]
    fn mib_rounds_up_to_the_tenth() {
        assert_eq!(super::mib(0), "0.0 MiB");
        assert_eq!(super::mib(200 * 1024 * 1024), "200.0 MiB");
        assert_eq!(super::mib(200 * 1024 * 1024 + 10), "200.1 MiB");
        assert_eq!(super::mib(3 * 1024 * 1024 + 512 * 1024), "3.5 MiB");
    }
}
