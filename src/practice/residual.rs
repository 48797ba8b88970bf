//! ResNet blocks as torchvision builds them: a basic block (two 3×3 convolutions) or a
//! bottleneck (1×1, 3×3, 1×1 with 4× expansion), each convolution without bias and followed
//! by BatchNorm, and a shortcut that is the identity or, when the shape changes, a 1×1
//! projection with its own BatchNorm.

use super::layers::{Layer, Named, Shape, analyze, listing};
use super::{Asks, Data, Expected, Misconception, Params, Problem, draw::Draw, thousands};

/// Which block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Two 3×3 convolutions (ResNet-18 and -34).
    Basic,
    /// 1×1 down, 3×3, 1×1 up by 4 (ResNet-50 and deeper).
    Bottleneck,
}

impl Kind {
    fn id(self) -> &'static str {
        match self {
            Kind::Basic => "basic",
            Kind::Bottleneck => "bottleneck",
        }
    }

    fn expansion(self) -> u64 {
        match self {
            Kind::Basic => 1,
            Kind::Bottleneck => 4,
        }
    }
}

fn conv(name: &str, cin: u64, cout: u64, k: u64, stride: u64) -> Named {
    Named::conv_same(name, cin, cout, k, stride, false)
}

fn bn(name: &str, c: u64) -> Named {
    Named::new(name, Layer::BatchNorm2d { num_features: c })
}

/// The block's main path and its shortcut (empty: the identity), as torchvision names them.
pub fn block(kind: Kind, in_channels: u64, planes: u64, stride: u64) -> (Vec<Named>, Vec<Named>) {
    let out = planes * kind.expansion();
    let main = match kind {
        Kind::Basic => vec![
            conv("conv1", in_channels, planes, 3, stride),
            bn("bn1", planes),
            conv("conv2", planes, planes, 3, 1),
            bn("bn2", planes),
        ],
        Kind::Bottleneck => vec![
            conv("conv1", in_channels, planes, 1, 1),
            bn("bn1", planes),
            conv("conv2", planes, planes, 3, stride),
            bn("bn2", planes),
            conv("conv3", planes, out, 1, 1),
            bn("bn3", out),
        ],
    };
    let shortcut = if stride != 1 || in_channels != out {
        vec![
            conv("downsample.0", in_channels, out, 1, stride),
            bn("downsample.1", out),
        ]
    } else {
        Vec::new()
    };
    (main, shortcut)
}

fn total(layers: &[Named]) -> u64 {
    layers.iter().map(|l| l.layer.parameters()).sum()
}

fn sum_where(layers: &[Named], pick: impl Fn(&Layer) -> u64) -> u64 {
    layers.iter().map(|l| pick(&l.layer)).sum()
}

