//! Fully connected layers: parameters.

use super::conv::one_layer;
use super::layers::{Layer, Shape};
use super::{Asks, Expected, Misconception, Problem, draw::Draw, thousands};

pub(super) const IN_FEATURES: &[u64] = &[64, 128, 256, 512, 784, 1024, 2048, 4096, 9216, 25088];
pub(super) const OUT_FEATURES: &[u64] = &[2, 10, 100, 128, 256, 512, 1000, 1024, 4096];

pub(super) fn parameters(d: &mut Draw) -> Problem {
    let i = d.pick(IN_FEATURES);
    let o = d.pick(OUT_FEATURES);
    let bias = d.chance(85);
    let b = u64::from(bias);
    let layer = Layer::Linear {
        in_features: i,
        out_features: o,
        bias,
    };
    let int = |n: u64| Expected::Integer(i64::try_from(n).unwrap_or(i64::MAX));
    let mut solution = vec![format!(
        "Every output unit has one weight per input: in·out = {}·{} = {}.",
        thousands(i as i64),
        thousands(o as i64),
        thousands((i * o) as i64)
    )];
    solution.push(if bias {
        format!(
            "Plus one bias per output: {} + {} = {}, i.e. out·(in + 1).",
            thousands((i * o) as i64),
            thousands(o as i64),
            thousands((o * (i + 1)) as i64)
        )
    } else {
        "bias=False, so that is all.".to_owned()
    });
    let misconceptions = if bias {
        vec![
            Misconception {
                answer: int(i * o),
                label: "forgot the bias",
            },
            Misconception {
                answer: int(i * (o + 1)),
                label: "added one bias per input instead of per output",
            },
            Misconception {
                answer: int((i + 1) * (o + 1)),
                label: "added a bias on both sides",
            },
        ]
    } else {
        vec![Misconception {
            answer: int(o * (i + 1)),
            label: "counted a bias the layer does not have",
        }]
    };
    Problem {
        prompt: format!(
            "A layer {} takes a vector of {i} features. How many learnable parameters does it have?",
            layer.describe()
        ),
        params: one_layer(Asks::Parameters, Shape::Flat(i), "fc1", layer),
        expected: int(o * (i + b)),
        solution,
        misconceptions,
    }
}
