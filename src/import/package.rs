//! The Anki package container (`.apkg`): a zip holding a SQLite collection
//! (`collection.anki21b`, `collection.anki21` or the legacy `collection.anki2`) and a `media`
//! index with the numbered files it names. Unpacking (every size checked while reading, never
//! trusted: zip and zstd bombs are refused) and packing; no database, no card text (that is
//! `import::apkg`).

use super::{ImportError, MediaFile};
use std::collections::HashMap;
use std::io::{Cursor, Read, Seek, Write};

/// The collection file names, preferred first: the modern layout's zstd-compressed
/// `collection.anki21b` (Anki 2.1.50 and later by default; its `collection.anki2` is a
/// placeholder telling old clients to update), then `collection.anki21`, then the legacy one.
const COLLECTIONS: &[&str] = &[
    "collection.anki21b",
    "collection.anki21",
    "collection.anki2",
];

/// The longest media file name a package may bring, in bytes (as file systems allow).
pub const MAX_FILE_NAME_BYTES: usize = 255;

/// Whether `data` starts as a zstd frame does.
fn is_zstd(data: &[u8]) -> bool {
    data.starts_with(&[0x28, 0xB5, 0x2F, 0xFD])
}

/// At most `limit + 1` bytes of the zstd stream `data`: one more than the limit says it is
/// over, however much the frame claims.
fn unzstd(data: impl Read, limit: u64) -> std::io::Result<Vec<u8>> {
    let decoder = zstd::stream::read::Decoder::new(data)?;
    let mut out = Vec::new();
    decoder.take(limit + 1).read_to_end(&mut out)?;
    Ok(out)
}

/// The modern layout's media index: protobuf `MediaEntries`, as Anki's `import_export.proto`
/// defines it (written by hand: only the fields read here).
#[derive(Clone, PartialEq, prost::Message)]
struct MediaEntries {
    #[prost(message, repeated, tag = "1")]
    entries: Vec<MediaEntry>,
}

/// One file of the modern media index: its name; the zip entry holding it is its position
/// in the list (or `legacy_zip_filename`).
#[derive(Clone, PartialEq, prost::Message)]
struct MediaEntry {
    #[prost(string, tag = "1")]
    name: String,
    #[prost(uint32, tag = "2")]
    size: u32,
    #[prost(uint32, optional, tag = "255")]
    legacy_zip_filename: Option<u32>,
}

/// A modern collection's note type settings (`notetypes.config`, protobuf `Notetype.Config`
/// in Anki's `notetypes.proto`): only its kind is read.
#[derive(Clone, PartialEq, prost::Message)]
struct NotetypeConfig {
    /// 0 normal, 1 cloze.
    #[prost(int32, tag = "1")]
    kind: i32,
}

/// A modern collection's card template (`templates.config`, protobuf `CardTemplate.Config`):
/// only its front is read.
#[derive(Clone, PartialEq, prost::Message)]
struct TemplateConfig {
    #[prost(string, tag = "1")]
    q_format: String,
}

/// Whether a modern note type's settings say it is a cloze type (unreadable settings: not).
pub fn notetype_is_cloze(config: &[u8]) -> bool {
    <NotetypeConfig as prost::Message>::decode(config).is_ok_and(|c| c.kind == 1)
}

/// A modern card template's front (`qfmt`); empty when unreadable.
pub fn template_front(config: &[u8]) -> String {
    <TemplateConfig as prost::Message>::decode(config)
        .map(|c| c.q_format)
        .unwrap_or_default()
}

/// The largest collection unpacked from a package. A 2 MiB upload can claim gigabytes (a zip
/// bomb once peaked at 2.1 GB of memory): the size is checked while reading, never trusted.
pub const MAX_COLLECTION_BYTES: u64 = 32 * 1024 * 1024;

/// Whether `bytes` look like a zip file.
pub fn is_zip(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04")
}

/// The collection database inside an `.apkg`.
pub fn collection(bytes: &[u8]) -> Result<Vec<u8>, ImportError> {
    collection_from(Cursor::new(bytes))
}

