//! Whole networks: VGG- and AlexNet-like stacks of conv, pool, flatten and linear layers.

use super::layers::{Layer, Named, Report, Shape, analyze, listing};
use super::{Asks, Data, Expected, Misconception, Params, Problem, draw::Draw, real, thousands};

fn conv(c_in: u64, c_out: u64, k: u64, s: u64, p: u64) -> Layer {
    Layer::Conv2d {
        in_channels: c_in,
        out_channels: c_out,
        kernel_size: k,
        stride: s,
        padding: p,
        bias: true,
    }
}

fn pool(k: u64, s: u64) -> Layer {
    Layer::MaxPool2d {
        kernel_size: k,
        stride: s,
        padding: 0,
    }
}

fn linear(i: u64, o: u64) -> Layer {
    Layer::Linear {
        in_features: i,
        out_features: o,
        bias: true,
    }
}

/// Builds a network layer by layer, naming layers and adding in-place ReLUs.
struct Builder {
    shape: Shape,
    layers: Vec<Named>,
}

impl Builder {
    fn new(input: Shape) -> Self {
        Self {
            shape: input,
            layers: Vec::new(),
        }
    }

    fn channels(&self) -> u64 {
        match self.shape {
            Shape::Chw(c, ..) => c,
            Shape::Flat(n) => n,
        }
    }

    fn push(&mut self, name: String, layer: Layer) {
        self.shape = layer.output(self.shape).unwrap_or(self.shape);
        self.layers.push(Named::new(name, layer));
    }

    fn conv_relu(&mut self, name: String, c_out: u64, k: u64, s: u64, p: u64) {
        let c_in = self.channels();
        self.push(name.clone(), conv(c_in, c_out, k, s, p));
        self.push(
            format!("relu{}", name.trim_start_matches("conv")),
            Layer::Relu,
        );
    }

    fn classifier(&mut self, hidden: &[u64], classes: u64, first_fc: usize) {
        self.push("flatten".to_owned(), Layer::Flatten);
        for (i, h) in hidden.iter().enumerate() {
            let n = self.shape.elements();
            self.push(format!("fc{}", first_fc + i), linear(n, *h));
            self.push(format!("relu_fc{}", first_fc + i), Layer::Relu);
        }
        let n = self.shape.elements();
        self.push(format!("fc{}", first_fc + hidden.len()), linear(n, classes));
    }
}

/// VGG-16 as torchvision defines it (dropout has no parameters; at 224×224 the adaptive
/// average pool is the identity and is left out).
pub fn vgg16() -> (Shape, Vec<Named>) {
    let input = Shape::Chw(3, 224, 224);
    let mut b = Builder::new(input);
    for (block, (channels, convs)) in [(64, 2), (128, 2), (256, 3), (512, 3), (512, 3)]
        .into_iter()
        .enumerate()
    {
        for i in 1..=convs {
            b.conv_relu(format!("conv{}_{i}", block + 1), channels, 3, 1, 1);
        }
        b.push(format!("pool{}", block + 1), pool(2, 2));
    }
    b.classifier(&[4096, 4096], 1000, 6);
    (input, b.layers)
}

/// AlexNet as torchvision defines it (likewise without dropout and the identity avgpool).
pub fn alexnet() -> (Shape, Vec<Named>) {
    let input = Shape::Chw(3, 224, 224);
    let mut b = Builder::new(input);
    b.conv_relu("conv1".to_owned(), 64, 11, 4, 2);
    b.push("pool1".to_owned(), pool(3, 2));
    b.conv_relu("conv2".to_owned(), 192, 5, 1, 2);
    b.push("pool2".to_owned(), pool(3, 2));
    b.conv_relu("conv3".to_owned(), 384, 3, 1, 1);
    b.conv_relu("conv4".to_owned(), 256, 3, 1, 1);
    b.conv_relu("conv5".to_owned(), 256, 3, 1, 1);
    b.push("pool5".to_owned(), pool(3, 2));
    b.classifier(&[4096, 4096], 1000, 6);
    (input, b.layers)
}

fn vgg_like(d: &mut Draw) -> (Shape, Vec<Named>, &'static str) {
    let size: u64 = d.pick(&[32, 64, 96, 128, 224]);
    let max_blocks = (63 - u64::from(size.leading_zeros()))
        .saturating_sub(1)
        .clamp(2, 5);
    let blocks = d.range(2, max_blocks);
    let mut channels = d.pick(&[16, 32, 64]);
    let input = Shape::Chw(3, size, size);
    let mut b = Builder::new(input);
    for block in 1..=blocks {
        let convs = if block <= 2 {
            d.range(1, 2)
        } else {
            d.range(2, 3)
        };
        for i in 1..=convs {
            b.conv_relu(format!("conv{block}_{i}"), channels, 3, 1, 1);
        }
        b.push(format!("pool{block}"), pool(2, 2));
        channels = (channels * 2).min(512);
    }
    let hidden: Vec<u64> = (0..d.range(1, 2))
        .map(|_| d.pick(&[256, 512, 1024, 4096]))
        .collect();
    b.classifier(&hidden, d.pick(&[10, 100, 1000]), 1);
    (input, b.layers, "VGG-like")
}

