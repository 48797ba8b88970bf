//! GoogLeNet's Inception module: four branches on the same input (a 1×1 convolution; a 1×1
//! reduction then a 3×3; a 1×1 reduction then a 5×5; a 3×3 max-pool then a 1×1 projection),
//! padded to keep the size and concatenated on channels. Convolutions have biases, as in the
//! paper's table (torchvision's variant adds BatchNorm instead).

use super::layers::{Layer, Named, Shape};
use super::{Asks, Data, Expected, Misconception, Params, Problem, draw::Draw, thousands};

/// One module's widths, as the GoogLeNet paper's table gives them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Widths {
    /// Input channels.
    pub input: u64,
    /// #1×1.
    pub c1: u64,
    /// #3×3 reduce.
    pub r3: u64,
    /// #3×3.
    pub c3: u64,
    /// #5×5 reduce.
    pub r5: u64,
    /// #5×5.
    pub c5: u64,
    /// pool proj.
    pub pool: u64,
}

/// GoogLeNet's modules, (name, widths, side).
const TABLE: &[(&str, Widths, u64)] = &[
    (
        "3a",
        Widths {
            input: 192,
            c1: 64,
            r3: 96,
            c3: 128,
            r5: 16,
            c5: 32,
            pool: 32,
        },
        28,
    ),
    (
        "3b",
        Widths {
            input: 256,
            c1: 128,
            r3: 128,
            c3: 192,
            r5: 32,
            c5: 96,
            pool: 64,
        },
        28,
    ),
    (
        "4a",
        Widths {
            input: 480,
            c1: 192,
            r3: 96,
            c3: 208,
            r5: 16,
            c5: 48,
            pool: 64,
        },
        14,
    ),
    (
        "4b",
        Widths {
            input: 512,
            c1: 160,
            r3: 112,
            c3: 224,
            r5: 24,
            c5: 64,
            pool: 64,
        },
        14,
    ),
    (
        "4c",
        Widths {
            input: 512,
            c1: 128,
            r3: 128,
            c3: 256,
            r5: 24,
            c5: 64,
            pool: 64,
        },
        14,
    ),
    (
        "4d",
        Widths {
            input: 512,
            c1: 112,
            r3: 144,
            c3: 288,
            r5: 32,
            c5: 64,
            pool: 64,
        },
        14,
    ),
    (
        "4e",
        Widths {
            input: 528,
            c1: 256,
            r3: 160,
            c3: 320,
            r5: 32,
            c5: 128,
            pool: 128,
        },
        14,
    ),
    (
        "5a",
        Widths {
            input: 832,
            c1: 256,
            r3: 160,
            c3: 320,
            r5: 32,
            c5: 128,
            pool: 128,
        },
        7,
    ),
    (
        "5b",
        Widths {
            input: 832,
            c1: 384,
            r3: 192,
            c3: 384,
            r5: 48,
            c5: 128,
            pool: 128,
        },
        7,
    ),
];

fn conv(name: &str, cin: u64, cout: u64, k: u64) -> Named {
    Named::conv_same(name, cin, cout, k, 1, true)
}

/// The four branches, with the 1×1 reductions or without them (the naive module, whose pool
/// branch passes the input's channels through).
pub fn branches(w: Widths, reductions: bool) -> Vec<Vec<Named>> {
    let pool = Named::new(
        "pool",
        Layer::MaxPool2d {
            kernel_size: 3,
            stride: 1,
            padding: 1,
        },
    );
    if reductions {
        vec![
            vec![conv("1x1", w.input, w.c1, 1)],
            vec![
                conv("3x3_reduce", w.input, w.r3, 1),
                conv("3x3", w.r3, w.c3, 3),
            ],
            vec![
                conv("5x5_reduce", w.input, w.r5, 1),
                conv("5x5", w.r5, w.c5, 5),
            ],
            vec![pool, conv("pool_proj", w.input, w.pool, 1)],
        ]
    } else {
        vec![
            vec![conv("1x1", w.input, w.c1, 1)],
            vec![conv("3x3", w.input, w.c3, 3)],
            vec![conv("5x5", w.input, w.c5, 5)],
            vec![pool],
        ]
    }
}

fn layers(bs: &[Vec<Named>]) -> impl Iterator<Item = &Named> {
    bs.iter().flatten()
}

/// Learnable parameters of the module.
pub fn parameters(bs: &[Vec<Named>]) -> u64 {
    layers(bs).map(|l| l.layer.parameters()).sum()
}