/// [`collection`] from a package read where it lies (an upload's temporary file).
pub fn collection_from(package: impl Read + Seek) -> Result<Vec<u8>, ImportError> {
    let mut archive = zip::ZipArchive::new(package)
        .map_err(|e| ImportError::whole(format!("the file is not a readable Anki package: {e}")))?;
    for name in COLLECTIONS {
        if let Ok(file) = archive.by_name(name) {
            let too_large = || {
                ImportError::whole(format!(
                    "the package's collection is larger than {} MiB unpacked",
                    MAX_COLLECTION_BYTES / 1024 / 1024
                ))
            };
            if file.size() > MAX_COLLECTION_BYTES {
                return Err(too_large());
            }
            let unreadable =
                |e: std::io::Error| ImportError::whole(format!("{name} could not be read: {e}"));
            let out = if name.ends_with('b') {
                // zstd: the size in the zip is the compressed one; the limit is checked on
                // what comes out.
                unzstd(file, MAX_COLLECTION_BYTES).map_err(unreadable)?
            } else {
                let mut out = Vec::new();
                file.take(MAX_COLLECTION_BYTES + 1)
                    .read_to_end(&mut out)
                    .map_err(unreadable)?;
                out
            };
            if out.len() as u64 > MAX_COLLECTION_BYTES {
                return Err(too_large());
            }
            return Ok(out);
        }
    }
    Err(ImportError::whole("the package holds no Anki collection"))
}

/// An `.apkg` holding `collection` as `collection.anki2`, with no media.
pub fn package(collection: &[u8]) -> Result<Vec<u8>, std::io::Error> {
    package_with_media(collection, &[])
}

/// An `.apkg` holding `collection` and the media `files` (name, bytes) in the legacy layout:
/// the `media` index maps each zip entry's number to its name.
pub fn package_with_media(
    collection: &[u8],
    files: &[(String, Vec<u8>)],
) -> Result<Vec<u8>, std::io::Error> {
    let names: Vec<String> = files.iter().map(|(name, _)| name.clone()).collect();
    let mut writer = PackageWriter::new(Cursor::new(Vec::new()), collection, &names)?;
    for (_, bytes) in files {
        writer.add(bytes)?;
    }
    Ok(writer.finish()?.into_inner())
}

/// An `.apkg` written into `out` one media file at a time (the legacy layout, as
/// [`package_with_media`] writes), so that a deck's media need never all be in memory: the
/// deck's export writes into a temporary file, reading each file from the store as it goes.
pub struct PackageWriter<W: Write + Seek> {
    zip: zip::ZipWriter<W>,
    next: usize,
    files: usize,
}

impl<W: Write + Seek> PackageWriter<W> {
    fn options() -> zip::write::SimpleFileOptions {
        zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
    }

    /// Starts a package in `out` holding `collection` and the `media` index naming
    /// `names`, whose bytes [`Self::add`] then gives in the same order.
    pub fn new(out: W, collection: &[u8], names: &[String]) -> Result<Self, std::io::Error> {
        let mut zip = zip::ZipWriter::new(out);
        zip.start_file("collection.anki2", Self::options())
            .map_err(std::io::Error::other)?;
        zip.write_all(collection)?;
        zip.start_file("media", Self::options())
            .map_err(std::io::Error::other)?;
        let index: serde_json::Map<String, serde_json::Value> = names
            .iter()
            .enumerate()
            .map(|(i, name)| (i.to_string(), serde_json::Value::from(name.as_str())))
            .collect();
        zip.write_all(serde_json::Value::Object(index).to_string().as_bytes())?;
        Ok(Self {
            zip,
            next: 0,
            files: names.len(),
        })
    }

    /// Writes the bytes of the next file the index names.
    pub fn add(&mut self, bytes: &[u8]) -> Result<(), std::io::Error> {
        if self.next >= self.files {
            return Err(std::io::Error::other(
                "more files than the media index names",
            ));
        }
        self.zip
            .start_file(self.next.to_string(), Self::options())
            .map_err(std::io::Error::other)?;
        self.zip.write_all(bytes)?;
        self.next += 1;
        Ok(())
    }