fn alexnet_like(d: &mut Draw) -> (Shape, Vec<Named>, &'static str) {
    let (size, padding) = d.pick(&[(224, 2), (227, 0)]);
    let input = Shape::Chw(3, size, size);
    let mut b = Builder::new(input);
    b.conv_relu("conv1".to_owned(), d.pick(&[48, 64, 96]), 11, 4, padding);
    b.push("pool1".to_owned(), pool(3, 2));
    b.conv_relu("conv2".to_owned(), d.pick(&[128, 192, 256]), 5, 1, 2);
    b.push("pool2".to_owned(), pool(3, 2));
    let middle = d.range(2, 3);
    for i in 0..middle {
        b.conv_relu(format!("conv{}", 3 + i), d.pick(&[256, 384]), 3, 1, 1);
    }
    b.push(format!("pool{}", 3 + middle - 1), pool(3, 2));
    let h = d.pick(&[1024, 2048, 4096]);
    b.classifier(&[h, h], d.pick(&[10, 100, 1000]), 1);
    (input, b.layers, "AlexNet-like")
}

/// The layers counted when asking for "the layer with the most ...": those with weights or
/// an output of their own (not ReLU, which works in place, nor Flatten, a view).
fn candidates(reports: &[Report]) -> impl Iterator<Item = &Report> {
    reports.iter().filter(|r| r.layer.has_own_activation())
}

fn names_of_max(reports: &[Report], key: impl Fn(&Report) -> f64) -> Vec<String> {
    let best = candidates(reports).map(&key).fold(f64::MIN, f64::max);
    candidates(reports)
        .filter(|r| key(r) == best)
        .map(|r| r.name.clone())
        .collect()
}

fn parameter_line(r: &Report) -> String {
    match r.layer {
        Layer::Conv2d {
            in_channels,
            out_channels,
            kernel_size,
            ..
        } => format!(
            "{}: ({kernel_size}·{kernel_size}·{in_channels} + 1)·{out_channels} = {}",
            r.name,
            thousands(r.parameters as i64)
        ),
        Layer::Linear {
            in_features,
            out_features,
            ..
        } => format!(
            "{}: {}·({} + 1) = {}",
            r.name,
            thousands(out_features as i64),
            thousands(in_features as i64),
            thousands(r.parameters as i64)
        ),
        _ => format!("{}: 0 (no weights)", r.name),
    }
}

