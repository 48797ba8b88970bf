//! Generated practice problems: the course's formulas with fresh numbers. Each family is a
//! pure function of a u64 seed that returns a problem with its answer, a worked solution in
//! that problem's numbers, and the wrong answers that reveal a known misconception.

pub mod answer;
mod conv;
mod conv_backward;
mod detection;
mod draw;
mod fc;
mod inception;
pub mod layers;
mod losses;
mod memory;
mod network;
mod receptive;
mod residual;
mod style;

pub use network::{alexnet, vgg16};

use draw::Draw;
use serde::Serialize;

/// Seeds are kept below 2^53 so that JSON clients (JavaScript numbers) read them exactly.
pub const MAX_SEED: u64 = (1 << 53) - 1;
/// Relative tolerance of real-valued answers.
pub const REAL_TOLERANCE: f64 = 0.01;

/// What a problem asks for (`params.asks` in the API).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Asks {
    /// A parameter count.
    Parameters,
    /// An output shape.
    OutputShape,
    /// Activation memory in KB (float32).
    ActivationMemoryKb,
    /// A receptive field in input pixels.
    ReceptiveField,
    /// A loss value.
    Loss,
    /// The name of the layer with the most parameters.
    LayerWithMostParameters,
    /// The name of the layer with the most activation memory.
    LayerWithMostActivationMemory,
    /// A convolution's output matrix.
    ConvOutput,
    /// The gradient with respect to a convolution's input.
    GradInput,
    /// The gradient with respect to a convolution's kernel.
    GradWeight,
    /// A transposed convolution's output matrix.
    TransposedConvOutput,
    /// How many anchors a detector lays over its feature maps.
    AnchorCount,
    /// The IoU of two boxes.
    Iou,
    /// The boxes non-maximum suppression keeps, in the order kept.
    NmsKept,
    /// A Gram matrix F·Fᵀ.
    GramMatrix,
    /// Gatys' style loss of one layer.
    StyleLoss,
    /// The content loss of one layer.
    ContentLoss,
    /// Multiply-adds of one pass.
    MultiplyAdds,
    /// Parameters the 1×1 reductions of an Inception module save.
    ParametersSavedByReductions,
}

/// The correct answer of a problem (or a misconception's wrong one).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Expected {
    /// An exact integer.
    Integer(i64),
    /// A real number, right within [`REAL_TOLERANCE`].
    Real(f64),
    /// A shape, e.g. [64, 55, 55].
    Shape(Vec<u64>),
    /// A layer name; any of several when layers tie.
    Name(Vec<String>),
    /// An integer matrix, row-major, exact.
    Matrix(Vec<Vec<i64>>),
    /// Indices (0-based), in order.
    Indices(Vec<u64>),
}

