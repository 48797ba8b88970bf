//! Reading what a student typed: numbers with thousands separators, spaces, scientific
//! notation or a unit; shapes as `64x55x55`, `64×55×55` or `(64, 55, 55)`; layer names.

use std::fmt;

/// Why an answer could not be read; it is then not graded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable(pub String);

impl fmt::Display for Unreadable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Unreadable {}

/// Longest answer read, in characters.
pub const MAX_ANSWER_CHARS: usize = 200;

/// Units a number may carry; they are ignored.
const UNITS: &[&str] = &[
    "kib",
    "kb",
    "k",
    "px",
    "pixels",
    "pixel",
    "params",
    "parameters",
    "parameter",
    "bytes",
];

fn too_long(raw: &str) -> Result<(), Unreadable> {
    if raw.chars().count() > MAX_ANSWER_CHARS {
        return Err(Unreadable(format!(
            "That answer is longer than {MAX_ANSWER_CHARS} characters."
        )));
    }
    Ok(())
}

/// Reads a number: `73856`, `73,856`, `73 856`, `7.3856e4`, `1.2E+6`, `-0.25`, `288 KB`.
pub fn number(raw: &str) -> Result<f64, Unreadable> {
    too_long(raw)?;
    let unreadable = || {
        Unreadable(format!(
            "\"{}\" is not a number. Type digits, e.g. 73856, 73,856 or 7.3856e4.",
            raw.trim()
        ))
    };
    let mut text = raw.trim().to_lowercase().replace('\u{2212}', "-");
    for unit in UNITS {
        if let Some(stripped) = text.strip_suffix(unit)
            && !stripped.ends_with(|c: char| c.is_ascii_alphabetic())
        {
            text = stripped.trim_end().to_owned();
            break;
        }
    }
    let cleaned: String = text
        .chars()
        .filter(|c| !matches!(c, ' ' | '_' | '\'' | '\u{a0}' | '\u{202f}' | '\u{2009}'))
        .collect();
    if cleaned.is_empty() {
        return Err(Unreadable("Type an answer first.".to_owned()));
    }
    let plain = strip_thousands_commas(&cleaned).ok_or_else(|| {
        Unreadable(format!(
            "\"{}\" mixes commas oddly: use commas only between groups of three digits, and a dot for decimals.",
            raw.trim()
        ))
    })?;
    let value: f64 = plain.parse().map_err(|_| unreadable())?;
    if !value.is_finite() {
        return Err(unreadable());
    }
    Ok(value)
}

/// Removes commas that separate groups of three digits in the integer part; None if a comma
/// stands anywhere else (a decimal comma would otherwise be read as a thousands separator).
fn strip_thousands_commas(s: &str) -> Option<String> {
    if !s.contains(',') {
        return Some(s.to_owned());
    }
    let (sign, body) = match s.strip_prefix(['-', '+']) {
        Some(rest) => (&s[..1], rest),
        None => ("", s),
    };
    let int_end = body.find(['.', 'e']).unwrap_or(body.len());
    let (int_part, rest) = body.split_at(int_end);
    if rest.contains(',') {
        return None;
    }
    let groups: Vec<&str> = int_part.split(',').collect();
    let first_ok = (1..=3).contains(&groups[0].len());
    let rest_ok = groups[1..].iter().all(|g| g.len() == 3);
    let digits = groups.iter().all(|g| g.chars().all(|c| c.is_ascii_digit()));
    (first_ok && rest_ok && digits).then(|| format!("{sign}{}{rest}", groups.concat()))
}

/// Reads a shape: `64x55x55`, `64 × 55 × 55`, `(64, 55, 55)`, `[64,55,55]`, `4096`.
pub fn shape(raw: &str) -> Result<Vec<u64>, Unreadable> {
    too_long(raw)?;
    let text = raw
        .trim()
        .trim_start_matches(['(', '['])
        .trim_end_matches([')', ']'])
        .to_lowercase();
    let dims: Result<Vec<u64>, _> = text
        .split(|c: char| matches!(c, 'x' | '×' | '*' | ',') || c.is_whitespace())
        .filter(|part| !part.is_empty())
        .map(|part| part.parse::<u64>())
        .collect();
    match dims {
        Ok(d) if !d.is_empty() => Ok(d),
        _ => Err(Unreadable(format!(
            "\"{}\" is not a shape. Type it as C×H×W, e.g. 64x55x55 or (64, 55, 55).",
            raw.trim()
        ))),
    }
}

/// Reads a matrix, row by row: `[[1, 2], [3, 4]]`, `1 2; 3 4`, `1, 2; 3, 4`, or rows on
/// lines. Entries are plain numbers (commas separate them, so no thousands separators).
pub fn matrix(raw: &str) -> Result<Vec<Vec<f64>>, Unreadable> {
    too_long(raw)?;
    let unreadable = |why: &str| {
        Unreadable(format!(
            "\"{}\" is not a matrix{why}. Type it row by row, e.g. [[1, 2], [3, 4]] or 1 2; 3 4.",
            raw.trim()
        ))
    };
    let text = raw.trim().replace('\u{2212}', "-");
    let rows: Vec<&str> = if text.starts_with('[') {
        // [[1, 2], [3, 4]]: every "]" ends a row; the brackets that open them are dropped.
        text.split(']').collect()
    } else {
        text.split([';', '\n']).collect()
    };
    let mut matrix: Vec<Vec<f64>> = Vec::new();
    for row in rows {
        let cells: Vec<&str> = row
            .split(|c: char| c == ',' || c == '[' || c.is_whitespace())
            .filter(|cell| !cell.is_empty())
            .collect();
        if cells.is_empty() {
            continue;
        }
        let values: Result<Vec<f64>, _> = cells.iter().map(|cell| cell.parse::<f64>()).collect();
        match values {
            Ok(v) if v.iter().all(|x| x.is_finite()) => matrix.push(v),
            _ => return Err(unreadable("")),
        }
    }
    if matrix.is_empty() {
        return Err(Unreadable("Type an answer first.".to_owned()));
    }
    if matrix.iter().any(|row| row.len() != matrix[0].len()) {
        return Err(unreadable(": its rows have different lengths"));
    }
    Ok(matrix)
}