    /// Ends the package (a file the index names but that was not given is written empty);
    /// returns `out`.
    pub fn finish(mut self) -> Result<W, std::io::Error> {
        while self.next < self.files {
            self.add(&[])?;
        }
        self.zip.finish().map_err(std::io::Error::other)
    }
}

/// A package's media: the files cards may show (checked), the files kept only to go back
/// out with the deck (of a type not served here, or failing the image checks), and those
/// refused, with why.
#[derive(Debug, Clone, Default)]
pub struct PackageMedia {
    /// Files that passed `media::check`.
    pub files: Vec<MediaFile>,
    /// Files within the size limit that cards may not show: name, bytes, why not.
    pub unserved: Vec<(String, Vec<u8>, String)>,
    /// Files refused: their names and why.
    pub refused: Vec<(String, String)>,
}

/// The largest `media` index read from a package (a name per file).
const MAX_MEDIA_INDEX_BYTES: u64 = 4 * 1024 * 1024;

/// The media of a legacy package: the `media` index (JSON, `{"0": "diagram.png"}`) and the
/// numbered files it names. Each file is checked (`media::check`); one that fails is
/// refused, not fatal. The sizes are checked while reading, never trusted: at most
/// [`crate::media::MAX_IMPORT_MEDIA_FILES`] files and
/// [`crate::media::MAX_IMPORT_MEDIA_BYTES`] in all.
pub fn media(bytes: &[u8]) -> Result<PackageMedia, ImportError> {
    media_from(Cursor::new(bytes))
}