impl Expected {
    /// What form an answer takes and how it is judged, shown beside the answer box before
    /// anything is submitted.
    pub fn format_hint(&self) -> &'static str {
        match self {
            Expected::Integer(_) => {
                "A whole number, exact; separators, units and scientific notation are read (73,856 or 7.3856e4)."
            }
            Expected::Real(_) => "A number; answers within 1% count (0.2107 or 2.107e-1).",
            Expected::Shape(_) => "A shape, channels first: 64×55×55, 64x55x55 or (64, 55, 55).",
            Expected::Name(_) => "A layer's name as the listing gives it, such as conv3 or fc1.",
            Expected::Matrix(_) => "A matrix, row by row, exact: [[1, -2], [3, 4]] or 1 -2; 3 4.",
            Expected::Indices(_) => "Box indices (0-based), in the order kept: 0, 2, 3.",
        }
    }

    /// How the answer reads on a page: "73,856", "0.2107", "64×55×55", "fc1".
    pub fn display(&self) -> String {
        match self {
            Expected::Integer(n) => thousands(*n),
            Expected::Real(x) => real(*x),
            Expected::Shape(dims) => dims
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join("×"),
            Expected::Name(names) => names.join(" or "),
            Expected::Matrix(rows) => format!(
                "[{}]",
                rows.iter()
                    .map(|row| format!(
                        "[{}]",
                        row.iter()
                            .map(|v| signed(*v))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Expected::Indices(list) => list
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(", "),
        }
    }

    /// The relative tolerance: 0 for exact answers.
    pub fn tolerance(&self) -> f64 {
        match self {
            Expected::Real(_) => REAL_TOLERANCE,
            _ => 0.0,
        }
    }

    /// Whether a read answer matches this one.
    fn matches(&self, typed: &Typed) -> bool {
        match (self, typed) {
            (Expected::Integer(n), Typed::Number(x)) => {
                x.fract() == 0.0 && (*x - *n as f64).abs() < 0.5
            }
            (Expected::Real(v), Typed::Number(x)) => close(*v, *x),
            (Expected::Shape(dims), Typed::Shape(typed)) => dims == typed,
            (Expected::Name(names), Typed::Name(typed)) => {
                names.iter().any(|n| n.eq_ignore_ascii_case(typed))
            }
            (Expected::Matrix(rows), Typed::Matrix(typed)) => {
                rows.len() == typed.len()
                    && rows.iter().zip(typed).all(|(row, t)| {
                        row.len() == t.len() && row.iter().zip(t).all(|(v, x)| *v as f64 == *x)
                    })
            }
            (Expected::Indices(list), Typed::Indices(typed)) => list == typed,
            _ => false,
        }
    }

    fn read(&self, raw: &str) -> Result<Typed, answer::Unreadable> {
        Ok(match self {
            Expected::Integer(_) | Expected::Real(_) => Typed::Number(answer::number(raw)?),
            Expected::Shape(_) => Typed::Shape(answer::shape(raw)?),
            Expected::Name(_) => Typed::Name(answer::name(raw)?),
            Expected::Matrix(_) => Typed::Matrix(answer::matrix(raw)?),
            Expected::Indices(_) => Typed::Indices(answer::indices(raw)?),
        })
    }
}

fn close(expected: f64, typed: f64) -> bool {
    if expected == 0.0 {
        typed.abs() < 1e-9
    } else {
        ((typed - expected) / expected).abs() <= REAL_TOLERANCE
    }
}

/// An answer as read.
#[derive(Debug, Clone, PartialEq)]
enum Typed {
    Number(f64),
    Shape(Vec<u64>),
    Name(String),
    Matrix(Vec<Vec<f64>>),
    Indices(Vec<u64>),
}

/// A wrong answer that reveals a misunderstanding.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Misconception {
    /// The wrong answer it produces.
    pub answer: Expected,
    /// What went wrong, e.g. "forgot the bias".
    pub label: &'static str,
}

/// What a problem gives the solver, in PyTorch's terms (`params` in the API).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Params {
    /// What is asked.
    pub asks: Asks,
    /// The problem's data.
    #[serde(flatten)]
    pub data: Data,
}

