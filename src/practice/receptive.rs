//! Receptive field of a stack of conv and pooling layers, in input pixels per side.

use super::conv::CHANNELS;
use super::layers::{Layer, Named, Shape, listing};
use super::{Asks, Data, Expected, Misconception, Params, Problem, draw::Draw};

pub(super) fn receptive_field(d: &mut Draw) -> Problem {
    let count = d.range(2, 5);
    let mut layers = Vec::new();
    let mut channels = 3;
    let (mut convs, mut pools) = (0, 0);
    for _ in 0..count {
        if d.chance(65) || layers.is_empty() {
            let kernel_size = d.pick(&[3, 3, 5, 7]);
            let out_channels = d.pick(CHANNELS);
            convs += 1;
            layers.push(Named::new(
                format!("conv{convs}"),
                Layer::Conv2d {
                    in_channels: channels,
                    out_channels,
                    kernel_size,
                    stride: d.pick(&[1, 1, 2]),
                    padding: kernel_size / 2,
                    bias: true,
                },
            ));
            channels = out_channels;
        } else {
            let (kernel_size, padding) = d.pick(&[(2, 0), (3, 1)]);
            pools += 1;
            layers.push(Named::new(
                format!("pool{pools}"),
                Layer::MaxPool2d {
                    kernel_size,
                    stride: 2,
                    padding,
                },
            ));
        }
    }
    let kernel_stride = |l: &Layer| match *l {
        Layer::Conv2d {
            kernel_size,
            stride,
            ..
        }
        | Layer::MaxPool2d {
            kernel_size,
            stride,
            ..
        } => (kernel_size, stride),
        _ => (1, 1),
    };
    let (mut rf, mut jump) = (1u64, 1u64);
    let mut solution = vec![
        "Start with one output pixel: RF = 1, jump (input pixels between neighbours) = 1."
            .to_owned(),
    ];
    for named in &layers {
        let (k, s) = kernel_stride(&named.layer);
        let grown = rf + (k - 1) * jump;
        solution.push(format!(
            "{} (K={k}, S={s}): RF = {rf} + ({k} − 1)·{jump} = {grown}; jump = {jump}·{s} = {}.",
            named.name,
            jump * s
        ));
        rf = grown;
        jump *= s;
    }
    solution.push(format!(
        "One output unit of {} sees {rf}×{rf} input pixels.",
        layers.last().map_or("", |l| l.name.as_str())
    ));
    let ks: Vec<(u64, u64)> = layers.iter().map(|l| kernel_stride(&l.layer)).collect();
    let int = |n: u64| Expected::Integer(i64::try_from(n).unwrap_or(i64::MAX));
    let misconceptions = vec![
        Misconception {
            answer: int(1 + ks.iter().map(|(k, _)| k - 1).sum::<u64>()),
            label: "ignored the strides of earlier layers",
        },
        Misconception {
            answer: int(ks.iter().map(|(k, _)| k).sum()),
            label: "added up the kernel sizes",
        },
        Misconception {
            answer: int(1 + ks.iter().map(|(k, s)| (k - 1) * s).sum::<u64>()),
            label: "scaled each layer by its own stride instead of the strides before it",
        },
    ];
    Problem {
        prompt: format!(
            "A 3×224×224 image goes through these layers, in order:\n{}\nHow many input pixels wide is the receptive field of one unit of the last layer's output?",
            listing(&layers)
        ),
        params: Params {
            asks: Asks::ReceptiveField,
            data: Data::Layers {
                input: Shape::Chw(3, 224, 224).dims(),
                layers,
                of: None,
            },
        },
        expected: int(rf),
        solution,
        misconceptions,
    }
}