/// Reads a list of indices: `0, 2, 3`, `[0, 2, 3]`, `0 2 3`.
pub fn indices(raw: &str) -> Result<Vec<u64>, Unreadable> {
    too_long(raw)?;
    let text = raw
        .trim()
        .trim_start_matches(['[', '('])
        .trim_end_matches([']', ')']);
    let parts: Result<Vec<u64>, _> = text
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|part| !part.is_empty())
        .map(|part| part.parse::<u64>())
        .collect();
    match parts {
        Ok(list) if !list.is_empty() => Ok(list),
        _ => Err(Unreadable(format!(
            "\"{}\" is not a list of box indices. Type them in order, e.g. 0, 2, 3.",
            raw.trim()
        ))),
    }
}

/// Normalises a layer name: case and spaces do not matter.
pub fn name(raw: &str) -> Result<String, Unreadable> {
    too_long(raw)?;
    let n: String = raw
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_lowercase();
    if n.is_empty() {
        return Err(Unreadable(
            "Type the layer's name as the problem lists it, e.g. conv3 or fc1.".to_owned(),
        ));
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn matrices_read_row_by_row_in_every_documented_spelling() {
        let want = vec![vec![1.0, -2.0], vec![3.0, 4.5]];
        for raw in [
            "[[1, -2], [3, 4.5]]",
            "[[1,-2],[3,4.5]]",
            "1 -2; 3 4.5",
            "1, \u{2212}2; 3, 4.5",
            "1 -2\n3 4.5\n",
            " [ [1 -2] [3 4.5] ] ",
        ] {
            assert_eq!(matrix(raw), Ok(want.clone()), "{raw}");
        }
        assert!(
            matrix("1 2; 3")
                .unwrap_err()
                .0
                .contains("different lengths")
        );
        assert!(matrix("1 two; 3 4").is_err());
        assert!(matrix("  ").is_err());
        assert_eq!(matrix("7"), Ok(vec![vec![7.0]]));
    }

    #[test]
    fn index_lists_read_with_commas_spaces_or_brackets() {
        for raw in ["0, 2, 3", "[0,2,3]", "0 2 3", "(0, 2, 3)"] {
            assert_eq!(indices(raw), Ok(vec![0, 2, 3]), "{raw}");
        }
        assert!(indices("0, -1").is_err());
        assert!(indices("").is_err());
    }

    #[test]
    fn numbers_read_in_every_usual_spelling() {
        for (raw, value) in [
            ("73856", 73_856.0),
            ("73,856", 73_856.0),
            ("73 856", 73_856.0),
            ("1,234,567", 1_234_567.0),
            ("7.3856e4", 73_856.0),
            ("1.2e6", 1_200_000.0),
            ("1.2E+6", 1_200_000.0),
            (" -0.25 ", -0.25),
            ("\u{2212}0.5", -0.5),
            ("288 KB", 288.0),
            ("288KiB", 288.0),
            ("1,792 params", 1792.0),
            ("12,544.5", 12_544.5),
        ] {
            assert_eq!(number(raw), Ok(value), "{raw}");
        }
    }

    #[test]
    fn odd_numbers_say_why() {
        assert!(number("").unwrap_err().0.contains("Type an answer"));
        assert!(number("1,5").unwrap_err().0.contains("commas"));
        assert!(number("12,34,567").is_err());
        assert!(number("seventy").unwrap_err().0.contains("not a number"));
        assert!(number("1e999").is_err());
        assert!(number(&"9".repeat(300)).unwrap_err().0.contains("longer"));
    }

    #[test]
    fn shapes_read_in_every_usual_spelling() {
        for raw in [
            "64x55x55",
            "64 × 55 × 55",
            "(64, 55, 55)",
            "[64,55,55]",
            "64X55X55",
            "64*55*55",
        ] {
            assert_eq!(shape(raw), Ok(vec![64, 55, 55]), "{raw}");
        }
        assert_eq!(shape("4096"), Ok(vec![4096]));
        assert!(shape("64x55.5x55").is_err());
        assert!(shape("()").is_err());
    }

    #[test]
    fn names_ignore_case_and_spaces() {
        assert_eq!(name(" FC 1 "), Ok("fc1".to_owned()));
        assert!(name("   ").is_err());
    }

    proptest! {
        #[test]
        fn the_answer_readers_never_panic(s in "\\PC{0,80}") {
            let _ = number(&s);
            let _ = shape(&s);
            let _ = name(&s);
        }

        #[test]
        fn grouped_integers_read_back(n in 0u64..10_000_000_000) {
            let plain = n.to_string();
            let mut grouped = String::new();
            for (i, c) in plain.chars().enumerate() {
                if i > 0 && (plain.len() - i) % 3 == 0 {
                    grouped.push(',');
                }
                grouped.push(c);
            }
            prop_assert_eq!(number(&grouped), Ok(n as f64));
        }
    }
}