/// Layer problems give an input and layers; loss problems give targets and predictions.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Data {
    /// A stack of layers applied to `input` ([C, H, W] or [features]).
    Layers {
        /// The input shape.
        input: Vec<u64>,
        /// The layers in order.
        layers: Vec<layers::Named>,
        /// The layer whose output a question is about, by name; without it, the last one's.
        #[serde(skip_serializing_if = "Option::is_none")]
        of: Option<String>,
    },
    /// One single-channel convolution on small integer matrices (row-major).
    Conv {
        /// The input X (or, for a transposed convolution, its input).
        input: Vec<Vec<i64>>,
        /// The kernel W.
        kernel: Vec<Vec<i64>>,
        /// The gradient of the loss with respect to the output, for the backward questions.
        #[serde(skip_serializing_if = "Option::is_none")]
        upstream: Option<Vec<Vec<i64>>>,
        /// The stride.
        stride: u64,
        /// Zero padding on every side.
        padding: u64,
    },
    /// Feature maps an RPN or SSD head lays anchors over.
    Anchors {
        /// `[{h, w, scales, ratios}]`.
        feature_maps: Vec<detection::FeatureMap>,
    },
    /// Boxes `[x1, y1, x2, y2]` in pixels, with scores and a threshold for NMS.
    Boxes {
        /// The boxes.
        boxes: Vec<detection::BoxXyxy>,
        /// Their scores.
        #[serde(skip_serializing_if = "Option::is_none")]
        scores: Option<Vec<f64>>,
        /// NMS drops a box whose IoU with a kept one is above this.
        #[serde(skip_serializing_if = "Option::is_none")]
        iou_threshold: Option<f64>,
    },
    /// YOLO v1's output: an S×S grid, B boxes and C classes per cell.
    Yolo {
        /// S.
        grid: u64,
        /// B.
        boxes_per_cell: u64,
        /// C.
        classes: u64,
    },
    /// A ResNet block: its main path and its shortcut (empty for the identity).
    Residual {
        /// The input shape [C, H, W].
        input: Vec<u64>,
        /// "basic" or "bottleneck".
        block: &'static str,
        /// The main path, in order (ReLUs left out: they have no parameters).
        layers: Vec<layers::Named>,
        /// The projection shortcut; empty for the identity.
        shortcut: Vec<layers::Named>,
    },
    /// An Inception module: branches on the same input, concatenated on channels.
    Inception {
        /// The input shape [C, H, W].
        input: Vec<u64>,
        /// Each branch's layers, in order.
        branches: Vec<Vec<layers::Named>>,
    },
    /// Style transfer's feature maps, [C][H][W] each.
    Style {
        /// The generated image's features F.
        features: style::Features,
        /// The style image's features S.
        #[serde(skip_serializing_if = "Option::is_none")]
        style_features: Option<style::Features>,
        /// The content image's features P.
        #[serde(skip_serializing_if = "Option::is_none")]
        content_features: Option<style::Features>,
        /// "gatys": E = Σ (G − A)² / (4·N²·M²).
        #[serde(skip_serializing_if = "Option::is_none")]
        style_normalization: Option<&'static str>,
    },
    /// A loss over a few examples.
    Loss {
        /// l1, l2, mse, bce, balanced_ce, focal, class_balanced_focal.
        loss: &'static str,
        /// True values (0/1 for classification).
        targets: Vec<f64>,
        /// Predictions (probabilities of class 1 for classification).
        predictions: Vec<f64>,
        /// Class weight of class 1 (class 0 gets 1 - alpha).
        #[serde(skip_serializing_if = "Option::is_none")]
        alpha: Option<f64>,
        /// Focusing parameter.
        #[serde(skip_serializing_if = "Option::is_none")]
        gamma: Option<f64>,
        /// sum or mean.
        reduction: &'static str,
    },
}

/// What a generator returns for one seed.
#[derive(Debug, Clone)]
struct Problem {
    prompt: String,
    params: Params,
    expected: Expected,
    solution: Vec<String>,
    misconceptions: Vec<Misconception>,
}

/// One problem of one family, fixed by its seed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Variant {
    /// The family's id.
    pub family: &'static str,
    /// The seed.
    pub seed: u64,
    /// The question, in words.
    pub prompt: String,
    /// The question's data.
    pub params: Params,
    /// The answer.
    pub expected: Expected,
    /// The worked solution, step by step, with this variant's numbers.
    pub solution: Vec<String>,
    /// Known wrong answers, each distinct from the answer and from one another.
    pub misconceptions: Vec<Misconception>,
}

/// The verdict on a typed answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    /// Right within the tolerance.
    pub correct: bool,
    /// The misconception the answer reveals, when wrong in a known way.
    pub misconception: Option<&'static str>,
}

/// A part of a prompt as the pages show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PromptBlock {
    /// Words.
    Text(String),
    /// Layers, one per line, shown in a monospace block.
    Listing(Vec<String>),
}

impl Variant {
    /// The prompt cut into paragraphs and layer listings (lines that `layers::listing` marked),
    /// so the pages set layers apart the same way for every family.
    pub fn prompt_blocks(&self) -> Vec<PromptBlock> {
        let mut blocks: Vec<PromptBlock> = Vec::new();
        for line in self.prompt.lines() {
            if let Some(layer) = line.strip_prefix(layers::LISTING_INDENT) {
                if let Some(PromptBlock::Listing(lines)) = blocks.last_mut() {
                    lines.push(layer.to_owned());
                } else {
                    blocks.push(PromptBlock::Listing(vec![layer.to_owned()]));
                }
            } else if !line.trim().is_empty() {
                blocks.push(PromptBlock::Text(line.to_owned()));
            }
        }
        blocks
    }

