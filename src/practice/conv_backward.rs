//! Convolution forwards and backwards on one small single-channel input, in integers: the
//! forward output (a cross-correlation, as PyTorch's Conv2d computes it), the gradients with
//! respect to the input and to the kernel given the upstream gradient, and a transposed
//! convolution's output.

use super::layers::LISTING_INDENT;
use super::{Asks, Data, Expected, Misconception, Params, Problem, draw::Draw, factor, signed};

/// A row-major integer matrix.
pub type Matrix = Vec<Vec<i64>>;

/// Geometry of one convolution: stride and zero padding on every side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Geometry {
    /// Step of the kernel.
    pub stride: usize,
    /// Zeros added on each side.
    pub padding: usize,
}

fn size(m: &Matrix) -> usize {
    m.len()
}

/// The input with `padding` zeros around it.
fn padded(x: &Matrix, padding: usize) -> Matrix {
    let n = size(x) + 2 * padding;
    let mut out = vec![vec![0; n]; n];
    for (i, row) in x.iter().enumerate() {
        for (j, v) in row.iter().enumerate() {
            out[i + padding][j + padding] = *v;
        }
    }
    out
}

/// The output side of a convolution: floor((n + 2p − k) / s) + 1, or None when the kernel
/// does not fit.
pub fn output_side(n: usize, k: usize, g: Geometry) -> Option<usize> {
    (n + 2 * g.padding)
        .checked_sub(k)
        .map(|room| room / g.stride + 1)
}

/// The kernel turned by 180°: what a true convolution slides.
pub fn flipped(w: &Matrix) -> Matrix {
    w.iter()
        .rev()
        .map(|row| row.iter().rev().copied().collect())
        .collect()
}

/// Cross-correlation of `x` with `w`: Y[i][j] = Σ Xpad[i·s + a][j·s + b]·W[a][b].
pub fn forward(x: &Matrix, w: &Matrix, g: Geometry) -> Matrix {
    let xp = padded(x, g.padding);
    let k = size(w);
    let o = output_side(size(x), k, g).unwrap_or(0);
    (0..o)
        .map(|i| {
            (0..o)
                .map(|j| {
                    (0..k)
                        .flat_map(|a| (0..k).map(move |b| (a, b)))
                        .map(|(a, b)| xp[i * g.stride + a][j * g.stride + b] * w[a][b])
                        .sum()
                })
                .collect()
        })
        .collect()
}

/// ∂L/∂W: dW[a][b] = Σ G[i][j]·Xpad[i·s + a][j·s + b].
pub fn grad_weight(x: &Matrix, upstream: &Matrix, k: usize, g: Geometry) -> Matrix {
    let xp = padded(x, g.padding);
    (0..k)
        .map(|a| {
            (0..k)
                .map(|b| {
                    let mut sum = 0;
                    for (i, row) in upstream.iter().enumerate() {
                        for (j, gij) in row.iter().enumerate() {
                            sum += gij * xp[i * g.stride + a][j * g.stride + b];
                        }
                    }
                    sum
                })
                .collect()
        })
        .collect()
}

/// ∂L/∂X: each upstream entry G[i][j] spreads G[i][j]·W over the window it came from
/// (rows i·s − p .. i·s − p + k), and the parts in the padding are dropped. This equals a full
/// convolution of G (spread out by the stride) with the kernel turned by 180°.
pub fn grad_input(n: usize, w: &Matrix, upstream: &Matrix, g: Geometry) -> Matrix {
    scatter(w, upstream, g, n)
}

