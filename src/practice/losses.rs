//! Loss functions with given numbers: L1, L2, MSE, binary cross-entropy, balanced
//! cross-entropy, focal and class-balanced focal loss. Natural log throughout.

use super::{Asks, Data, Expected, Misconception, Params, Problem, draw::Draw, real};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    L1,
    L2,
    Mse,
    Bce,
    Balanced,
    Focal,
    ClassBalancedFocal,
}

impl Kind {
    fn id(self) -> &'static str {
        match self {
            Kind::L1 => "l1",
            Kind::L2 => "l2",
            Kind::Mse => "mse",
            Kind::Bce => "bce",
            Kind::Balanced => "balanced_ce",
            Kind::Focal => "focal",
            Kind::ClassBalancedFocal => "class_balanced_focal",
        }
    }

    fn is_classification(self) -> bool {
        !matches!(self, Kind::L1 | Kind::L2 | Kind::Mse)
    }

    fn uses_alpha(self) -> bool {
        matches!(self, Kind::Balanced | Kind::ClassBalancedFocal)
    }

    fn uses_gamma(self) -> bool {
        matches!(self, Kind::Focal | Kind::ClassBalancedFocal)
    }
}

/// One way of computing the loss; the default is right, the others are misconceptions.
#[derive(Clone, Copy, Default)]
struct Way {
    log10: bool,
    other_reduction: bool,
    square: Option<bool>,
    p_for_negatives: bool,
    no_focal_factor: bool,
    pt_to_gamma: bool,
    alpha_everywhere: bool,
    no_alpha: bool,
    no_minus: bool,
}

struct Setup {
    kind: Kind,
    targets: Vec<f64>,
    predictions: Vec<f64>,
    alpha: f64,
    gamma: f64,
    mean: bool,
}

impl Setup {
    fn term(&self, y: f64, p: f64, way: Way) -> f64 {
        if !self.kind.is_classification() {
            let diff = (y - p).abs();
            let square = way.square.unwrap_or(self.kind != Kind::L1);
            return if square { diff * diff } else { diff };
        }
        let positive = y >= 0.5;
        let pt = if positive || way.p_for_negatives {
            p
        } else {
            1.0 - p
        };
        let log = if way.log10 { pt.log10() } else { pt.ln() };
        let alpha_t = if !self.kind.uses_alpha() || way.no_alpha {
            1.0
        } else if positive || way.alpha_everywhere {
            self.alpha
        } else {
            1.0 - self.alpha
        };
        let focal = if !self.kind.uses_gamma() || way.no_focal_factor {
            1.0
        } else if way.pt_to_gamma {
            pt.powf(self.gamma)
        } else {
            (1.0 - pt).powf(self.gamma)
        };
        let sign = if way.no_minus { 1.0 } else { -1.0 };
        sign * alpha_t * focal * log
    }

    fn value(&self, way: Way) -> f64 {
        let sum: f64 = self
            .targets
            .iter()
            .zip(&self.predictions)
            .map(|(y, p)| self.term(*y, *p, way))
            .sum();
        if self.mean != way.other_reduction {
            sum / self.targets.len() as f64
        } else {
            sum
        }
    }
}

fn hundredths(d: &mut Draw, lo: u64, hi: u64) -> f64 {
    d.range(lo, hi) as f64 / 100.0
}

fn list(values: &[f64], decimals: usize) -> String {
    let items: Vec<String> = values.iter().map(|v| format!("{v:.decimals$}")).collect();
    format!("[{}]", items.join(", "))
}