    /// Checks a typed answer; an unreadable one is an error and is not graded.
    pub fn check(&self, raw: &str) -> Result<Checked, answer::Unreadable> {
        // A tie reads "conv1_1 or conv1_2" on the page; typed as shown, it is right.
        if let Expected::Name(names) = &self.expected
            && names.len() > 1
        {
            let squeeze = |s: &str| s.split_whitespace().collect::<String>().to_lowercase();
            if squeeze(raw) == squeeze(&self.expected.display()) {
                return Ok(Checked {
                    correct: true,
                    misconception: None,
                });
            }
        }
        let typed = self.expected.read(raw)?;
        // A name that is no layer of this problem is a slip, not a wrong answer.
        if let (Typed::Name(name), Data::Layers { layers, .. }) = (&typed, &self.params.data)
            && !layers.iter().any(|l| l.name.eq_ignore_ascii_case(name))
        {
            let names: Vec<&str> = layers.iter().map(|l| l.name.as_str()).collect();
            return Err(answer::Unreadable(format!(
                "'{name}' names no layer here; the layers are {}.",
                names.join(", ")
            )));
        }
        if self.expected.matches(&typed) {
            return Ok(Checked {
                correct: true,
                misconception: None,
            });
        }
        Ok(Checked {
            correct: false,
            misconception: self
                .misconceptions
                .iter()
                .find(|m| m.answer.matches(&typed))
                .map(|m| m.label),
        })
    }
}

/// A kind of problem.
#[derive(Debug, Clone, Copy)]
pub struct Family {
    /// Stable id, used in URLs, the API and card records.
    pub id: &'static str,
    /// Short title.
    pub title: &'static str,
    /// What it drills.
    pub description: &'static str,
    generate: fn(&mut Draw) -> Problem,
}

impl Family {
    /// The variant of `seed`.
    pub fn variant(&self, seed: u64) -> Variant {
        let problem = (self.generate)(&mut Draw::new(seed));
        let mut misconceptions: Vec<Misconception> = Vec::new();
        for m in problem.misconceptions {
            let clashes = |other: &Expected| match (other, &m.answer) {
                (Expected::Integer(a), Expected::Integer(b)) => a == b,
                (Expected::Real(a), Expected::Real(b)) => {
                    // Keep a misconception only if typing it could not be mistaken for the
                    // answer or an earlier misconception (both within tolerance of it).
                    (a - b).abs() <= 2.0 * REAL_TOLERANCE * a.abs().max(b.abs())
                }
                (a, b) => a == b,
            };
            if !clashes(&problem.expected) && !misconceptions.iter().any(|o| clashes(&o.answer)) {
                misconceptions.push(m);
            }
        }
        Variant {
            family: self.id,
            seed,
            prompt: problem.prompt,
            params: problem.params,
            expected: problem.expected,
            solution: problem.solution,
            misconceptions,
        }
    }
}

