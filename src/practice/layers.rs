//! Layers in PyTorch's terms, their output shapes, parameter counts and activation memory.

use serde::Serialize;
use std::fmt;

/// Bytes of one float32 activation.
pub const BYTES_PER_FLOAT: u64 = 4;

/// A layer, named and configured as `torch.nn` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "type")]
pub enum Layer {
    /// `nn.Conv2d` (square kernel, stride and padding).
    #[serde(rename = "conv2d")]
    Conv2d {
        /// C_in.
        in_channels: u64,
        /// C_out (number of filters).
        out_channels: u64,
        /// K.
        kernel_size: u64,
        /// S.
        stride: u64,
        /// P.
        padding: u64,
        /// Whether each filter has a bias.
        bias: bool,
    },
    /// `nn.MaxPool2d`.
    #[serde(rename = "maxpool2d")]
    MaxPool2d {
        /// K.
        kernel_size: u64,
        /// S.
        stride: u64,
        /// P.
        padding: u64,
    },
    /// `nn.AvgPool2d`.
    #[serde(rename = "avgpool2d")]
    AvgPool2d {
        /// K.
        kernel_size: u64,
        /// S.
        stride: u64,
        /// P.
        padding: u64,
    },
    /// `nn.ConvTranspose2d`.
    #[serde(rename = "conv_transpose2d")]
    ConvTranspose2d {
        /// C_in.
        in_channels: u64,
        /// C_out.
        out_channels: u64,
        /// K.
        kernel_size: u64,
        /// S.
        stride: u64,
        /// P.
        padding: u64,
        /// Extra rows/columns added on one side of the output.
        output_padding: u64,
        /// Whether each output channel has a bias.
        bias: bool,
    },
    /// `nn.Flatten`.
    #[serde(rename = "flatten")]
    Flatten,
    /// `nn.Linear`.
    #[serde(rename = "linear")]
    Linear {
        /// Inputs.
        in_features: u64,
        /// Outputs.
        out_features: u64,
        /// Whether each output has a bias.
        bias: bool,
    },
    /// `nn.ReLU` (in place: no parameters, no memory of its own).
    #[serde(rename = "relu")]
    Relu,
    /// `nn.BatchNorm2d`: a learned scale and shift per channel; its running mean and
    /// variance are buffers, not parameters.
    #[serde(rename = "batchnorm2d")]
    BatchNorm2d {
        /// C.
        num_features: u64,
    },
}

/// A layer with the name problems refer to it by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Named {
    /// e.g. conv1, pool2, fc1.
    pub name: String,
    /// The layer.
    #[serde(flatten)]
    pub layer: Layer,
}

/// Indentation that marks a prompt line as one layer of a listing (see `Variant::prompt_blocks`).
pub const LISTING_INDENT: &str = "  ";

/// One line per layer, `name: Layer(...)`, each marked as a listing line, so that every family
/// that lists layers shows them the same way (a monospace block on the pages).
pub fn listing<'a>(layers: impl IntoIterator<Item = &'a Named>) -> String {
    layers
        .into_iter()
        .map(|l| format!("{LISTING_INDENT}{}: {}", l.name, l.layer.describe()))
        .collect::<Vec<_>>()
        .join("\n")
}

impl Named {
    /// "conv1: 3·3·64·128 = 73,728 (no bias)": the layer's parameter count, worked out.
    pub fn parameter_line(&self) -> String {
        let n = super::thousands(i64::try_from(self.layer.parameters()).unwrap_or(i64::MAX));
        match self.layer {
            Layer::Conv2d {
                in_channels,
                out_channels,
                kernel_size: k,
                bias: true,
                ..
            } => format!(
                "{}: ({k}·{k}·{in_channels} + 1)·{out_channels} = {n}",
                self.name
            ),
            Layer::Conv2d {
                in_channels,
                out_channels,
                kernel_size: k,
                bias: false,
                ..
            } => format!(
                "{}: {k}·{k}·{in_channels}·{out_channels} = {n} (no bias: BatchNorm follows)",
                self.name
            ),
            Layer::BatchNorm2d { num_features } => format!(
                "{}: 2·{num_features} = {n} (a scale γ and a shift β per channel; the running mean and variance are buffers, not parameters)",
                self.name
            ),
            _ if self.layer.parameters() == 0 => format!("{}: 0 (no weights)", self.name),
            _ => format!("{}: {n}", self.name),
        }
    }

    /// A `Conv2d` with "same" padding (K/2), as the Inception and ResNet blocks use.
    pub fn conv_same(
        name: &str,
        in_channels: u64,
        out_channels: u64,
        kernel_size: u64,
        stride: u64,
        bias: bool,
    ) -> Self {
        Self::new(
            name,
            Layer::Conv2d {
                in_channels,
                out_channels,
                kernel_size,
                stride,
                padding: kernel_size / 2,
                bias,
            },
        )
    }

