//! Single conv, pooling and transposed-conv layers: parameters and output shapes.

use super::layers::{Layer, Named, Shape, conv_size, transposed_size};
use super::{Asks, Data, Expected, Misconception, Params, Problem, draw::Draw, thousands};

/// Channel counts the course's networks use.
pub(super) const CHANNELS: &[u64] = &[16, 32, 64, 96, 128, 256, 512];
/// Input channel counts, images (1, 3) included.
pub(super) const IN_CHANNELS: &[u64] = &[1, 3, 16, 32, 64, 96, 128, 256, 512];
pub(super) const KERNELS: &[u64] = &[1, 3, 5, 7, 11];
pub(super) const STRIDES: &[u64] = &[1, 2, 4];

/// Params of a one-layer problem.
pub(super) fn one_layer(asks: Asks, input: Shape, name: &str, layer: Layer) -> Params {
    Params {
        asks,
        data: Data::Layers {
            input: input.dims(),
            layers: vec![Named::new(name, layer)],
            of: None,
        },
    }
}

/// An input size in 28..=227 for which (size + 2P − K) is a multiple of S, so the output is
/// whole without flooring.
pub(super) fn fitting_size(d: &mut Draw, kernel: u64, stride: u64, padding: u64) -> u64 {
    let offset = kernel as i64 - 2 * padding as i64;
    let lo = (u64::try_from((28 - offset).max(0))
        .unwrap_or(0)
        .div_ceil(stride) as i64)
        .max(1);
    let hi = ((227 - offset) / stride as i64).max(lo);
    let m = d.range(lo as u64, hi as u64) as i64;
    u64::try_from(m * stride as i64 + offset)
        .unwrap_or(28)
        .max(kernel)
}

/// A conv layer with a kernel, stride and padding that suit each other.
pub(super) fn conv_layer(d: &mut Draw, in_channels: u64) -> Layer {
    let kernel_size = d.pick(KERNELS);
    let stride = if kernel_size >= 7 {
        d.pick(STRIDES)
    } else {
        d.pick(&[1, 1, 2])
    };
    let padding = d.range(0, (kernel_size / 2).min(3));
    Layer::Conv2d {
        in_channels,
        out_channels: d.pick(CHANNELS),
        kernel_size,
        stride,
        padding,
        bias: d.chance(80),
    }
}

fn integer(n: u64) -> Expected {
    Expected::Integer(i64::try_from(n).unwrap_or(i64::MAX))
}

pub(super) fn parameters(d: &mut Draw) -> Problem {
    let c_in = d_in_channels(d);
    let layer = conv_layer(d, c_in);
    let Layer::Conv2d {
        in_channels: c,
        out_channels: n,
        kernel_size: k,
        stride,
        padding,
        bias,
    } = layer
    else {
        unreachable!("conv_layer makes a Conv2d")
    };
    let size = fitting_size(d, k, stride, padding);
    let b = u64::from(bias);
    let per_filter = k * k * c;
    let mut solution = vec![format!(
        "Each filter spans K·K·C_in = {k}·{k}·{c} = {} weights.",
        thousands(per_filter as i64)
    )];
    if bias {
        solution.push(format!(
            "Plus one bias per filter: {} + 1 = {}.",
            thousands(per_filter as i64),
            thousands(per_filter as i64 + 1)
        ));
    } else {
        solution.push("bias=False, so there is no bias to add.".to_owned());
    }
    solution.push(format!(
        "There are C_out = {n} filters: {}·{n} = {}.",
        thousands((per_filter + b) as i64),
        thousands(((per_filter + b) * n) as i64)
    ));
    solution.push(
        "Stride, padding and the input's height and width do not change the count.".to_owned(),
    );
    let mut misconceptions = vec![
        Misconception {
            answer: integer(k * c * n + b * n),
            label: "used K instead of K·K",
        },
        Misconception {
            answer: integer((k * k * n + b) * c),
            label: "swapped C_in and C_out",
        },
    ];
    if bias {
        misconceptions.insert(
            0,
            Misconception {
                answer: integer(per_filter * n),
                label: "forgot the bias",
            },
        );
    } else {
        misconceptions.insert(
            0,
            Misconception {
                answer: integer((per_filter + 1) * n),
                label: "counted a bias the layer does not have",
            },
        );
    }
    Problem {
        prompt: format!(
            "A layer {} takes a {c}×{size}×{size} input. How many learnable parameters (weights and biases) does it have?",
            layer.describe()
        ),
        params: one_layer(Asks::Parameters, Shape::Chw(c, size, size), "conv1", layer),
        expected: integer((per_filter + b) * n),
        solution,
        misconceptions,
    }
}