/// Every family, in the order the practice deck and pages list them.
pub const FAMILIES: &[Family] = &[
    Family {
        id: "conv-params",
        title: "Conv layer parameters",
        description: "Count the weights and biases of a Conv2d layer: (K·K·C_in + 1)·C_out.",
        generate: conv::parameters,
    },
    Family {
        id: "fc-params",
        title: "Fully connected layer parameters",
        description: "Count the weights and biases of a Linear layer: out·(in + 1).",
        generate: fc::parameters,
    },
    Family {
        id: "pool-params",
        title: "Pooling layer parameters",
        description: "How many parameters does a pooling layer learn?",
        generate: conv::pool_parameters,
    },
    Family {
        id: "output-shape",
        title: "Output shape of a conv or pooling layer",
        description: "floor((H + 2P − K)/S) + 1 per side, and the right number of channels.",
        generate: conv::output_shape,
    },
    Family {
        id: "activation-memory",
        title: "Activation memory in KB",
        description: "Memory of a layer's float32 output: C·H·W·4/1024 for conv, N·4/1024 for FC.",
        generate: memory::activation_memory,
    },
    Family {
        id: "transposed-conv",
        title: "Transposed convolution output size",
        description: "(H − 1)·S − 2P + K + output_padding per side.",
        generate: conv::transposed_output,
    },
    Family {
        id: "receptive-field",
        title: "Receptive field of a stack",
        description: "How many input pixels one output unit sees through conv and pooling layers.",
        generate: receptive::receptive_field,
    },
    Family {
        id: "network",
        title: "Whole networks",
        description: "VGG- and AlexNet-like stacks: total parameters, the biggest layers, shapes.",
        generate: network::network,
    },
    Family {
        id: "inception-module",
        title: "Inception module",
        description: "A GoogLeNet-style module of parallel 1×1, 3×3, 5×5 and pool branches: its parameters, output shape, multiply-adds, and what the 1×1 reductions save.",
        generate: inception::inception_module,
    },
    Family {
        id: "residual-block",
        title: "ResNet block",
        description: "A basic or bottleneck ResNet block with BatchNorm and an identity or projection shortcut: its parameters and output shape.",
        generate: residual::residual_block,
    },
    Family {
        id: "loss",
        title: "Loss functions with numbers",
        description: "L1, L2, MSE, binary, balanced, focal and class-balanced focal losses.",
        generate: losses::loss,
    },
    Family {
        id: "conv-backward",
        title: "Convolution forwards and backwards",
        description: "A small convolution in integers: its output (cross-correlation, as PyTorch computes it), the gradients with respect to the input and the kernel, a transposed convolution's output.",
        generate: conv_backward::conv_backward,
    },
    Family {
        id: "detection",
        title: "Object detection arithmetic",
        description: "Anchors over an RPN's or SSD's feature maps, the IoU of two boxes, which boxes non-maximum suppression keeps, and YOLO's output shape.",
        generate: detection::detection,
    },
    Family {
        id: "style-transfer",
        title: "Style transfer: Gram matrix and losses",
        description: "Tiny feature maps: the Gram matrix F·Fᵀ, Gatys' style loss of one layer, and the content loss.",
        generate: style::style_transfer,
    },
];

/// The family with this id.
pub fn family(id: &str) -> Option<&'static Family> {
    FAMILIES.iter().find(|f| f.id == id)
}

/// An integer with thousands separators: 73,856.
pub fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// The output-size formula for side `var` (H or W) worked out, as TeX for the pages to render:
/// var_out = ⌊(var + 2P − K)/S⌋ + 1 = ⌊(x + 2·p − k)/s⌋ + 1 = y, in three formulas so that a
/// narrow screen can wrap the line between them.
pub fn output_size_tex(var: &str, x: u64, p: u64, k: u64, s: u64, y: u64) -> String {
    let floor = |top: String, bottom: String| {
        format!(r"\left\lfloor \frac{{{top}}}{{{bottom}}} \right\rfloor + 1")
    };
    format!(
        r"\(\displaystyle {var}_{{\mathrm{{out}}}} = {}\) \(\displaystyle = {}\) \(= {} + 1 = {y}\)",
        floor(format!("{var} + 2P - K"), "S".to_owned()),
        floor(format!(r"{x} + 2 \cdot {p} - {k}"), s.to_string()),
        (x + 2 * p).saturating_sub(k) / s.max(1)
    )
}

/// An integer for TeX: thousands separated by `{,}` so TeX does not space them as a list.
pub fn tex_int(n: i64) -> String {
    thousands(n).replace(',', "{,}")
}

/// An integer with a true minus sign: 3, −2.
pub fn signed(n: i64) -> String {
    if n < 0 {
        format!("\u{2212}{}", n.unsigned_abs())
    } else {
        n.to_string()
    }
}

/// An integer as a factor in a product: negatives in parentheses, (−2).
pub fn factor(n: i64) -> String {
    if n < 0 {
        format!("({})", signed(n))
    } else {
        n.to_string()
    }
}

/// A real number to four significant digits, without trailing zeros: 0.2107, 288, 12.5.
pub fn real(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return "0".to_owned();
    }
    if x < 0.0 {
        return format!("-{}", real(-x));
    }
    let magnitude = x.abs().log10().floor() as i32;
    let decimals = usize::try_from((3 - magnitude).clamp(0, 12)).unwrap_or(0);
    let text = format!("{x:.decimals$}");
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    };
    match text.split_once('.') {
        Some((int, frac)) => format!("{}.{frac}", thousands_str(int)),
        None => thousands_str(&text),
    }
}

fn thousands_str(int: &str) -> String {
    int.parse::<i64>()
        .map_or_else(|_| int.to_owned(), thousands)
}

#[cfg(test)]
mod tests;