pub(super) fn residual_block(d: &mut Draw) -> Problem {
    let kind = if d.chance(50) {
        Kind::Basic
    } else {
        Kind::Bottleneck
    };
    // (in_channels, planes, stride) of real ResNet stages, and the input side there.
    let (in_channels, planes, stride) = match kind {
        Kind::Basic => d.pick(&[
            (64u64, 64u64, 1u64),
            (64, 128, 2),
            (128, 128, 1),
            (128, 256, 2),
            (256, 256, 1),
            (256, 512, 2),
            (512, 512, 1),
        ]),
        Kind::Bottleneck => d.pick(&[
            (64, 64, 1),
            (256, 64, 1),
            (256, 128, 2),
            (512, 128, 1),
            (512, 256, 2),
            (1024, 256, 1),
            (1024, 512, 2),
            (2048, 512, 1),
        ]),
    };
    let side_out = 56 / (planes / 64);
    let input = Shape::Chw(in_channels, side_out * stride, side_out * stride);
    let (main, shortcut) = block(kind, in_channels, planes, stride);
    let all: Vec<Named> = main.iter().chain(&shortcut).cloned().collect();
    let out_shape = analyze(input, &main)
        .and_then(|r| r.last().map(|l| l.output))
        .unwrap_or(input);
    let params = total(&all);
    let bn_params = sum_where(&all, |l| match l {
        Layer::BatchNorm2d { .. } => l.parameters(),
        _ => 0,
    });
    let conv_channels = sum_where(&all, |l| match l {
        Layer::Conv2d { out_channels, .. } => *out_channels,
        _ => 0,
    });
    let name = match kind {
        Kind::Basic => "BasicBlock",
        Kind::Bottleneck => "Bottleneck",
    };
    let shortcut_text = if shortcut.is_empty() {
        "The shortcut is the identity (same shape in and out).".to_owned()
    } else {
        format!(
            "The shortcut is a projection, since the shape changes:\n{}",
            listing(&shortcut)
        )
    };
    let intro = format!(
        "A torchvision {name}({in_channels}, {planes}, stride={stride}) takes a {input} input. Its main path, each convolution followed by BatchNorm (and ReLU, which has no parameters):\n{}\n{shortcut_text}\n",
        listing(&main)
    );
    let params_data = |asks| Params {
        asks,
        data: Data::Residual {
            input: input.dims(),
            block: kind.id(),
            layers: main.clone(),
            shortcut: shortcut.clone(),
        },
    };
    let int = |n: u64| Expected::Integer(i64::try_from(n).unwrap_or(i64::MAX));
    if d.chance(70) {
        let mut solution: Vec<String> = all.iter().map(Named::parameter_line).collect();
        solution.push(format!(
            "Total: {} learnable parameters{}.",
            thousands(params as i64),
            if shortcut.is_empty() {
                ""
            } else {
                ", the projection included"
            }
        ));
        let mut misconceptions = vec![
            Misconception {
                answer: int(params + bn_params),
                label: "counted BatchNorm's running mean and variance as parameters (they are buffers)",
            },
            Misconception {
                answer: int(params - bn_params),
                label: "forgot BatchNorm's scale and shift",
            },
            Misconception {
                answer: int(params + conv_channels),
                label: "gave the convolutions biases (they have none: BatchNorm follows)",
            },
        ];
        if !shortcut.is_empty() {
            misconceptions.push(Misconception {
                answer: int(params - total(&shortcut)),
                label: "forgot the projection shortcut",
            });
        }
        Problem {
            prompt: format!("{intro}How many learnable parameters does the block have?"),
            params: params_data(Asks::Parameters),
            expected: int(params),
            solution,
            misconceptions,
        }
    } else {
        let Shape::Chw(c, h, w) = out_shape else {
            unreachable!("a block's output is C×H×W")
        };
        let solution = vec![
            format!(
                "The stride-{stride} convolution ({}) takes the side from {}: {}{}.",
                if kind == Kind::Basic {
                    "conv1"
                } else {
                    "conv2"
                },
                side_out * stride,
                super::output_size_tex("H", side_out * stride, 1, 3, stride, h),
                if kind == Kind::Bottleneck {
                    "; the 1×1 convolutions keep it"
                } else {
                    ""
                }
            ),
            format!(
                "The last convolution gives {c} channels{}; the shortcut matches that shape, so the sum is {c}×{h}×{w}.",
                if kind == Kind::Bottleneck {
                    format!(" ({planes}·4: the bottleneck expands by 4)")
                } else {
                    String::new()
                }
            ),
        ];
        let mut misconceptions = vec![Misconception {
            answer: Expected::Shape(vec![c, side_out * stride, side_out * stride]),
            label: "ignored the stride",
        }];
        if kind == Kind::Bottleneck {
            misconceptions.push(Misconception {
                answer: Expected::Shape(vec![planes, h, w]),
                label: "forgot the bottleneck's 4× expansion",
            });
        }
        Problem {
            prompt: format!("{intro}What is the shape of the block's output? Answer as C×H×W."),
            params: params_data(Asks::OutputShape),
            expected: Expected::Shape(vec![c, h, w]),
            solution,
            misconceptions,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn torchvision_resnet18_blocks_have_their_known_parameter_counts() {
        let (main, shortcut) = block(Kind::Basic, 64, 64, 1);
        assert!(shortcut.is_empty());
        assert_eq!(total(&main), 73_984);
        // layer2's first block: 64 -> 128, stride 2, with a 1×1 projection and its BatchNorm.
        let (main, shortcut) = block(Kind::Basic, 64, 128, 2);
        assert_eq!(total(&main) + total(&shortcut), 230_144);
        let out = analyze(Shape::Chw(64, 56, 56), &main).unwrap();
        assert_eq!(out.last().unwrap().output, Shape::Chw(128, 28, 28));
        let short = analyze(Shape::Chw(64, 56, 56), &shortcut).unwrap();
        assert_eq!(short.last().unwrap().output, Shape::Chw(128, 28, 28));
    }

    #[test]
    fn torchvision_resnet50_first_bottleneck() {
        // layer1.0 of ResNet-50: 64 -> 64·4, projection because the channels change.
        let (main, shortcut) = block(Kind::Bottleneck, 64, 64, 1);
        // 1×1 64·64 + 3×3 64·64 + 1×1 64·256 + BN 2·(64 + 64 + 256) = 4,096 + 36,864 + 16,384 + 768;
        // projection 64·256 + 2·256 = 16,896.
        assert_eq!(total(&main), 58_112);
        assert_eq!(total(&shortcut), 16_896);
    }
}