/// Multiply-adds on a side×side input: K·K·C_in·C_out·H_out·W_out per convolution.
pub fn multiply_adds(bs: &[Vec<Named>], side: u64) -> u64 {
    layers(bs)
        .map(|l| match l.layer {
            Layer::Conv2d {
                in_channels,
                out_channels,
                kernel_size: k,
                ..
            } => k * k * in_channels * out_channels * side * side,
            _ => 0,
        })
        .sum()
}

/// The output channels: the branches' last layers, concatenated.
pub fn output_channels(bs: &[Vec<Named>], input: u64) -> u64 {
    bs.iter()
        .map(|b| match b.last().map(|l| l.layer) {
            Some(Layer::Conv2d { out_channels, .. }) => out_channels,
            _ => input,
        })
        .sum()
}

fn listing(bs: &[Vec<Named>]) -> String {
    bs.iter()
        .enumerate()
        .map(|(i, b)| {
            format!(
                "{}branch {}: {}",
                super::layers::LISTING_INDENT,
                i + 1,
                b.iter()
                    .map(|l| format!("{} {}", l.name, l.layer.describe()))
                    .collect::<Vec<_>>()
                    .join(" → ")
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn draw_widths(d: &mut Draw) -> (String, Widths, u64) {
    if d.chance(60) {
        let (name, w, side) = d.pick(TABLE);
        (format!("GoogLeNet's inception ({name}) module"), w, side)
    } else {
        let input = d.pick(&[192u64, 256, 480, 512, 832]);
        let w = Widths {
            input,
            c1: 16 * d.range(4, 16),
            r3: 16 * d.range(4, 10),
            c3: 32 * d.range(4, 10),
            r5: 8 * d.range(2, 6),
            c5: 16 * d.range(2, 8),
            pool: 32 * d.range(1, 4),
        };
        let side = d.pick(&[28u64, 14, 7]);
        ("An Inception module".to_owned(), w, side)
    }
}

pub(super) fn inception_module(d: &mut Draw) -> Problem {
    let (what, w, side) = draw_widths(d);
    let input = Shape::Chw(w.input, side, side);
    let with = branches(w, true);
    let without = branches(w, false);
    let params = parameters(&with);
    let data = |asks| Params {
        asks,
        data: Data::Inception {
            input: input.dims(),
            branches: with.clone(),
        },
    };
    let intro = format!(
        "{what} takes a {input} input through four branches, each padded to keep {side}×{side}, and concatenates their outputs on channels:\n{}\n",
        listing(&with)
    );
    let int = |n: u64| Expected::Integer(i64::try_from(n).unwrap_or(i64::MAX));
    let param_lines: Vec<String> = layers(&with).map(Named::parameter_line).collect();
    match d.below(4) {
        0 => {
            let mut solution = param_lines;
            solution.push(format!(
                "Total: {} parameters (the max-pool has none).",
                thousands(params as i64)
            ));
            let biases: u64 = layers(&with)
                .map(|l| match l.layer {
                    Layer::Conv2d { out_channels, .. } => out_channels,
                    _ => 0,
                })
                .sum();
            Problem {
                prompt: format!("{intro}How many learnable parameters does the module have?"),
                params: data(Asks::Parameters),
                expected: int(params),
                solution,
                misconceptions: vec![
                    Misconception {
                        answer: int(parameters(&without) + with[3][1].layer.parameters()),
                        label: "left out the 1×1 reductions (3×3 and 5×5 straight from the input)",
                    },
                    Misconception {
                        answer: int(params - with[2][0].layer.parameters()),
                        label: "counted one 1×1 reduction for both branches instead of one each",
                    },
                    Misconception {
                        answer: int(params + 9 * w.input * w.input),
                        label: "gave the max-pool branch the weights of a 3×3 convolution",
                    },
                    Misconception {
                        answer: int(params - biases),
                        label: "forgot the biases",
                    },
                ],
            }
        }
        1 => {
            let c = output_channels(&with, w.input);
            let solution = vec![
                format!(
                    "Every branch keeps {side}×{side}: 1×1 convolutions need no padding, the 3×3 has padding 1, the 5×5 padding 2, the max-pool stride 1 and padding 1."
                ),
                format!(
                    "Channels: {} + {} + {} + {} = {c} (the 1×1, 3×3, 5×5 and pool-projection outputs; the reductions feed the next layer, they are not in the output).",
                    w.c1, w.c3, w.c5, w.pool
                ),
                format!("Output: {c}×{side}×{side}."),
            ];
            Problem {
                prompt: format!(
                    "{intro}What is the shape of the module's output? Answer as C×H×W."
                ),
                params: data(Asks::OutputShape),
                expected: Expected::Shape(vec![c, side, side]),
                solution,
                misconceptions: vec![
                    Misconception {
                        answer: Expected::Shape(vec![w.c1 + w.c3 + w.c5 + w.input, side, side]),
                        label: "let the pool branch pass the input's channels (its 1×1 projection sets them)",
                    },
                    Misconception {
                        answer: Expected::Shape(vec![c + w.r3 + w.r5, side, side]),
                        label: "added the reductions' channels to the output",
                    },
                    Misconception {
                        answer: Expected::Shape(vec![w.c1 + w.c3 + w.c5, side, side]),
                        label: "left the pool branch out of the concatenation",
                    },
                ],
            }
        }
        2 => {
            let macs = multiply_adds(&with, side);
            let mut solution: Vec<String> = layers(&with)
                .filter_map(|l| match l.layer {
                    Layer::Conv2d {
                        in_channels,
                        out_channels,
                        kernel_size: k,
                        ..
                    } => Some(format!(
                        "{}: {k}·{k}·{in_channels}·{out_channels}·{side}·{side} = {}",
                        l.name,
                        thousands((k * k * in_channels * out_channels * side * side) as i64)
                    )),
                    _ => None,
                })
                .collect();
            solution.push(format!(
                "Total: {} multiply-adds (one per weight use; the max-pool and the bias additions count none).",
                thousands(macs as i64)
            ));
            Problem {
                prompt: format!(
                    "{intro}How many multiply-adds does one pass of the module take (K·K·C_in·C_out·H_out·W_out per convolution)?"
                ),
                params: data(Asks::MultiplyAdds),
                expected: int(macs),
                solution,
                misconceptions: vec![
                    Misconception {
                        answer: int(macs / (side * side)),
                        label: "left out the output's H·W: every weight is used at every position",
                    },
                    Misconception {
                        answer: int(
                            multiply_adds(&without, side) + multiply_adds(&[with[3].clone()], side)
                        ),
                        label: "left out the 1×1 reductions (3×3 and 5×5 straight from the input)",
                    },
                ],
            }
        }
        _ => {
            // What the reductions save: the 3×3 and 5×5 branches with and without them.
            let naive = parameters(&[without[1].clone(), without[2].clone()]);
            let reduced = parameters(&[with[1].clone(), with[2].clone()]);
            let saved = naive.saturating_sub(reduced);
            let solution = vec![
                format!(
                    "Without reductions: 3×3 (3·3·{} + 1)·{} = {}; 5×5 (5·5·{} + 1)·{} = {}; together {}.",
                    w.input,
                    w.c3,
                    thousands(without[1][0].layer.parameters() as i64),
                    w.input,
                    w.c5,
                    thousands(without[2][0].layer.parameters() as i64),
                    thousands(naive as i64)
                ),
                format!(
                    "With them: {} + {} + {} + {} = {}.",
                    thousands(with[1][0].layer.parameters() as i64),
                    thousands(with[1][1].layer.parameters() as i64),
                    thousands(with[2][0].layer.parameters() as i64),
                    thousands(with[2][1].layer.parameters() as i64),
                    thousands(reduced as i64)
                ),
                format!(
                    "Saved: {} − {} = {} parameters.",
                    thousands(naive as i64),
                    thousands(reduced as i64),
                    thousands(saved as i64)
                ),
            ];
            Problem {
                prompt: format!(
                    "{intro}How many parameters do the 1×1 reductions save in the 3×3 and 5×5 branches, compared with 3×3 and 5×5 convolutions applied straight to the input with the same output channels?"
                ),
                params: data(Asks::ParametersSavedByReductions),
                expected: int(saved),
                solution,
                misconceptions: vec![
                    Misconception {
                        answer: int(naive),
                        label: "gave the cost without reductions, not the saving",
                    },
                    Misconception {
                        answer: int(naive.saturating_sub(
                            with[1][1].layer.parameters() + with[2][1].layer.parameters(),
                        )),
                        label: "forgot to count the reductions' own parameters",
                    },
                ],
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::layers::analyze;
    use super::*;

    #[test]
    fn googlenet_inception_3a_has_its_known_size() {
        let (_, w, side) = TABLE[0];
        let bs = branches(w, true);
        assert_eq!(parameters(&bs), 163_696);
        assert_eq!(output_channels(&bs, w.input), 256);
        for b in &bs {
            let out = analyze(Shape::Chw(w.input, side, side), b).unwrap();
            assert!(matches!(out.last().unwrap().output, Shape::Chw(_, 28, 28)));
        }
        // The paper's multiply-adds for 3a: 128M, counting each convolution at 28×28.
        let macs = multiply_adds(&bs, side);
        assert_eq!(macs, 128_049_152);
    }
}
