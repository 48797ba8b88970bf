//! Style transfer's numbers on tiny feature maps (2 to 4 channels, 2×2 to 3×3): the Gram
//! matrix G = F·Fᵀ of a layer's features flattened to one row per channel, Gatys' style loss
//! E = Σ (G − A)² / (4·N²·M²) for one layer, and the content loss ½·Σ (F − P)².

use super::layers::LISTING_INDENT;
use super::{
    Asks, Data, Expected, Misconception, Params, Problem, draw::Draw, factor, real, signed,
};

/// Feature maps [C][H][W].
pub type Features = Vec<Vec<Vec<i64>>>;

/// One row per channel: the C×M matrix F with M = H·W.
pub fn flatten(f: &Features) -> Vec<Vec<i64>> {
    f.iter()
        .map(|ch| ch.iter().flatten().copied().collect())
        .collect()
}

/// G = F·Fᵀ: G[i][j] = Σ_k F[i][k]·F[j][k].
pub fn gram(f: &Features) -> Vec<Vec<i64>> {
    let rows = flatten(f);
    rows.iter()
        .map(|a| {
            rows.iter()
                .map(|b| a.iter().zip(b).map(|(x, y)| x * y).sum())
                .collect()
        })
        .collect()
}

/// Fᵀ·F, the M×M matrix a transposed product gives: the misconception.
fn gram_transposed(f: &Features) -> Vec<Vec<i64>> {
    let rows = flatten(f);
    let m = rows.first().map_or(0, Vec::len);
    (0..m)
        .map(|p| {
            (0..m)
                .map(|q| rows.iter().map(|r| r[p] * r[q]).sum())
                .collect()
        })
        .collect()
}

fn squared_difference(a: &[Vec<i64>], b: &[Vec<i64>]) -> i64 {
    a.iter()
        .flatten()
        .zip(b.iter().flatten())
        .map(|(x, y)| (x - y) * (x - y))
        .sum()
}

/// Gatys' style loss of one layer: Σ (G − A)² / (4·N²·M²).
pub fn style_loss(generated: &Features, style: &Features) -> f64 {
    let (n, m) = dims(generated);
    squared_difference(&gram(generated), &gram(style)) as f64 / (4.0 * (n * n * m * m) as f64)
}

/// ½·Σ (F − P)².
pub fn content_loss(generated: &Features, content: &Features) -> f64 {
    squared_difference(&flatten(generated), &flatten(content)) as f64 / 2.0
}

/// N channels, M = H·W positions.
fn dims(f: &Features) -> (usize, usize) {
    (
        f.len(),
        f.first()
            .map_or(0, |ch| ch.len() * ch.first().map_or(0, Vec::len)),
    )
}

fn draw_features(d: &mut Draw, c: usize, h: usize, w: usize) -> Features {
    (0..c)
        .map(|_| {
            (0..h)
                .map(|_| {
                    (0..w)
                        .map(|_| i64::try_from(d.below(4)).unwrap_or(0))
                        .collect()
                })
                .collect()
        })
        .collect()
}