/// Adds G[i][j]·W at (i·s − p, j·s − p) into an `out`×`out` matrix (what falls outside is
/// dropped): the input gradient, and also a transposed convolution's output.
fn scatter(w: &Matrix, upstream: &Matrix, g: Geometry, out: usize) -> Matrix {
    let mut result = vec![vec![0; out]; out];
    for (i, row) in upstream.iter().enumerate() {
        for (j, gij) in row.iter().enumerate() {
            for (a, w_row) in w.iter().enumerate() {
                for (b, wab) in w_row.iter().enumerate() {
                    let (y, x) = (i * g.stride + a, j * g.stride + b);
                    if y >= g.padding && x >= g.padding {
                        let (y, x) = (y - g.padding, x - g.padding);
                        if y < out && x < out {
                            result[y][x] += gij * wab;
                        }
                    }
                }
            }
        }
    }
    result
}

/// ConvTranspose2d's output: side (m − 1)·s − 2p + k, each input entry spreading X[i][j]·W.
pub fn transposed(x: &Matrix, w: &Matrix, g: Geometry) -> Option<Matrix> {
    let side = ((size(x) - 1) * g.stride + size(w)).checked_sub(2 * g.padding)?;
    (side > 0).then(|| scatter(w, x, g, side))
}

/// "name[y][x] = G[0][1]·W[1][0] + … = 2·1 + … = 5": which spread products land on each
/// entry of a scattered result (the input gradient, a transposed convolution), entry by entry.
fn scatter_steps(
    name: &str,
    src_name: &str,
    src: &Matrix,
    w: &Matrix,
    g: Geometry,
    result: &Matrix,
) -> Vec<String> {
    let mut steps = Vec::new();
    for (y, row) in result.iter().enumerate() {
        for (x, v) in row.iter().enumerate() {
            let mut named = Vec::new();
            let mut valued = Vec::new();
            for (i, src_row) in src.iter().enumerate() {
                for (j, sij) in src_row.iter().enumerate() {
                    for (a, w_row) in w.iter().enumerate() {
                        for (b, wab) in w_row.iter().enumerate() {
                            if i * g.stride + a == y + g.padding
                                && j * g.stride + b == x + g.padding
                            {
                                named.push(format!("{src_name}[{i}][{j}]·W[{a}][{b}]"));
                                valued.push(format!("{}·{}", factor(*sij), factor(*wab)));
                            }
                        }
                    }
                }
            }
            steps.push(if named.is_empty() {
                format!("{name}[{y}][{x}] = 0: no window covers it.")
            } else {
                format!(
                    "{name}[{y}][{x}] = {} = {} = {}",
                    named.join(" + "),
                    valued.join(" + "),
                    signed(*v)
                )
            });
        }
    }
    steps
}

fn draw_matrix(d: &mut Draw, n: usize, lo: i64, hi: i64) -> Matrix {
    let span = u64::try_from(hi - lo + 1).unwrap_or(1);
    (0..n)
        .map(|_| {
            (0..n)
                .map(|_| lo + i64::try_from(d.below(span)).unwrap_or(0))
                .collect()
        })
        .collect()
}