pub(super) fn network(d: &mut Draw) -> Problem {
    let (input, layers, style) = if d.chance(60) {
        vgg_like(d)
    } else {
        alexnet_like(d)
    };
    let reports = analyze(input, &layers).unwrap_or_default();
    let article = if style.starts_with(['A', 'E', 'I', 'O', 'U']) {
        "An"
    } else {
        "A"
    };
    let intro = format!(
        "{article} {style} network takes a {input} image through these layers (each conv and hidden linear layer is followed by an in-place ReLU, which adds no parameters and no memory):\n{}\n",
        listing(layers.iter().filter(|l| l.layer != Layer::Relu))
    );
    let total: u64 = reports.iter().map(|r| r.parameters).sum();
    let int = |n: u64| Expected::Integer(i64::try_from(n).unwrap_or(i64::MAX));
    let name_of = |names: Vec<String>| Expected::Name(names);
    let layers_data = |asks, of: Option<&str>| Params {
        asks,
        data: Data::Layers {
            input: input.dims(),
            layers: layers.clone(),
            of: of.map(str::to_owned),
        },
    };

    match d.below(4) {
        0 => {
            let biases: u64 = reports
                .iter()
                .map(|r| match r.layer {
                    Layer::Conv2d { out_channels, .. } => out_channels,
                    Layer::Linear { out_features, .. } => out_features,
                    _ => 0,
                })
                .sum();
            let pools_as_convs: u64 = reports
                .iter()
                .filter_map(|r| match (r.layer, r.input) {
                    (Layer::MaxPool2d { kernel_size: k, .. }, Shape::Chw(c, ..)) => {
                        Some((k * k * c + 1) * c)
                    }
                    _ => None,
                })
                .sum();
            let k_not_k2: u64 = reports
                .iter()
                .map(|r| match r.layer {
                    Layer::Conv2d {
                        in_channels,
                        out_channels,
                        kernel_size,
                        ..
                    } => (kernel_size * in_channels + 1) * out_channels,
                    _ => r.parameters,
                })
                .sum();
            let mut solution: Vec<String> = candidates(&reports).map(parameter_line).collect();
            solution.push(format!("Total: {} parameters.", thousands(total as i64)));
            Problem {
                prompt: format!(
                    "{intro}How many learnable parameters does the whole network have?"
                ),
                params: layers_data(Asks::Parameters, None),
                expected: int(total),
                solution,
                misconceptions: vec![
                    Misconception {
                        answer: int(total - biases),
                        label: "forgot the biases",
                    },
                    Misconception {
                        answer: int(total + pools_as_convs),
                        label: "gave the pooling layers parameters",
                    },
                    Misconception {
                        answer: int(k_not_k2),
                        label: "used K instead of K·K",
                    },
                ],
            }
        }
        1 => {
            let answer = names_of_max(&reports, |r| r.parameters as f64);
            let by_memory = names_of_max(&reports, |r| r.output.memory_kb());
            let mut solution: Vec<String> = candidates(&reports).map(parameter_line).collect();
            solution.push(format!(
                "The most: {} with the largest count above.",
                answer.join(" and ")
            ));
            let misconceptions = by_memory
                .into_iter()
                .filter(|n| !answer.contains(n))
                .take(1)
                .map(|n| Misconception {
                    answer: Expected::Name(vec![n]),
                    label: "picked the layer with the most activation memory, not parameters",
                })
                .collect();
            Problem {
                prompt: format!(
                    "{intro}Which layer has the most learnable parameters? Answer with its name."
                ),
                params: layers_data(Asks::LayerWithMostParameters, None),
                expected: name_of(answer),
                solution,
                misconceptions,
            }
        }
        2 => {
            let answer = names_of_max(&reports, |r| r.output.memory_kb());
            let by_params = names_of_max(&reports, |r| r.parameters as f64);
            let mut solution: Vec<String> = candidates(&reports)
                .map(|r| {
                    format!(
                        "{}: output {} = {} KB",
                        r.name,
                        r.output,
                        real(r.output.memory_kb())
                    )
                })
                .collect();
            solution.push(format!(
                "The most: {}. Early layers keep the full resolution, so they hold the most activations.",
                answer.join(" and ")
            ));
            let misconceptions = by_params
                .into_iter()
                .filter(|n| !answer.contains(n))
                .take(1)
                .map(|n| Misconception {
                    answer: Expected::Name(vec![n]),
                    label: "picked the layer with the most parameters, not activation memory",
                })
                .collect();
            Problem {
                prompt: format!(
                    "{intro}Which layer's output takes the most activation memory (float32, one image)? Answer with its name."
                ),
                params: layers_data(Asks::LayerWithMostActivationMemory, None),
                expected: name_of(answer),
                solution,
                misconceptions,
            }
        }
        _ => {
            let flatten_at = reports
                .iter()
                .position(|r| r.layer == Layer::Flatten)
                .unwrap_or(0);
            let last_pool = &reports[flatten_at.saturating_sub(1)];
            let out = last_pool.output;
            let solution: Vec<String> = reports[..flatten_at]
                .iter()
                .filter(|r| r.layer != Layer::Relu)
                .map(|r| format!("{}: {} → {}", r.name, r.input, r.output))
                .collect();
            Problem {
                prompt: format!(
                    "{intro}What is the output shape of {} (the input to flatten)? Answer as C×H×W.",
                    last_pool.name
                ),
                params: layers_data(Asks::OutputShape, Some(&last_pool.name)),
                expected: Expected::Shape(out.dims()),
                solution,
                misconceptions: vec![
                    Misconception {
                        answer: Expected::Shape(last_pool.input.dims()),
                        label: "forgot the last pooling layer",
                    },
                    Misconception {
                        answer: Expected::Shape(vec![out.elements()]),
                        label: "gave the flattened size instead of C×H×W",
                    },
                ],
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn total(net: (Shape, Vec<Named>)) -> u64 {
        analyze(net.0, &net.1)
            .unwrap()
            .iter()
            .map(|r| r.parameters)
            .sum()
    }

    #[test]
    fn vgg16_has_138_357_544_parameters() {
        assert_eq!(total(vgg16()), 138_357_544);
    }

    #[test]
    fn alexnet_has_61_100_840_parameters() {
        assert_eq!(total(alexnet()), 61_100_840);
        let (input, layers) = alexnet();
        let reports = analyze(input, &layers).unwrap();
        let pool5 = reports.iter().find(|r| r.name == "pool5").unwrap();
        assert_eq!(pool5.output, Shape::Chw(256, 6, 6));
    }
}
