//! Figures for the card-text readers (issue 21): how long the link reader, the formula splitter
//! and the TeX converter take on ordinary text and on the inputs that once made them
//! quadratic or overflowed the stack. Run with `cargo run --release --example text_bench`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::{Duration, Instant};
use studyhall::{math, text};

/// Runs `f` until a second has passed (at least 3 times); returns the median time of one run.
fn time(f: impl Fn()) -> Duration {
    let mut runs = Vec::new();
    let start = Instant::now();
    while runs.len() < 3 || start.elapsed() < Duration::from_secs(1) {
        let t = Instant::now();
        f();
        runs.push(t.elapsed());
        if runs.len() >= 10_000 {
            break;
        }
    }
    runs.sort();
    runs[runs.len() / 2]
}

fn report(name: &str, bytes: usize, d: Duration) {
    println!("{name:<58} {bytes:>9} B {:>12.1} µs", d.as_secs_f64() * 1e6);
}

fn main() {
    println!("{:<58} {:>11} {:>15}", "input", "size", "median");
    let card = r"The output is \(\left\lfloor \frac{H + 2P - K}{S} \right\rfloor + 1\) rows; see https://arxiv.org/abs/1512.03385.";
    report(
        "an ordinary card (one formula, one link)",
        card.len(),
        time(|| {
            black_box(text::runs(black_box(card)));
        }),
    );
    let formula = r"\sum_{i=1}^{n} \frac{\partial L}{\partial w_i} x_i^2";
    report(
        "one formula, converted and sanitised",
        formula.len(),
        time(|| {
            black_box(math::convert(black_box(formula), false));
        }),
    );
    report(
        "the same formula, remembered",
        formula.len(),
        time(|| {
            black_box(math::to_mathml(black_box(formula), false));
        }),
    );
    let mathml = math::to_mathml(formula, false).unwrap();
    report(
        "  of which the sanitiser",
        mathml.len(),
        time(|| {
            black_box(math::sanitise(black_box(&mathml)));
        }),
    );
    for n in [10_000, 100_000, 1_000_000] {
        let links = format!("https://example.org/a_(b){}", ")]".repeat(n));
        report(
            &format!("a link ending in {} brackets", 2 * n),
            links.len(),
            time(|| {
                black_box(text::segments(black_box(&links)));
            }),
        );
    }
    let tsv_back = format!("https://x.org/{}", ")".repeat(10_000));
    report(
        "a 10,000-character back of brackets (2 MB TSV: 200 of them)",
        tsv_back.len(),
        time(|| {
            black_box(text::runs(black_box(&tsv_back)));
        }),
    );
    for n in [10_000, 100_000] {
        let unclosed = r"\( \[ ".repeat(n);
        report(
            &format!("{} formula openings without a close", 2 * n),
            unclosed.len(),
            time(|| {
                black_box(math::pieces(black_box(&unclosed)));
            }),
        );
    }
    let braces = format!(r"\({}x{}\)", "{".repeat(1250), "}".repeat(1250));
    report(
        "1,250 nested braces (refused: shown as typed)",
        braces.len(),
        time(|| {
            black_box(math::pieces(black_box(&braces)));
        }),
    );
    let fracs = format!(r"\({}x{}\)", r"\frac{".repeat(900), "}{y}".repeat(900));
    report(
        "900 nested \\frac (refused: shown as typed)",
        fracs.len(),
        time(|| {
            black_box(math::pieces(black_box(&fracs)));
        }),
    );
    let chain = format!(r"\({}xy\)", r"\frac".repeat(1_990));
    report(
        "a chain of 1,990 \\frac (converted on a grown stack)",
        chain.len(),
        time(|| {
            black_box(math::pieces(black_box(&chain)));
        }),
    );
}
