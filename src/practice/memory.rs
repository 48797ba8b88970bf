//! Activation memory of one layer's float32 output, in KB (1 KB = 1024 bytes).

use super::conv::{IN_CHANNELS, conv_layer, fitting_size, one_layer};
use super::fc::{IN_FEATURES, OUT_FEATURES};
use super::layers::{Layer, Shape};
use super::{Asks, Expected, Misconception, Problem, draw::Draw, real, thousands};

pub(super) fn activation_memory(d: &mut Draw) -> Problem {
    if d.chance(70) {
        conv_memory(d)
    } else {
        fc_memory(d)
    }
}

fn kb(bytes: u64) -> f64 {
    bytes as f64 / 1024.0
}

fn conv_memory(d: &mut Draw) -> Problem {
    let c_in = d.pick(IN_CHANNELS);
    let layer = conv_layer(d, c_in);
    let Layer::Conv2d {
        kernel_size: k,
        stride: s,
        padding: p,
        ..
    } = layer
    else {
        unreachable!("conv_layer makes a Conv2d")
    };
    let h = fitting_size(d, k, s, p);
    let input = Shape::Chw(c_in, h, h);
    let out = layer.output(input).unwrap_or(input);
    let Shape::Chw(c, ho, wo) = out else {
        unreachable!("2-D layers keep C×H×W")
    };
    let values = out.elements();
    let bytes = values * 4;
    let solution = vec![
        format!(
            "Output side: {}, so the output is {out}.",
            super::output_size_tex("H", h, p, k, s, ho)
        ),
        format!("Values: {c}·{ho}·{wo} = {}.", thousands(values as i64)),
        format!(
            "Bytes: {}·4 = {} (a float32 is 4 bytes).",
            thousands(values as i64),
            thousands(bytes as i64)
        ),
        format!(
            "KB: {} / 1024 = {} KB.",
            thousands(bytes as i64),
            real(kb(bytes))
        ),
    ];
    let misconceptions = vec![
        Misconception {
            answer: Expected::Real(values as f64 / 1024.0),
            label: "forgot the 4 bytes per float32 value",
        },
        Misconception {
            answer: Expected::Real(bytes as f64),
            label: "forgot to divide by 1024 (gave bytes)",
        },
        Misconception {
            answer: Expected::Real(bytes as f64 / 1000.0),
            label: "divided by 1000 instead of 1024",
        },
        Misconception {
            answer: Expected::Real(kb(input.elements() * 4)),
            label: "used the input instead of the output",
        },
        Misconception {
            answer: Expected::Real(kb(layer.parameters() * 4)),
            label: "counted the weights instead of the activations",
        },
    ];
    Problem {
        prompt: format!(
            "A layer {} takes a {input} input. How much memory, in KB, does its output take in float32 for one image? (1 KB = 1024 bytes; answers within 1% count.)",
            layer.describe()
        ),
        params: one_layer(Asks::ActivationMemoryKb, input, "conv1", layer),
        expected: Expected::Real(kb(bytes)),
        solution,
        misconceptions,
    }
}

fn fc_memory(d: &mut Draw) -> Problem {
    let i = d.pick(IN_FEATURES);
    let o = d.pick(OUT_FEATURES);
    let layer = Layer::Linear {
        in_features: i,
        out_features: o,
        bias: true,
    };
    let bytes = o * 4;
    Problem {
        prompt: format!(
            "A layer {} takes a vector of {i} features. How much memory, in KB, does its output take in float32 for one example? (1 KB = 1024 bytes; answers within 1% count.)",
            layer.describe()
        ),
        params: one_layer(Asks::ActivationMemoryKb, Shape::Flat(i), "fc1", layer),
        expected: Expected::Real(kb(bytes)),
        solution: vec![
            format!(
                "The output has one value per unit: {} values.",
                thousands(o as i64)
            ),
            format!(
                "Bytes: {}·4 = {} (a float32 is 4 bytes).",
                thousands(o as i64),
                thousands(bytes as i64)
            ),
            format!(
                "KB: {} / 1024 = {} KB.",
                thousands(bytes as i64),
                real(kb(bytes))
            ),
        ],
        misconceptions: vec![
            Misconception {
                answer: Expected::Real(o as f64 / 1024.0),
                label: "forgot the 4 bytes per float32 value",
            },
            Misconception {
                answer: Expected::Real(bytes as f64),
                label: "forgot to divide by 1024 (gave bytes)",
            },
            Misconception {
                answer: Expected::Real(bytes as f64 / 1000.0),
                label: "divided by 1000 instead of 1024",
            },
            Misconception {
                answer: Expected::Real(kb(layer.parameters() * 4)),
                label: "counted the weights instead of the activations",
            },
            Misconception {
                answer: Expected::Real(kb(i * 4)),
                label: "used the input instead of the output",
            },
        ],
    }
}
