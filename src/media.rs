//! Media files that cards show (issue 24): images and sounds, stored once by the SHA-256 of
//! their bytes (`db::media`) and served at `/media/{hash}` only to those who may see a card
//! that uses them. Pure: what a file is, whether it may be kept, and which files a card's HTML
//! names.
//!
//! The type is decided from the bytes, never from a name or a declared type: PNG, JPEG, GIF
//! and WebP images, MP3 and Ogg sounds. SVG is refused (it can carry script). An image's
//! dimensions are read from its header (`imagesize`, which decodes nothing) and one of more
//! than [`MAX_PIXELS`] is refused: a few kilobytes can claim a picture that would take a
//! browser gigabytes to decode.

use sha2::{Digest, Sha256};

/// The largest file kept.
pub const MAX_FILE_BYTES: usize = 10 * 1024 * 1024;
/// The most pixels an image may claim (about 8,000 by 5,000).
pub const MAX_PIXELS: u64 = 40_000_000;
/// The most media bytes one import may bring (the sum of its files).
pub const MAX_IMPORT_MEDIA_BYTES: u64 = 200 * 1024 * 1024;
/// The most bytes of files a deck keeps without a card showing them (an Anki package's
/// other files, `deck_media`); files past it are not kept.
pub const MAX_DECK_KEPT_BYTES: u64 = 200 * 1024 * 1024;
/// The most bytes of images and sounds the cards of one deck may use together (each file
/// counted once however many cards show it), checked when an import or the editor would add
/// more.
pub const MAX_DECK_MEDIA_BYTES: u64 = 200 * 1024 * 1024;
/// The most media files one import may bring.
pub const MAX_IMPORT_MEDIA_FILES: usize = 5_000;

/// What a file is, from its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// PNG image.
    Png,
    /// JPEG image.
    Jpeg,
    /// GIF image.
    Gif,
    /// WebP image.
    Webp,
    /// MP3 sound.
    Mp3,
    /// Ogg sound.
    Ogg,
}

impl Kind {
    /// The `Content-Type` it is served with.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Png => "image/png",
            Self::Jpeg => "image/jpeg",
            Self::Gif => "image/gif",
            Self::Webp => "image/webp",
            Self::Mp3 => "audio/mpeg",
            Self::Ogg => "audio/ogg",
        }
    }

    /// Whether it is an image (else a sound).
    pub fn is_image(self) -> bool {
        matches!(self, Self::Png | Self::Jpeg | Self::Gif | Self::Webp)
    }
}

/// A file that may be kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    /// What it is.
    pub kind: Kind,
    /// The SHA-256 of its bytes, lowercase hex: its name and address.
    pub hash: String,
}

/// The lowercase hex SHA-256 of `bytes`.
pub fn hash(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// What `bytes` are, when they are a kind we keep.
pub fn kind_of(bytes: &[u8]) -> Option<Kind> {
    if let Ok(t) = imagesize::image_type(bytes) {
        match t {
            imagesize::ImageType::Png => return Some(Kind::Png),
            imagesize::ImageType::Jpeg => return Some(Kind::Jpeg),
            imagesize::ImageType::Gif => return Some(Kind::Gif),
            imagesize::ImageType::Webp => return Some(Kind::Webp),
            _ => {}
        }
    }
    if bytes.starts_with(b"OggS") {
        return Some(Kind::Ogg);
    }
    // An ID3 tag, or an MPEG audio frame's sync bits (layer III).
    if bytes.starts_with(b"ID3")
        || (bytes.len() >= 2 && bytes[0] == 0xFF && (bytes[1] & 0xE6) == 0xE2)
    {
        return Some(Kind::Mp3);
    }
    None
}

/// Whether `bytes` may be kept: a kind we keep, within [`MAX_FILE_BYTES`], an image whose
/// header can be read and claims at most [`MAX_PIXELS`]. The error is a sentence.
pub fn check(bytes: &[u8]) -> Result<Checked, String> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(format!(
            "it is larger than {} MiB",
            MAX_FILE_BYTES / 1024 / 1024
        ));
    }
    let kind = kind_of(bytes).ok_or_else(|| {
        "it is not a PNG, JPEG, GIF or WebP image, or an MP3 or Ogg sound".to_owned()
    })?;
    if kind.is_image() {
        let size = imagesize::blob_size(bytes)
            .map_err(|_| "its image header cannot be read".to_owned())?;
        let pixels = size.width as u64 * size.height as u64;
        if pixels > MAX_PIXELS {
            return Err(format!(
                "it claims {} by {} pixels; the limit is {} million pixels",
                size.width,
                size.height,
                MAX_PIXELS / 1_000_000
            ));
        }
    }
    Ok(Checked {
        kind,
        hash: hash(bytes),
    })
}

/// The media hashes card HTML names (`/media/{hash}`), each once, in order.
pub fn referenced(html: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut rest = html;
    while let Some(at) = rest.find("/media/") {
        let tail = &rest[at + "/media/".len()..];
        let hash: String = tail
            .chars()
            .take(64)
            .take_while(|c| c.is_ascii_digit() || ('a'..='f').contains(c))
            .collect();
        if hash.len() == 64 && !out.contains(&hash) {
            out.push(hash);
        }
        rest = tail;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A PNG header claiming `w` by `h` pixels (the rest of the file need not exist for the
    /// check, which reads the header only).
    pub fn png(w: u32, h: u32) -> Vec<u8> {
        let mut b = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
        b.extend(w.to_be_bytes());
        b.extend(h.to_be_bytes());
        b.extend([8, 6, 0, 0, 0, 0, 0, 0, 0]);
        b
    }

    #[test]
    fn kinds_come_from_the_bytes() {
        assert_eq!(check(&png(10, 10)).unwrap().kind, Kind::Png);
        assert_eq!(kind_of(b"GIF89a\x01\0\x01\0\0\0\0"), Some(Kind::Gif));
        assert_eq!(kind_of(b"OggS\0\x02"), Some(Kind::Ogg));
        assert_eq!(kind_of(b"ID3\x04\0\0\0\0\0\0"), Some(Kind::Mp3));
        assert_eq!(kind_of(b"\xff\xfb\x90\x00"), Some(Kind::Mp3));
        assert_eq!(
            kind_of(b"<svg xmlns='http://www.w3.org/2000/svg'><script/></svg>"),
            None
        );
        assert_eq!(kind_of(b"<html><script>alert(1)</script>"), None);
        assert!(check(b"<svg onload=alert(1)></svg>").is_err());
    }

    #[test]
    fn a_picture_too_large_to_decode_is_refused_from_its_header() {
        let started = std::time::Instant::now();
        let err = check(&png(100_000, 100_000)).unwrap_err();
        assert!(err.contains("100000 by 100000"), "{err}");
        assert!(started.elapsed().as_millis() < 100);
        assert!(check(&png(8000, 5000)).is_ok());
        assert!(check(&vec![0u8; MAX_FILE_BYTES + 1]).is_err());
    }

    #[test]
    fn references_are_found_once() {
        let a = "a".repeat(64);
        let b = "0".repeat(64);
        let html = format!(
            r#"<img src="/media/{a}"><img src="/media/{a}"><audio src="/media/{b}"></audio> /media/xyz"#
        );
        assert_eq!(referenced(&html), vec![a, b]);
    }
}