fn d_in_channels(d: &mut Draw) -> u64 {
    d.pick(IN_CHANNELS)
}

fn pool_layer(d: &mut Draw) -> (Layer, &'static str) {
    let kernel_size = d.pick(&[2, 2, 3]);
    let stride = d.pick(&[2, 2, 1]);
    let padding = if kernel_size == 3 { d.range(0, 1) } else { 0 };
    if d.chance(70) {
        (
            Layer::MaxPool2d {
                kernel_size,
                stride,
                padding,
            },
            "max",
        )
    } else {
        (
            Layer::AvgPool2d {
                kernel_size,
                stride,
                padding,
            },
            "average",
        )
    }
}

pub(super) fn pool_parameters(d: &mut Draw) -> Problem {
    let (layer, kind) = pool_layer(d);
    let c = d.pick(CHANNELS);
    let (Layer::MaxPool2d {
        kernel_size: k,
        stride,
        padding,
    }
    | Layer::AvgPool2d {
        kernel_size: k,
        stride,
        padding,
    }) = layer
    else {
        unreachable!("pool_layer makes a pooling layer")
    };
    let size = fitting_size(d, k, stride, padding);
    Problem {
        prompt: format!(
            "A layer {} takes a {c}×{size}×{size} input. How many learnable parameters does it have?",
            layer.describe()
        ),
        params: one_layer(Asks::Parameters, Shape::Chw(c, size, size), "pool1", layer),
        expected: Expected::Integer(0),
        solution: vec![
            format!("A pooling layer takes the {kind} of each {k}×{k} window, channel by channel."),
            "That is a fixed function: there are no weights and no biases to learn.".to_owned(),
            "Parameters: 0.".to_owned(),
        ],
        misconceptions: vec![
            Misconception {
                answer: integer((k * k * c + 1) * c),
                label: "counted the pooling window as if it were a conv filter",
            },
            Misconception {
                answer: integer(k * k),
                label: "counted the window's K·K positions as weights",
            },
            Misconception {
                answer: integer(k * k * c),
                label: "counted one weight per window position and channel",
            },
        ],
    }
}

pub(super) fn output_shape(d: &mut Draw) -> Problem {
    let is_conv = d.chance(70);
    let c_in = d_in_channels(d);
    let (layer, name) = if is_conv {
        (conv_layer(d, c_in), "conv1")
    } else {
        (pool_layer(d).0, "pool1")
    };
    let (k, s, p, c_out) = match layer {
        Layer::Conv2d {
            kernel_size,
            stride,
            padding,
            out_channels,
            ..
        } => (kernel_size, stride, padding, out_channels),
        Layer::MaxPool2d {
            kernel_size,
            stride,
            padding,
        }
        | Layer::AvgPool2d {
            kernel_size,
            stride,
            padding,
        } => (kernel_size, stride, padding, c_in),
        _ => unreachable!("a conv or pooling layer"),
    };
    let h = fitting_size(d, k, s, p);
    let w = if d.chance(75) {
        h
    } else {
        fitting_size(d, k, s, p)
    };
    let input = Shape::Chw(c_in, h, w);
    let out = layer.output(input).unwrap_or(input);
    let Shape::Chw(_, h_out, w_out) = out else {
        unreachable!("2-D layers keep C×H×W")
    };

    let side =
        |label: &str, x: u64, y: u64| format!("{}.", super::output_size_tex(label, x, p, k, s, y));
    let mut solution = vec![side("H", h, h_out), side("W", w, w_out)];
    solution.push(if is_conv {
        format!("A conv layer outputs one channel per filter: C_out = {c_out}.")
    } else {
        format!("Pooling works channel by channel, so the channels stay {c_in}.")
    });
    solution.push(format!("Output: {out}."));

    let shape_of = |f: &dyn Fn(u64) -> Option<u64>, c: u64| -> Option<Expected> {
        Some(Expected::Shape(vec![c, f(h)?, f(w)?]))
    };
    let mut misconceptions = Vec::new();
    let mut add = |e: Option<Expected>, label: &'static str| {
        if let Some(answer) = e {
            misconceptions.push(Misconception { answer, label });
        }
    };
    add(
        shape_of(&|x| (x + p).checked_sub(k).map(|v| v / s + 1), c_out),
        "counted the padding once instead of on both sides",
    );
    add(
        shape_of(&|x| (x + 2 * p).checked_sub(k).map(|v| v / s), c_out),
        "forgot the + 1",
    );
    add(
        shape_of(&|x| conv_size(x, k, s, 0), c_out),
        "forgot the padding",
    );
    if is_conv {
        add(
            Some(Expected::Shape(vec![c_in, h_out, w_out])),
            "kept the input's channels instead of one per filter",
        );
    }
    // "98x203": the spatial size is right, the channels are missing.
    add(
        Some(Expected::Shape(vec![h_out, w_out])),
        "left out the channels (the shape is C×H×W)",
    );
    Problem {
        prompt: format!(
            "A layer {} takes a {input} input (C×H×W). What is its output shape? Answer as C×H×W.",
            layer.describe()
        ),
        params: one_layer(Asks::OutputShape, input, name, layer),
        expected: Expected::Shape(out.dims()),
        solution,
        misconceptions,
    }
}