/// [`media`] from a package read where it lies (an upload's temporary file).
pub fn media_from(package: impl Read + Seek) -> Result<PackageMedia, ImportError> {
    let mut archive = zip::ZipArchive::new(package)
        .map_err(|e| ImportError::whole(format!("the file is not a readable Anki package: {e}")))?;
    let mut out = PackageMedia::default();
    let unreadable =
        |e: std::io::Error| ImportError::whole(format!("the media index could not be read: {e}"));
    let mut raw = Vec::new();
    if let Ok(file) = archive.by_name("media") {
        file.take(MAX_MEDIA_INDEX_BYTES)
            .read_to_end(&mut raw)
            .map_err(unreadable)?;
    }
    // The modern layout: a zstd-compressed protobuf list, and each file zstd-compressed too.
    let modern = is_zstd(&raw);
    let index: HashMap<String, String> = if modern {
        let decoded = unzstd(raw.as_slice(), MAX_MEDIA_INDEX_BYTES).map_err(unreadable)?;
        let entries = <MediaEntries as prost::Message>::decode(decoded.as_slice())
            .map_err(|e| ImportError::whole(format!("the media index could not be read: {e}")))?;
        entries
            .entries
            .into_iter()
            .enumerate()
            .map(|(i, e)| {
                let zip_name = e.legacy_zip_filename.map_or(i as u64, u64::from);
                (zip_name.to_string(), e.name)
            })
            .collect()
    } else {
        // A package without media, or a malformed index, brings no media.
        serde_json::from_slice(&raw).unwrap_or_default()
    };
    if index.len() > crate::media::MAX_IMPORT_MEDIA_FILES {
        return Err(ImportError::whole(format!(
            "the package holds {} media files; at most {} are imported at once",
            index.len(),
            crate::media::MAX_IMPORT_MEDIA_FILES
        )));
    }
    let mut entries: Vec<(String, String)> = index.into_iter().collect();
    entries.sort();
    let mut total: u64 = 0;
    for (number, name) in entries {
        if name.is_empty() || name.contains(['/', '\\', '\0']) || name == "." || name == ".." {
            out.refused
                .push((name, "its name is not a plain file name".to_owned()));
            continue;
        }
        if name.len() > MAX_FILE_NAME_BYTES {
            // A longer name would not fit the database's index of a deck's files.
            let shown: String = name.chars().take(60).collect();
            out.refused.push((
                format!("{shown}…"),
                format!("its name is longer than {MAX_FILE_NAME_BYTES} bytes"),
            ));
            continue;
        }
        let Ok(file) = archive.by_name(&number) else {
            out.refused
                .push((name, "missing from the package".to_owned()));
            continue;
        };
        let limit = crate::media::MAX_FILE_BYTES as u64;
        let unreadable = |e: std::io::Error| {
            ImportError::whole(format!("media file {name} could not be read: {e}"))
        };
        let data = if modern {
            unzstd(file, limit).map_err(unreadable)?
        } else {
            let mut data = Vec::new();
            file.take(limit + 1)
                .read_to_end(&mut data)
                .map_err(unreadable)?;
            data
        };
        total += data.len() as u64;
        if total > crate::media::MAX_IMPORT_MEDIA_BYTES {
            return Err(ImportError::whole(format!(
                "the package's media are larger than {} MiB unpacked",
                crate::media::MAX_IMPORT_MEDIA_BYTES / 1024 / 1024
            )));
        }
        match crate::media::check(&data) {
            Ok(checked) => out.files.push(MediaFile {
                name,
                checked,
                bytes: data,
            }),
            // Too large is refused; anything else (a type not served here, an image whose
            // header fails the checks) is kept as bytes, never shown, to go back out.
            Err(why) if data.len() > crate::media::MAX_FILE_BYTES || data.is_empty() => {
                let why = if data.is_empty() {
                    "it is empty".to_owned()
                } else {
                    why
                };
                out.refused.push((name, why));
            }
            Err(why) => out.unserved.push((name, data, why)),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packages_round_trip_and_odd_files_are_refused() {
        let apkg = package(b"sqlite bytes").unwrap();
        assert!(is_zip(&apkg));
        assert_eq!(collection(&apkg).unwrap(), b"sqlite bytes");
        assert!(collection(b"not a zip").is_err());
    }

    #[test]
    fn a_zip_bomb_is_refused_while_reading() {
        // 40 MiB of zeros compresses to a few dozen KiB.
        let zeros = vec![0u8; (MAX_COLLECTION_BYTES + 8 * 1024 * 1024) as usize];
        let apkg = package(&zeros).unwrap();
        assert!(apkg.len() < 1024 * 1024);
        let err = collection(&apkg).unwrap_err();
        assert!(err.message.contains("larger than 32 MiB"), "{err}");
    }

    /// A zip holding `entries` (name, bytes), stored as they are.
    fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default();
        for (name, bytes) in entries {
            writer.start_file(*name, options).unwrap();
            writer.write_all(bytes).unwrap();
        }
        writer.finish().unwrap().into_inner()
    }

    #[test]
    fn zstd_bombs_in_the_modern_layout_are_refused_while_reading() {
        let zeros = vec![0u8; (MAX_COLLECTION_BYTES + 8 * 1024 * 1024) as usize];
        let bomb = zstd::stream::encode_all(Cursor::new(&zeros), 1).unwrap();
        assert!(bomb.len() < 64 * 1024);
        let apkg = zip_of(&[("collection.anki21b", &bomb), ("collection.anki2", b"old")]);
        let err = collection(&apkg).unwrap_err();
        assert!(err.message.contains("larger than 32 MiB"), "{err}");
        // A media file that unpacks past its limit is refused, not kept.
        let index = MediaEntries {
            entries: vec![MediaEntry {
                name: "big.png".to_owned(),
                size: 1,
                legacy_zip_filename: None,
            }],
        };
        let index = zstd::stream::encode_all(Cursor::new(prost::Message::encode_to_vec(&index)), 1)
            .unwrap();
        let apkg = zip_of(&[("media", &index), ("0", &bomb)]);
        let media = media(&apkg).unwrap();
        assert!(media.files.is_empty());
        assert_eq!(media.refused.len(), 1);
        assert!(
            media.refused[0].1.contains("larger than 10 MiB"),
            "{:?}",
            media.refused
        );
    }
}