fn channels(name: &str, f: &Features) -> String {
    f.iter()
        .enumerate()
        .map(|(i, ch)| {
            let rows: Vec<String> = ch
                .iter()
                .map(|row| row.iter().map(|v| signed(*v)).collect::<Vec<_>>().join(" "))
                .collect();
            format!("{LISTING_INDENT}{name} channel {i}: [{}]", rows.join("; "))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn gram_steps(name: &str, f: &Features, g: &[Vec<i64>]) -> Vec<String> {
    let rows = flatten(f);
    let mut steps = vec![format!(
        "Flatten {name} to one row per channel ({}×{}): {}.",
        rows.len(),
        rows.first().map_or(0, Vec::len),
        Expected::Matrix(rows.clone()).display()
    )];
    for i in 0..rows.len() {
        for j in i..rows.len() {
            let terms: Vec<String> = rows[i]
                .iter()
                .zip(&rows[j])
                .map(|(a, b)| format!("{}·{}", factor(*a), factor(*b)))
                .collect();
            let mirror = if i == j {
                String::new()
            } else {
                format!(" (= G[{j}][{i}])")
            };
            steps.push(format!(
                "G[{i}][{j}]{mirror} = {} = {}",
                terms.join(" + "),
                signed(g[i][j])
            ));
        }
    }
    steps
}

pub(super) fn style_transfer(d: &mut Draw) -> Problem {
    let c = usize::try_from(d.range(2, 4)).unwrap_or(2);
    let h = usize::try_from(d.range(2, 3)).unwrap_or(2);
    let w = usize::try_from(d.range(2, 3)).unwrap_or(2);
    let generated = draw_features(d, c, h, w);
    match d.below(3) {
        0 => {
            let g = gram(&generated);
            let mut solution = gram_steps("F", &generated, &g);
            solution.push(format!(
                "G = F·Fᵀ = {}.",
                Expected::Matrix(g.clone()).display()
            ));
            Problem {
                prompt: format!(
                    "A layer's feature maps F for one image have {c} channels of {h}×{w}:\n{}\nWhat is the Gram matrix G = F·Fᵀ ({c}×{c}, with F flattened to one row of {} values per channel)?",
                    channels("F", &generated),
                    h * w
                ),
                params: params(Asks::GramMatrix, &generated, None, None),
                expected: Expected::Matrix(g),
                solution,
                // Fᵀ·F is M×M: named when small enough to be typed at all.
                misconceptions: Some(Expected::Matrix(gram_transposed(&generated)))
                    .filter(|m| m.display().chars().count() <= super::answer::MAX_ANSWER_CHARS)
                    .map(|answer| Misconception {
                        answer,
                        label: "computed Fᵀ·F (positions by positions) instead of F·Fᵀ (channels by channels)",
                    })
                    .into_iter()
                    .collect(),
            }
        }
        1 => {
            let style = loop {
                let s = draw_features(d, c, h, w);
                if gram(&s) != gram(&generated) {
                    break s;
                }
            };
            let (g, a) = (gram(&generated), gram(&style));
            let (n, m) = (c, h * w);
            let sum = squared_difference(&g, &a);
            let value = style_loss(&generated, &style);
            let mut solution = gram_steps("F", &generated, &g);
            solution.push(format!("G = {}.", Expected::Matrix(g.clone()).display()));
            solution.push(format!(
                "The style image's Gram matrix, the same way: A = {}.",
                Expected::Matrix(a.clone()).display()
            ));
            let diffs: Vec<String> = g
                .iter()
                .flatten()
                .zip(a.iter().flatten())
                .map(|(x, y)| format!("({} − {})²", signed(*x), factor(*y)))
                .collect();
            solution.push(format!("Σ (G − A)² = {} = {sum}.", diffs.join(" + ")));
            solution.push(format!(
                "N = {n} channels, M = {h}·{w} = {m} positions: 4·N²·M² = 4·{}·{} = {}.",
                n * n,
                m * m,
                4 * n * n * m * m
            ));
            solution.push(format!(
                r"\(\displaystyle E = \frac{{\sum (G - A)^2}}{{4 N^2 M^2}} = \frac{{{}}}{{{}}} = {}\).",
                super::tex_int(sum),
                super::tex_int((4 * n * n * m * m) as i64),
                real(value)
            ));
            let transposed =
                squared_difference(&gram_transposed(&generated), &gram_transposed(&style)) as f64
                    / (4.0 * (n * n * m * m) as f64);
            Problem {
                prompt: format!(
                    "Style transfer (Gatys et al.), one layer: the generated image's features F and the style image's features S, each {c} channels of {h}×{w}:\n{}\n{}\nWith Gram matrices G = F·Fᵀ and A = S·Sᵀ (features flattened to one row per channel), what is the layer's style loss E = Σ (G − A)² / (4·N²·M²)?",
                    channels("F", &generated),
                    channels("S", &style)
                ),
                params: params(Asks::StyleLoss, &generated, Some(&style), None),
                expected: Expected::Real(value),
                solution,
                misconceptions: vec![
                    Misconception {
                        answer: Expected::Real(sum as f64),
                        label: "dropped the 1/(4·N²·M²) factor",
                    },
                    Misconception {
                        answer: Expected::Real(sum as f64 / (4.0 * (n * m) as f64)),
                        label: "divided by 4·N·M instead of 4·N²·M²",
                    },
                    Misconception {
                        answer: Expected::Real(transposed),
                        label: "used Fᵀ·F instead of F·Fᵀ for the Gram matrices",
                    },
                ],
            }
        }
        _ => {
            let content = loop {
                let p = draw_features(d, c, h, w);
                if p != generated {
                    break p;
                }
            };
            let sum = squared_difference(&flatten(&generated), &flatten(&content));
            let value = content_loss(&generated, &content);
            let diffs: Vec<String> = flatten(&generated)
                .iter()
                .flatten()
                .zip(flatten(&content).iter().flatten())
                .filter(|(x, y)| x != y)
                .map(|(x, y)| format!("({} − {})²", signed(*x), factor(*y)))
                .collect();
            let solution = vec![
                format!(
                    "Only the entries that differ add to the sum: Σ (F − P)² = {} = {sum}.",
                    diffs.join(" + ")
                ),
                format!(
                    r"\(\displaystyle \mathcal{{L}}_{{\mathrm{{content}}}} = \frac{{1}}{{2}} \sum (F - P)^2 = \frac{{1}}{{2}} \cdot {sum} = {}\).",
                    real(value)
                ),
            ];
            let entries = (c * h * w) as f64;
            Problem {
                prompt: format!(
                    "Style transfer, content loss at one layer: the generated image's features F and the content image's features P, each {c} channels of {h}×{w}:\n{}\n{}\nWhat is the content loss ½·Σ (F − P)²?",
                    channels("F", &generated),
                    channels("P", &content)
                ),
                params: params(Asks::ContentLoss, &generated, None, Some(&content)),
                expected: Expected::Real(value),
                solution,
                misconceptions: vec![
                    Misconception {
                        answer: Expected::Real(sum as f64),
                        label: "forgot the ½",
                    },
                    Misconception {
                        answer: Expected::Real(sum as f64 / 2.0 / entries),
                        label: "took the mean over the entries instead of the sum",
                    },
                ],
            }
        }
    }
}

fn params(
    asks: Asks,
    features: &Features,
    style: Option<&Features>,
    content: Option<&Features>,
) -> Params {
    Params {
        asks,
        data: Data::Style {
            features: features.clone(),
            style_features: style.cloned(),
            content_features: content.cloned(),
            style_normalization: style.map(|_| "gatys"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gram_matrix_and_losses_by_hand() {
        // Two channels of 2×2: rows [1, 0, 2, 1] and [0, 1, 1, 3].
        let f = vec![vec![vec![1, 0], vec![2, 1]], vec![vec![0, 1], vec![1, 3]]];
        // G[0][0] = 1 + 0 + 4 + 1 = 6; G[0][1] = 0 + 0 + 2 + 3 = 5; G[1][1] = 0 + 1 + 1 + 9 = 11.
        assert_eq!(gram(&f), vec![vec![6, 5], vec![5, 11]]);
        assert_eq!(
            gram_transposed(&f).len(),
            4,
            "Fᵀ·F is positions by positions"
        );
        let s = vec![vec![vec![1, 1], vec![1, 1]], vec![vec![0, 0], vec![0, 2]]];
        // A = [[4, 2], [2, 4]]; Σ (G − A)² = 4 + 9 + 9 + 49 = 71; N = 2, M = 4: 4·4·16 = 256.
        assert_eq!(gram(&s), vec![vec![4, 2], vec![2, 4]]);
        assert!((style_loss(&f, &s) - 71.0 / 256.0).abs() < 1e-12);
        // ½·Σ (F − S)² = ½·(0 + 1 + 1 + 0 + 0 + 1 + 1 + 1) = 2.5.
        assert!((content_loss(&f, &s) - 2.5).abs() < 1e-12);
    }
}