    /// A named layer.
    pub fn new(name: impl Into<String>, layer: Layer) -> Self {
        Self {
            name: name.into(),
            layer,
        }
    }
}

/// A tensor shape without the batch dimension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Channels, height, width.
    Chw(u64, u64, u64),
    /// Features.
    Flat(u64),
}

impl Shape {
    /// The dimensions, as the API lists them.
    pub fn dims(self) -> Vec<u64> {
        match self {
            Shape::Chw(c, h, w) => vec![c, h, w],
            Shape::Flat(n) => vec![n],
        }
    }

    /// Number of values.
    pub fn elements(self) -> u64 {
        match self {
            Shape::Chw(c, h, w) => c * h * w,
            Shape::Flat(n) => n,
        }
    }

    /// Memory of one float32 tensor of this shape, in KB (1 KB = 1024 bytes).
    pub fn memory_kb(self) -> f64 {
        (self.elements() * BYTES_PER_FLOAT) as f64 / 1024.0
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Shape::Chw(c, h, w) => write!(f, "{c}×{h}×{w}"),
            Shape::Flat(n) => write!(f, "{n}"),
        }
    }
}

/// floor((size + 2P − K)/S) + 1, or None when the window does not fit.
pub fn conv_size(size: u64, kernel: u64, stride: u64, padding: u64) -> Option<u64> {
    let padded = size + 2 * padding;
    (padded >= kernel && stride > 0).then(|| (padded - kernel) / stride + 1)
}

/// (size − 1)·S − 2P + K + output_padding, or None when that is not positive.
pub fn transposed_size(
    size: u64,
    kernel: u64,
    stride: u64,
    padding: u64,
    output_padding: u64,
) -> Option<u64> {
    let grown = (size.checked_sub(1)?) * stride + kernel + output_padding;
    grown.checked_sub(2 * padding).filter(|s| *s > 0)
}

impl Layer {
    /// The output shape for `input`, or None when the layer does not fit it.
    pub fn output(&self, input: Shape) -> Option<Shape> {
        match (*self, input) {
            (
                Layer::Conv2d {
                    in_channels,
                    out_channels,
                    kernel_size,
                    stride,
                    padding,
                    ..
                },
                Shape::Chw(c, h, w),
            ) if c == in_channels => Some(Shape::Chw(
                out_channels,
                conv_size(h, kernel_size, stride, padding)?,
                conv_size(w, kernel_size, stride, padding)?,
            )),
            (
                Layer::MaxPool2d {
                    kernel_size,
                    stride,
                    padding,
                }
                | Layer::AvgPool2d {
                    kernel_size,
                    stride,
                    padding,
                },
                Shape::Chw(c, h, w),
            ) => Some(Shape::Chw(
                c,
                conv_size(h, kernel_size, stride, padding)?,
                conv_size(w, kernel_size, stride, padding)?,
            )),
            (
                Layer::ConvTranspose2d {
                    in_channels,
                    out_channels,
                    kernel_size,
                    stride,
                    padding,
                    output_padding,
                    ..
                },
                Shape::Chw(c, h, w),
            ) if c == in_channels && output_padding < stride.max(1) => Some(Shape::Chw(
                out_channels,
                transposed_size(h, kernel_size, stride, padding, output_padding)?,
                transposed_size(w, kernel_size, stride, padding, output_padding)?,
            )),
            (Layer::Flatten, shape) => Some(Shape::Flat(shape.elements())),
            (
                Layer::Linear {
                    in_features,
                    out_features,
                    ..
                },
                Shape::Flat(n),
            ) if n == in_features => Some(Shape::Flat(out_features)),
            (Layer::Relu, shape) => Some(shape),
            (Layer::BatchNorm2d { num_features }, Shape::Chw(c, h, w)) if c == num_features => {
                Some(Shape::Chw(c, h, w))
            }
            _ => None,
        }
    }

    /// Learnable parameters.
    pub fn parameters(&self) -> u64 {
        match *self {
            Layer::Conv2d {
                in_channels,
                out_channels,
                kernel_size,
                bias,
                ..
            }
            | Layer::ConvTranspose2d {
                in_channels,
                out_channels,
                kernel_size,
                bias,
                ..
            } => (kernel_size * kernel_size * in_channels + u64::from(bias)) * out_channels,
            Layer::Linear {
                in_features,
                out_features,
                bias,
            } => out_features * (in_features + u64::from(bias)),
            Layer::BatchNorm2d { num_features } => 2 * num_features,
            Layer::MaxPool2d { .. } | Layer::AvgPool2d { .. } | Layer::Flatten | Layer::Relu => 0,
        }
    }

    /// Whether the layer stores an activation of its own (ReLU is in place; Flatten is a view).
    pub fn has_own_activation(&self) -> bool {
        !matches!(self, Layer::Relu | Layer::Flatten)
    }