/// A matrix as listing lines, columns right-aligned: "  [ 1  −2   0]".
fn listing(m: &Matrix) -> String {
    let width = m
        .iter()
        .flatten()
        .map(|v| signed(*v).chars().count())
        .max()
        .unwrap_or(1);
    m.iter()
        .map(|row| {
            let cells: Vec<String> = row
                .iter()
                .map(|v| format!("{:>width$}", signed(*v)))
                .collect();
            format!("{LISTING_INDENT}[{}]", cells.join(" "))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn rows_of(m: &Matrix) -> String {
    Expected::Matrix(m.clone()).display()
}

/// "Y[0][1] = 1·2 + 0·(−1) + … = 5" for each entry of the forward output.
fn forward_steps(x: &Matrix, w: &Matrix, g: Geometry, y: &Matrix) -> Vec<String> {
    let xp = padded(x, g.padding);
    let k = size(w);
    let mut steps = Vec::new();
    for (i, row) in y.iter().enumerate() {
        for (j, v) in row.iter().enumerate() {
            let terms: Vec<String> = (0..k)
                .flat_map(|a| (0..k).map(move |b| (a, b)))
                .map(|(a, b)| {
                    format!(
                        "{}·{}",
                        factor(xp[i * g.stride + a][j * g.stride + b]),
                        factor(w[a][b])
                    )
                })
                .collect();
            steps.push(format!(
                "Y[{i}][{j}] = {} = {}",
                terms.join(" + "),
                signed(*v)
            ));
        }
    }
    steps
}

pub(super) fn conv_backward(d: &mut Draw) -> Problem {
    match d.below(4) {
        0 => forward_problem(d),
        1 => gradient_problem(d, true),
        2 => gradient_problem(d, false),
        _ => transposed_problem(d),
    }
}

/// A convolution whose output is at least 2×2.
fn draw_conv(d: &mut Draw) -> (Matrix, Matrix, Geometry) {
    loop {
        let n = usize::try_from(d.range(3, 5)).unwrap_or(3);
        let k = usize::try_from(d.pick(&[2u64, 3])).unwrap_or(2);
        let g = Geometry {
            stride: usize::try_from(d.pick(&[1u64, 1, 2])).unwrap_or(1),
            padding: usize::try_from(d.pick(&[0u64, 0, 1])).unwrap_or(0),
        };
        // Whole windows only: the last window ends exactly at the padded edge.
        if !(n + 2 * g.padding - k).is_multiple_of(g.stride)
            || output_side(n, k, g).unwrap_or(0) < 2
        {
            continue;
        }
        let x = draw_matrix(d, n, -2, 3);
        let w = draw_matrix(d, k, -1, 2);
        return (x, w, g);
    }
}

fn layer_text(k: usize, g: Geometry) -> String {
    format!(
        "Conv2d(1, 1, kernel_size={k}, stride={}, padding={}, bias=False)",
        g.stride, g.padding
    )
}

fn conv_params(
    asks: Asks,
    x: &Matrix,
    w: &Matrix,
    upstream: Option<&Matrix>,
    g: Geometry,
) -> Params {
    Params {
        asks,
        data: Data::Conv {
            input: x.clone(),
            kernel: w.clone(),
            upstream: upstream.cloned(),
            stride: g.stride as u64,
            padding: g.padding as u64,
        },
    }
}

fn forward_problem(d: &mut Draw) -> Problem {
    let (x, w, g) = draw_conv(d);
    let (n, k) = (size(&x), size(&w));
    let y = forward(&x, &w, g);
    let o = size(&y);
    let mut solution = vec![format!(
        "Output side: {}, so Y is {o}×{o}.",
        super::output_size_tex(
            "H",
            n as u64,
            g.padding as u64,
            k as u64,
            g.stride as u64,
            o as u64
        )
    )];
    if g.padding > 0 {
        solution.push(format!(
            "Pad X with {} zero{} on every side; window (i, j) starts at row i·{s}, column j·{s} of the padded input.",
            g.padding,
            if g.padding == 1 { "" } else { "s" },
            s = g.stride
        ));
    }
    solution.push(
        "Cross-correlation, as PyTorch computes it: each output is the sum of the window times the kernel, entry by entry, without flipping the kernel.".to_owned(),
    );
    solution.extend(forward_steps(&x, &w, g, &y));
    solution.push(format!("Y = {}.", rows_of(&y)));
    Problem {
        prompt: format!(
            "A single-channel {n}×{n} input X goes through {} with kernel W. What is the output Y?\nX =\n{}\nW =\n{}\nAnswer with Y row by row.",
            layer_text(k, g),
            listing(&x),
            listing(&w)
        ),
        params: conv_params(Asks::ConvOutput, &x, &w, None, g),
        expected: Expected::Matrix(y),
        solution,
        misconceptions: vec![Misconception {
            answer: Expected::Matrix(forward(&x, &flipped(&w), g)),
            label: "flipped the kernel (a true convolution), which PyTorch's Conv2d does not do",
        }],
    }
}

fn gradient_problem(d: &mut Draw, of_input: bool) -> Problem {
    let (x, w, g) = draw_conv(d);
    let (n, k) = (size(&x), size(&w));
    let o = output_side(n, k, g).unwrap_or(1);
    let upstream = draw_matrix(d, o, -1, 2);
    let stride_one = Geometry { stride: 1, ..g };
    let intro = format!(
        "A single-channel {n}×{n} input X goes through {} with kernel W, giving a {o}×{o} output Y. The gradient of the loss with respect to Y is G.\nX =\n{}\nW =\n{}\nG =\n{}\n",
        layer_text(k, g),
        listing(&x),
        listing(&w),
        listing(&upstream)
    );
    if of_input {
        let dx = grad_input(n, &w, &upstream, g);
        let mut solution = vec![format!(
            "Each output Y[i][j] used the window of the padded input starting at (i·{s}, j·{s}), so G[i][j]·W flows back onto that window: dX[i·{s} + a − {p}][j·{s} + b − {p}] += G[i][j]·W[a][b]{}.",
            if g.padding > 0 {
                "; what lands on the padding belongs to no input pixel"
            } else {
                ""
            },
            s = g.stride,
            p = g.padding
        )];
        solution.extend(scatter_steps("dX", "G", &upstream, &w, g, &dx));
        solution.push(format!(
            "The same as a full convolution of G{} with the kernel turned by 180°{}.",
            if g.stride > 1 {
                " (zeros between its entries for the stride)"
            } else {
                ""
            },
            if g.padding > 0 {
                ", the padded border dropped"
            } else {
                ""
            }
        ));
        solution.push(format!("dL/dX = {}.", rows_of(&dx)));
        let mut misconceptions = vec![Misconception {
            answer: Expected::Matrix(grad_input(n, &flipped(&w), &upstream, g)),
            label: "did not turn the kernel by 180° for the input gradient",
        }];
        if g.stride > 1 {
            misconceptions.push(Misconception {
                answer: Expected::Matrix(grad_input(n, &w, &upstream, stride_one)),
                label: "ignored the stride in the backward pass",
            });
        }
        Problem {
            prompt: format!(
                "{intro}What is the gradient of the loss with respect to X (a {n}×{n} matrix)?"
            ),
            params: conv_params(Asks::GradInput, &x, &w, Some(&upstream), g),
            expected: Expected::Matrix(dx),
            solution,
            misconceptions,
        }
    } else {
        let dw = grad_weight(&x, &upstream, k, g);
        let xp = padded(&x, g.padding);
        let mut solution = vec![format!(
            "W[a][b] multiplied Xpad[i·{s} + a][j·{s} + b] in every output Y[i][j], so dL/dW[a][b] = Σ G[i][j]·Xpad[i·{s} + a][j·{s} + b]: a cross-correlation of the input with G{}.",
            if g.stride > 1 {
                " spread out by the stride"
            } else {
                ""
            },
            s = g.stride
        )];
        for (a, row) in dw.iter().enumerate() {
            for (b, v) in row.iter().enumerate() {
                let terms: Vec<String> = upstream
                    .iter()
                    .enumerate()
                    .flat_map(|(i, grow)| {
                        let xp = &xp;
                        grow.iter().enumerate().map(move |(j, gij)| {
                            format!(
                                "{}·{}",
                                factor(*gij),
                                factor(xp[i * g.stride + a][j * g.stride + b])
                            )
                        })
                    })
                    .collect();
                solution.push(format!(
                    "dW[{a}][{b}] = {} = {}",
                    terms.join(" + "),
                    signed(*v)
                ));
            }
        }
        solution.push(format!("dL/dW = {}.", rows_of(&dw)));
        let mut misconceptions = vec![Misconception {
            answer: Expected::Matrix(flipped(&dw)),
            label: "turned the result by 180°: the weight gradient is a plain cross-correlation",
        }];
        if g.stride > 1 {
            misconceptions.push(Misconception {
                answer: Expected::Matrix(grad_weight(&x, &upstream, k, stride_one)),
                label: "ignored the stride in the backward pass",
            });
        }
        Problem {
            prompt: format!(
                "{intro}What is the gradient of the loss with respect to the kernel W (a {k}×{k} matrix)?"
            ),
            params: conv_params(Asks::GradWeight, &x, &w, Some(&upstream), g),
            expected: Expected::Matrix(dw),
            solution,
            misconceptions,
        }
    }
}

fn transposed_problem(d: &mut Draw) -> Problem {
    loop {
        let m = usize::try_from(d.range(2, 3)).unwrap_or(2);
        let k = usize::try_from(d.pick(&[2u64, 3])).unwrap_or(2);
        let g = Geometry {
            stride: usize::try_from(d.pick(&[1u64, 2, 2])).unwrap_or(2),
            padding: usize::try_from(d.pick(&[0u64, 0, 1])).unwrap_or(0),
        };
        let x = draw_matrix(d, m, -1, 3);
        let w = draw_matrix(d, k, -1, 2);
        let Some(out) = transposed(&x, &w, g) else {
            continue;
        };
        if size(&out) < 2 {
            continue;
        }
        let side = size(&out);
        let mut solution = vec![
            format!(
                "Output side: (H − 1)·S − 2·P + K = ({m} − 1)·{} − 2·{} + {k} = {side}.",
                g.stride, g.padding
            ),
            format!(
                "Each input entry X[i][j] adds X[i][j]·W to the output at row i·{s}, column j·{s}{}; overlapping parts add up.",
                if g.padding > 0 {
                    format!(
                        ", then {} row{} and column{} are cut from every edge",
                        g.padding,
                        if g.padding == 1 { "" } else { "s" },
                        if g.padding == 1 { "" } else { "s" }
                    )
                } else {
                    String::new()
                },
                s = g.stride
            ),
        ];
        solution.extend(scatter_steps("Y", "X", &x, &w, g, &out));
        solution.push(format!("Y = {}.", rows_of(&out)));
        let mut misconceptions = vec![Misconception {
            answer: Expected::Matrix(transposed(&x, &flipped(&w), g).unwrap_or_default()),
            label: "flipped the kernel",
        }];
        if g.padding > 0
            && let Some(uncut) = transposed(&x, &w, Geometry { padding: 0, ..g })
        {
            misconceptions.push(Misconception {
                answer: Expected::Matrix(uncut),
                label: "did not cut the padding from the output's edges",
            });
        }
        if g.stride > 1
            && let Some(dense) = transposed(&x, &w, Geometry { stride: 1, ..g })
        {
            misconceptions.push(Misconception {
                answer: Expected::Matrix(dense),
                label: "ignored the stride",
            });
        }
        return Problem {
            prompt: format!(
                "A single-channel {m}×{m} input X goes through ConvTranspose2d(1, 1, kernel_size={k}, stride={}, padding={}, bias=False) with kernel W. What is the output Y?\nX =\n{}\nW =\n{}\nAnswer with Y row by row.",
                g.stride,
                g.padding,
                listing(&x),
                listing(&w)
            ),
            params: conv_params(Asks::TransposedConvOutput, &x, &w, None, g),
            expected: Expected::Matrix(out),
            solution,
            misconceptions,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S1: Geometry = Geometry {
        stride: 1,
        padding: 0,
    };

    #[test]
    fn a_hand_computed_cross_correlation_and_its_gradients() {
        // X 3×3, W 2×2, stride 1, no padding: Y is 2×2.
        let x = vec![vec![1, 2, 0], vec![0, 1, 3], vec![2, -1, 1]];
        let w = vec![vec![1, 0], vec![-1, 2]];
        // Y[0][0] = 1·1 + 2·0 + 0·(−1) + 1·2 = 3; Y[0][1] = 2 + 0 − 1 + 6 = 7;
        // Y[1][0] = 0 + 0 − 2 − 2 = −4; Y[1][1] = 1 + 0 + 1 + 2 = 4.
        assert_eq!(forward(&x, &w, S1), vec![vec![3, 7], vec![-4, 4]]);
        let g = vec![vec![1, 0], vec![2, -1]];
        // dX: G[0][0]·W at (0,0), G[1][0]·W at (1,0), G[1][1]·W at (1,1).
        assert_eq!(
            grad_input(3, &w, &g, S1),
            vec![vec![1, 0, 0], vec![1, 1, 0], vec![-2, 5, -2]]
        );
        // dW[a][b] = Σ G[i][j]·X[i + a][j + b].
        // dW[0][0] = 1·1 + 0·2 + 2·0 + (−1)·1 = 0; dW[0][1] = 2 + 0 + 2 − 3 = 1;
        // dW[1][0] = 0 + 0 + 4 + 1 = 5; dW[1][1] = 1 + 0 − 2 − 1 = −2.
        assert_eq!(grad_weight(&x, &g, 2, S1), vec![vec![0, 1], vec![5, -2]]);
        // The input gradient is the full convolution of G with the turned kernel.
        let wf = flipped(&w);
        assert_eq!(wf, vec![vec![2, -1], vec![0, 1]]);
        let g_full = padded(&g, 1);
        assert_eq!(forward(&g_full, &wf, S1), grad_input(3, &w, &g, S1));
    }

    #[test]
    fn a_hand_computed_3x3_kernel_forwards_and_backwards() {
        let x = vec![
            vec![1, 2, 0, 1],
            vec![0, 1, 2, 1],
            vec![1, 0, 1, 0],
            vec![2, 1, 0, 1],
        ];
        let w = vec![vec![1, 0, -1], vec![0, 1, 0], vec![2, 0, 1]];
        // Y[0][0] = (1 + 0 + 0) + (0 + 1 + 0) + (2 + 0 + 1) = 5, and so on.
        assert_eq!(forward(&x, &w, S1), vec![vec![5, 3], vec![2, 4]]);
        let g = vec![vec![1, 0], vec![0, 1]];
        // dW[a][b] = X[a][b] + X[a + 1][b + 1].
        assert_eq!(
            grad_weight(&x, &g, 3, S1),
            vec![vec![2, 4, 1], vec![0, 2, 2], vec![2, 0, 2]]
        );
        // dX: W placed at (0, 0) plus W placed at (1, 1).
        assert_eq!(
            grad_input(4, &w, &g, S1),
            vec![
                vec![1, 0, -1, 0],
                vec![0, 2, 0, -1],
                vec![2, 0, 2, 0],
                vec![0, 2, 0, 1]
            ]
        );
    }

    #[test]
    fn stride_and_padding_follow_pytorch() {
        let x = vec![vec![1, 2, 3], vec![4, 5, 6], vec![7, 8, 9]];
        let w = vec![vec![1, 1], vec![1, 1]];
        let g = Geometry {
            stride: 2,
            padding: 1,
        };
        // Padded 5×5, windows at 0 and 2: sums of the 2×2 blocks.
        assert_eq!(forward(&x, &w, g), vec![vec![1, 5], vec![11, 28]]);
        // A transposed convolution undoes the shape: 2×2 in, (2 − 1)·2 − 2 + 2 = 2... with
        // kernel 3, stride 2, padding 1: (2 − 1)·2 − 2 + 3 = 3.
        let t = transposed(&vec![vec![1, 2], vec![3, 4]], &vec![vec![1; 3]; 3], g).unwrap();
        assert_eq!(t, vec![vec![1, 3, 2], vec![4, 10, 6], vec![3, 7, 4]]);
    }
}