pub(super) fn transposed_output(d: &mut Draw) -> Problem {
    let c_in = d.pick(CHANNELS);
    let c_out = d.pick(CHANNELS);
    let k = d.pick(&[2, 3, 4, 5]);
    let s = if k >= 4 {
        d.pick(&[1, 2, 2, 4])
    } else {
        d.pick(&[1, 2, 2])
    };
    let mut p = d.range(0, (k - 1).min(3));
    let op = if s > 1 && d.chance(35) {
        d.range(1, s - 1)
    } else {
        0
    };
    let h = d.range(4, 64);
    if transposed_size(h, k, s, p, op).is_none() {
        p = 0;
    }
    let layer = Layer::ConvTranspose2d {
        in_channels: c_in,
        out_channels: c_out,
        kernel_size: k,
        stride: s,
        padding: p,
        output_padding: op,
        bias: true,
    };
    let input = Shape::Chw(c_in, h, h);
    let out = layer.output(input).unwrap_or(input);
    let Shape::Chw(_, h_out, _) = out else {
        unreachable!("2-D layers keep C×H×W")
    };
    let solution = vec![
        format!(
            r"\(H_{{\mathrm{{out}}}} = (H - 1) \cdot S - 2P + K + \mathrm{{output\_padding}} = ({h} - 1) \cdot {s} - 2 \cdot {p} + {k} + {op} = {h_out}\)."
        ),
        "The same holds for the width, which equals the height here.".to_owned(),
        format!("A transposed conv outputs C_out = {c_out} channels."),
        format!("Output: {out}."),
    ];
    let square = |size: Option<u64>| {
        size.filter(|s| *s > 0)
            .map(|s| Expected::Shape(vec![c_out, s, s]))
    };
    let mut misconceptions = Vec::new();
    for (answer, label) in [
        (
            square(conv_size(h, k, s, p)),
            "used the ordinary convolution formula",
        ),
        (
            square(((h - 1) * s + k + op).checked_sub(p)),
            "counted the padding once instead of on both sides",
        ),
        (
            square(if op > 0 {
                transposed_size(h, k, s, p, 0)
            } else {
                None
            }),
            "forgot the output padding",
        ),
        (
            square((h * s + k + op).checked_sub(2 * p)),
            "multiplied H by S instead of H − 1",
        ),
        (
            Some(Expected::Shape(vec![h_out, h_out])),
            "left out the channels (the shape is C×H×W)",
        ),
    ] {
        if let Some(answer) = answer {
            misconceptions.push(Misconception { answer, label });
        }
    }
    Problem {
        prompt: format!(
            "A layer {} takes a {input} input (C×H×W). What is its output shape? Answer as C×H×W.",
            layer.describe()
        ),
        params: one_layer(Asks::OutputShape, input, "deconv1", layer),
        expected: Expected::Shape(out.dims()),
        solution,
        misconceptions,
    }
}