    /// A short description in PyTorch syntax.
    pub fn describe(&self) -> String {
        let b = |bias: bool| if bias { "" } else { ", bias=False" };
        match *self {
            Layer::Conv2d {
                in_channels,
                out_channels,
                kernel_size,
                stride,
                padding,
                bias,
            } => format!(
                "Conv2d({in_channels}, {out_channels}, kernel_size={kernel_size}, stride={stride}, padding={padding}{})",
                b(bias)
            ),
            Layer::MaxPool2d {
                kernel_size,
                stride,
                padding,
            } => {
                format!("MaxPool2d(kernel_size={kernel_size}, stride={stride}, padding={padding})")
            }
            Layer::AvgPool2d {
                kernel_size,
                stride,
                padding,
            } => {
                format!("AvgPool2d(kernel_size={kernel_size}, stride={stride}, padding={padding})")
            }
            Layer::ConvTranspose2d {
                in_channels,
                out_channels,
                kernel_size,
                stride,
                padding,
                output_padding,
                bias,
            } => {
                format!(
                    "ConvTranspose2d({in_channels}, {out_channels}, kernel_size={kernel_size}, stride={stride}, padding={padding}, output_padding={output_padding}{})",
                    b(bias)
                )
            }
            Layer::Flatten => "Flatten()".to_owned(),
            Layer::Linear {
                in_features,
                out_features,
                bias,
            } => {
                format!("Linear({in_features}, {out_features}{})", b(bias))
            }
            Layer::Relu => "ReLU(inplace=True)".to_owned(),
            Layer::BatchNorm2d { num_features } => format!("BatchNorm2d({num_features})"),
        }
    }
}

/// One layer's figures within a network.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// The layer's name.
    pub name: String,
    /// The layer.
    pub layer: Layer,
    /// Its input shape.
    pub input: Shape,
    /// Its output shape.
    pub output: Shape,
    /// Its parameters.
    pub parameters: u64,
}

/// Runs `input` through `layers`; None if a layer does not fit its input.
pub fn analyze(input: Shape, layers: &[Named]) -> Option<Vec<Report>> {
    let mut shape = input;
    let mut reports = Vec::with_capacity(layers.len());
    for named in layers {
        let output = named.layer.output(shape)?;
        reports.push(Report {
            name: named.name.clone(),
            layer: named.layer,
            input: shape,
            output,
            parameters: named.layer.parameters(),
        });
        shape = output;
    }
    Some(reports)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conv_and_pool_sizes_follow_the_formula() {
        assert_eq!(conv_size(224, 11, 4, 2), Some(55));
        assert_eq!(conv_size(227, 11, 4, 0), Some(55));
        assert_eq!(conv_size(55, 3, 2, 0), Some(27));
        assert_eq!(conv_size(2, 3, 1, 0), None);
        assert_eq!(transposed_size(7, 4, 2, 1, 0), Some(14));
        assert_eq!(transposed_size(7, 3, 2, 1, 1), Some(14));
    }

    #[test]
    fn parameters_follow_pytorch() {
        let conv = Layer::Conv2d {
            in_channels: 64,
            out_channels: 128,
            kernel_size: 3,
            stride: 1,
            padding: 1,
            bias: true,
        };
        assert_eq!(conv.parameters(), 73_856);
        let fc = Layer::Linear {
            in_features: 4096,
            out_features: 1000,
            bias: true,
        };
        assert_eq!(fc.parameters(), 4_097_000);
        assert_eq!(
            Layer::MaxPool2d {
                kernel_size: 2,
                stride: 2,
                padding: 0
            }
            .parameters(),
            0
        );
    }

    #[test]
    fn layers_refuse_inputs_they_do_not_fit() {
        let conv = Layer::Conv2d {
            in_channels: 3,
            out_channels: 8,
            kernel_size: 3,
            stride: 1,
            padding: 0,
            bias: true,
        };
        assert_eq!(conv.output(Shape::Chw(4, 10, 10)), None);
        assert_eq!(
            conv.output(Shape::Chw(3, 10, 10)),
            Some(Shape::Chw(8, 8, 8))
        );
        let fc = Layer::Linear {
            in_features: 10,
            out_features: 2,
            bias: true,
        };
        assert_eq!(fc.output(Shape::Flat(9)), None);
    }

    #[test]
    fn layers_serialise_with_pytorch_names() {
        let json = serde_json::to_value(Named::new(
            "conv1",
            Layer::Conv2d {
                in_channels: 3,
                out_channels: 64,
                kernel_size: 3,
                stride: 1,
                padding: 1,
                bias: true,
            },
        ))
        .unwrap();
        assert_eq!(json["type"], "conv2d");
        assert_eq!(json["name"], "conv1");
        assert_eq!(json["in_channels"], 3);
        assert_eq!(json["kernel_size"], 3);
    }
}