pub(super) fn loss(d: &mut Draw) -> Problem {
    let kind = d.pick(&[
        Kind::L1,
        Kind::L2,
        Kind::Mse,
        Kind::Bce,
        Kind::Balanced,
        Kind::Focal,
        Kind::ClassBalancedFocal,
    ]);
    let n = if kind.is_classification() {
        d.range(2, 4)
    } else {
        d.range(3, 5)
    };
    let (targets, predictions): (Vec<f64>, Vec<f64>) = (0..n)
        .map(|_| {
            if kind.is_classification() {
                (if d.chance(50) { 1.0 } else { 0.0 }, hundredths(d, 5, 95))
            } else {
                // Tenths as integers, so the numbers are exactly the one-decimal values shown.
                let y = d.range(0, 50) as i64;
                let delta = d.range(1, 20) as i64;
                let p = if d.chance(50) { y + delta } else { y - delta };
                (y as f64 / 10.0, p as f64 / 10.0)
            }
        })
        .unzip();
    let setup = Setup {
        kind,
        targets,
        predictions,
        alpha: d.pick(&[0.25, 0.5, 0.75]),
        gamma: d.pick(&[1.0, 2.0, 3.0]),
        mean: match kind {
            Kind::Mse => true,
            _ => d.chance(50),
        },
    };
    let expected = setup.value(Way::default());
    let reduction = if setup.mean { "mean" } else { "sum" };

    let (name, formula) = match kind {
        Kind::L1 => ("L1 loss", "the sum of |y − ŷ|".to_owned()),
        Kind::L2 => ("L2 loss", "the sum of (y − ŷ)²".to_owned()),
        Kind::Mse => ("mean squared error", "the mean of (y − ŷ)²".to_owned()),
        Kind::Bce => ("binary cross-entropy", "−ln(p_t) per example".to_owned()),
        Kind::Balanced => (
            "balanced cross-entropy",
            format!("−α_t·ln(p_t) per example, α = {}", setup.alpha),
        ),
        Kind::Focal => (
            "focal loss",
            format!("−(1 − p_t)^γ·ln(p_t) per example, γ = {}", setup.gamma),
        ),
        Kind::ClassBalancedFocal => (
            "class-balanced focal loss",
            format!(
                "−α_t·(1 − p_t)^γ·ln(p_t) per example, α = {}, γ = {}",
                setup.alpha, setup.gamma
            ),
        ),
    };
    let definitions = if kind.is_classification() {
        let mut s = " Here p is the predicted probability of class 1, p_t = p when y = 1 and 1 − p when y = 0".to_owned();
        if kind.uses_alpha() {
            s.push_str(", and α_t = α when y = 1 and 1 − α when y = 0");
        }
        s.push('.');
        s
    } else {
        String::new()
    };
    let reduce_words = match (kind, setup.mean) {
        (Kind::L1 | Kind::L2, true) => " Report the mean over the examples instead of the sum.",
        (Kind::Mse, _) | (Kind::L1 | Kind::L2, false) => "",
        (_, true) => " Report the mean over the examples.",
        (_, false) => " Report the sum over the examples.",
    };
    let prompt = format!(
        "Compute the {name}: {formula}{}.{definitions}{reduce_words}\nTargets y = {}\nPredictions {} = {}\n(Answers within 1% count.)",
        if kind.is_classification() {
            ", with the natural log"
        } else {
            ""
        },
        list(&setup.targets, if kind.is_classification() { 0 } else { 1 }),
        if kind.is_classification() { "p" } else { "ŷ" },
        list(
            &setup.predictions,
            if kind.is_classification() { 2 } else { 1 }
        ),
    );

    let mut solution = Vec::new();
    for (i, (y, p)) in setup.targets.iter().zip(&setup.predictions).enumerate() {
        let term = setup.term(*y, *p, Way::default());
        solution.push(if kind.is_classification() {
            let pt = if *y >= 0.5 { *p } else { 1.0 - p };
            format!(
                "Example {}: y = {y}, p = {p:.2}, so p_t = {pt:.2}; term = {}.",
                i + 1,
                real(term)
            )
        } else {
            format!(
                "Example {}: y − ŷ = {} − {} = {}; term = {}.",
                i + 1,
                one_place(*y),
                operand(*p),
                one_place(y - p),
                real(term)
            )
        });
    }
    let sum: f64 = setup
        .targets
        .iter()
        .zip(&setup.predictions)
        .map(|(y, p)| setup.term(*y, *p, Way::default()))
        .sum();
    solution.push(format!("Sum of the terms: {}.", real(sum)));
    if setup.mean {
        solution.push(format!("Mean: {} / {n} = {}.", real(sum), real(expected)));
    }

    let way = Way::default();
    let mut wrong: Vec<(Way, &'static str)> = vec![(
        Way {
            other_reduction: true,
            ..way
        },
        if setup.mean {
            "summed instead of averaging"
        } else {
            "took the mean instead of the sum"
        },
    )];
    match kind {
        Kind::L1 => wrong.push((
            Way {
                square: Some(true),
                ..way
            },
            "squared the differences (that is L2)",
        )),
        Kind::L2 | Kind::Mse => wrong.push((
            Way {
                square: Some(false),
                ..way
            },
            "forgot to square the differences",
        )),
        _ => {
            wrong.push((
                Way { log10: true, ..way },
                "used log10 instead of the natural log",
            ));
            wrong.push((
                Way {
                    p_for_negatives: true,
                    ..way
                },
                "used p instead of 1 − p for examples of class 0",
            ));
            wrong.push((
                Way {
                    no_minus: true,
                    ..way
                },
                "forgot the minus sign",
            ));
        }
    }
    if kind.uses_alpha() {
        wrong.push((
            Way {
                alpha_everywhere: true,
                ..way
            },
            "used α for class-0 examples too, instead of 1 − α",
        ));
        wrong.push((
            Way {
                no_alpha: true,
                ..way
            },
            "left out the α_t weight",
        ));
    }
    if kind.uses_gamma() {
        wrong.push((
            Way {
                no_focal_factor: true,
                ..way
            },
            "left out the (1 − p_t)^γ factor",
        ));
        wrong.push((
            Way {
                pt_to_gamma: true,
                ..way
            },
            "used p_t^γ instead of (1 − p_t)^γ",
        ));
    }
    let misconceptions = wrong
        .into_iter()
        .map(|(w, label)| Misconception {
            answer: Expected::Real(setup.value(w)),
            label,
        })
        .collect();

    Problem {
        prompt,
        params: Params {
            asks: Asks::Loss,
            data: Data::Loss {
                loss: kind.id(),
                alpha: kind.uses_alpha().then_some(setup.alpha),
                gamma: kind.uses_gamma().then_some(setup.gamma),
                targets: setup.targets,
                predictions: setup.predictions,
                reduction,
            },
        },
        expected: Expected::Real(expected),
        solution,
        misconceptions,
    }
}

/// A value to one decimal place, negative with a true minus sign ("−1.2").
fn one_place(x: f64) -> String {
    let text = format!("{:.1}", x.abs());
    if x < 0.0 && text != "0.0" {
        format!("−{text}")
    } else {
        text
    }
}

/// A value on the right of a minus sign: parenthesised when negative ("0.3 − (−1.2)").
fn operand(x: f64) -> String {
    let text = one_place(x);
    if text.starts_with('−') {
        format!("({text})")
    } else {
        text
    }
}
