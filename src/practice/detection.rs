//! Object detection's arithmetic: how many anchors a detector lays over its feature maps, the
//! IoU of two boxes, which boxes non-maximum suppression keeps, and YOLO's output tensor.

use super::{Asks, Data, Expected, Misconception, Params, Problem, draw::Draw, real, thousands};
use serde::Serialize;

/// A box `[x1, y1, x2, y2]` in pixels, corners exclusive of nothing: its area is
/// (x2 − x1)·(y2 − y1), as torchvision's `box_area` computes it.
pub type BoxXyxy = [i64; 4];

/// One feature map an RPN or SSD head lays anchors over.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FeatureMap {
    /// Rows of the map.
    pub h: u64,
    /// Columns.
    pub w: u64,
    /// Anchor sizes in pixels.
    pub scales: Vec<u64>,
    /// Aspect ratios (height / width).
    pub ratios: Vec<f64>,
}

fn area(b: &BoxXyxy) -> i64 {
    (b[2] - b[0]).max(0) * (b[3] - b[1]).max(0)
}

fn intersection(a: &BoxXyxy, b: &BoxXyxy) -> i64 {
    let w = (a[2].min(b[2]) - a[0].max(b[0])).max(0);
    let h = (a[3].min(b[3]) - a[1].max(b[1])).max(0);
    w * h
}

/// Intersection over union.
pub fn iou(a: &BoxXyxy, b: &BoxXyxy) -> f64 {
    let inter = intersection(a, b);
    let union = area(a) + area(b) - inter;
    if union == 0 {
        0.0
    } else {
        inter as f64 / union as f64
    }
}

/// Greedy NMS as torchvision's `nms` does it: take the highest-scoring box left, keep it, and
/// drop every remaining box whose IoU with it is above `threshold`. Returns the kept indices
/// in the order kept.
pub fn nms(boxes: &[BoxXyxy], scores: &[f64], threshold: f64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..boxes.len()).collect();
    order.sort_by(|a, b| scores[*b].total_cmp(&scores[*a]));
    let mut kept: Vec<usize> = Vec::new();
    let mut dropped = vec![false; boxes.len()];
    for &i in &order {
        if dropped[i] {
            continue;
        }
        kept.push(i);
        for &j in &order {
            if !dropped[j] && !kept.contains(&j) && iou(&boxes[i], &boxes[j]) > threshold {
                dropped[j] = true;
            }
        }
    }
    kept
}

/// The slip of letting a box that was already suppressed suppress others too.
fn nms_suppressed_also_suppress(boxes: &[BoxXyxy], scores: &[f64], threshold: f64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..boxes.len()).collect();
    order.sort_by(|a, b| scores[*b].total_cmp(&scores[*a]));
    let mut dropped = vec![false; boxes.len()];
    for (n, &i) in order.iter().enumerate() {
        for &j in &order[n + 1..] {
            if iou(&boxes[i], &boxes[j]) > threshold {
                dropped[j] = true;
            }
        }
    }
    order.into_iter().filter(|i| !dropped[*i]).collect()
}

fn box_text(b: &BoxXyxy) -> String {
    format!("[{}, {}, {}, {}]", b[0], b[1], b[2], b[3])
}

fn draw_box(d: &mut Draw, near: Option<&BoxXyxy>) -> BoxXyxy {
    let (w, h) = (
        i64::try_from(d.range(20, 120)).unwrap_or(40),
        i64::try_from(d.range(20, 120)).unwrap_or(40),
    );
    let (x, y) = match near {
        Some(b) => (
            b[0] + i64::try_from(d.range(0, 60)).unwrap_or(0) - 30,
            b[1] + i64::try_from(d.range(0, 60)).unwrap_or(0) - 30,
        ),
        None => (
            i64::try_from(d.range(0, 300)).unwrap_or(0),
            i64::try_from(d.range(0, 300)).unwrap_or(0),
        ),
    };
    let (x, y) = (x.max(0), y.max(0));
    [x, y, x + w, y + h]
}

pub(super) fn detection(d: &mut Draw) -> Problem {
    match d.below(4) {
        0 => anchors(d),
        1 => iou_problem(d),
        2 => nms_problem(d),
        _ => yolo(d),
    }
}

fn anchors(d: &mut Draw) -> Problem {
    let ssd = d.chance(50);
    let maps: Vec<FeatureMap> = if ssd {
        // SSD-style: several maps, coarser and coarser.
        let sides: &[u64] = d.pick(&[
            &[38u64, 19, 10, 5, 3, 1][..],
            &[38, 19, 10, 5][..],
            &[64, 32, 16, 8, 4][..],
            &[19, 10, 5, 3, 1][..],
        ]);
        let mut scale = d.pick(&[16u64, 30, 32]);
        sides
            .iter()
            .map(|side| {
                let ratios = if d.chance(50) {
                    vec![0.5, 1.0, 2.0]
                } else {
                    vec![1.0 / 3.0, 0.5, 1.0, 2.0, 3.0]
                };
                let scales = if d.chance(50) {
                    vec![scale]
                } else {
                    vec![scale, scale * 3 / 2]
                };
                scale *= 2;
                FeatureMap {
                    h: *side,
                    w: *side,
                    scales,
                    ratios,
                }
            })
            .collect()
    } else {
        // A Faster R-CNN RPN on one stride-16 map of an H×W image.
        let (h, w) = d.pick(&[(600u64, 800u64), (800, 1024), (480, 640), (512, 512)]);
        vec![FeatureMap {
            h: h / 16,
            w: w / 16,
            scales: d
                .pick(&[&[128u64, 256, 512][..], &[64, 128, 256, 512][..]])
                .to_vec(),
            ratios: vec![0.5, 1.0, 2.0],
        }]
    };
    let per = |m: &FeatureMap| m.h * m.w * (m.scales.len() * m.ratios.len()) as u64;
    let total: u64 = maps.iter().map(per).sum();
    let ratio_text = |r: &f64| {
        if (r - 1.0 / 3.0).abs() < 1e-9 {
            "1/3".to_owned()
        } else {
            real(*r)
        }
    };
    let listing: Vec<String> = maps
        .iter()
        .enumerate()
        .map(|(i, m)| {
            format!(
                "  map {}: {}×{}, scales {:?}, ratios [{}]",
                i + 1,
                m.h,
                m.w,
                m.scales,
                m.ratios
                    .iter()
                    .map(ratio_text)
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
        .collect();
    let mut solution: Vec<String> = maps
        .iter()
        .enumerate()
        .map(|(i, m)| {
            format!(
                "Map {}: {}·{} positions × ({} scale{} · {} ratios) = {}.",
                i + 1,
                m.h,
                m.w,
                m.scales.len(),
                if m.scales.len() == 1 { "" } else { "s" },
                m.ratios.len(),
                thousands(per(m) as i64)
            )
        })
        .collect();
    if maps.len() > 1 {
        solution.push(format!(
            "Every map gets its own anchors, so they add up: {} anchors.",
            thousands(total as i64)
        ));
    } else {
        solution.push(format!("{} anchors.", thousands(total as i64)));
    }
    let int = |n: u64| Expected::Integer(i64::try_from(n).unwrap_or(i64::MAX));
    let mut misconceptions = vec![
        Misconception {
            answer: int(maps.iter().map(|m| m.h * m.w * m.scales.len() as u64).sum()),
            label: "forgot the aspect ratios",
        },
        Misconception {
            answer: int(maps
                .iter()
                .map(|m| m.h * m.w * (m.scales.len() + m.ratios.len()) as u64)
                .sum()),
            label: "added scales and ratios instead of multiplying them",
        },
    ];
    if maps.len() > 1 {
        misconceptions.push(Misconception {
            answer: int(per(&maps[0])),
            label: "counted one map's anchors instead of the sum over all maps",
        });
    }
    let what = if ssd {
        "An SSD-style detector lays anchors over these feature maps"
    } else {
        "A Faster R-CNN region proposal network lays anchors over its stride-16 feature map"
    };
    Problem {
        prompt: format!(
            "{what}: at every position of a map, one anchor per (scale, ratio) pair.\n{}\nHow many anchors are there in all?",
            listing.join("\n")
        ),
        params: Params {
            asks: Asks::AnchorCount,
            data: Data::Anchors { feature_maps: maps },
        },
        expected: int(total),
        solution,
        misconceptions,
    }
}

fn iou_problem(d: &mut Draw) -> Problem {
    let (a, b) = loop {
        let a = draw_box(d, None);
        let b = draw_box(d, Some(&a));
        // Overlaps worth computing: neither a sliver nor almost the same box.
        if (0.1..=0.9).contains(&iou(&a, &b)) {
            break (a, b);
        }
    };
    let inter = intersection(&a, &b);
    let (area_a, area_b) = (area(&a), area(&b));
    let union = area_a + area_b - inter;
    let value = iou(&a, &b);
    let (ix1, iy1, ix2, iy2) = (
        a[0].max(b[0]),
        a[1].max(b[1]),
        a[2].min(b[2]),
        a[3].min(b[3]),
    );
    let solution = vec![
        format!(
            "Areas: A = ({} − {})·({} − {}) = {}; B = ({} − {})·({} − {}) = {}.",
            a[2],
            a[0],
            a[3],
            a[1],
            thousands(area_a),
            b[2],
            b[0],
            b[3],
            b[1],
            thousands(area_b)
        ),
        format!(
            "Intersection: x from max({}, {}) = {ix1} to min({}, {}) = {ix2}, y from {iy1} to {iy2}: ({ix2} − {ix1})·({iy2} − {iy1}) = {}.",
            a[0],
            b[0],
            a[2],
            b[2],
            thousands(inter)
        ),
        format!(
            "Union: {} + {} − {} = {} (the intersection is in both areas, so it is taken away once).",
            thousands(area_a),
            thousands(area_b),
            thousands(inter),
            thousands(union)
        ),
        format!(
            r"\(\displaystyle \mathrm{{IoU}} = \frac{{\text{{intersection}}}}{{\text{{union}}}} = \frac{{{}}}{{{}}} = {}\).",
            super::tex_int(inter),
            super::tex_int(union),
            real(value)
        ),
    ];
    Problem {
        prompt: format!(
            "Two boxes, as [x1, y1, x2, y2] in pixels (area = (x2 − x1)·(y2 − y1)): A = {} and B = {}. What is their IoU?",
            box_text(&a),
            box_text(&b)
        ),
        params: Params {
            asks: Asks::Iou,
            data: Data::Boxes {
                boxes: vec![a, b],
                scores: None,
                iou_threshold: None,
            },
        },
        expected: Expected::Real(value),
        solution,
        misconceptions: vec![
            Misconception {
                answer: Expected::Real(inter as f64 / (area_a + area_b) as f64),
                label: "divided by the sum of the areas instead of the union",
            },
            Misconception {
                answer: Expected::Real(inter as f64 / area_a.min(area_b) as f64),
                label: "divided by the smaller box's area instead of the union",
            },
        ],
    }
}

fn nms_problem(d: &mut Draw) -> Problem {
    loop {
        let count = usize::try_from(d.range(3, 6)).unwrap_or(4);
        let threshold = d.pick(&[0.3, 0.5, 0.5, 0.7]);
        let first = draw_box(d, None);
        let mut boxes = vec![first];
        while boxes.len() < count {
            let near = d.chance(75);
            let anchor = boxes[usize::try_from(d.below(boxes.len() as u64)).unwrap_or(0)];
            boxes.push(draw_box(d, near.then_some(&anchor)));
        }
        // Distinct scores, two decimals.
        let mut pool: Vec<u64> = (50..=99).collect();
        let scores: Vec<f64> = (0..count)
            .map(|_| {
                let i = usize::try_from(d.below(pool.len() as u64)).unwrap_or(0);
                pool.remove(i) as f64 / 100.0
            })
            .collect();
        let kept = nms(&boxes, &scores, threshold);
        // Worth asking only when something is suppressed, and no IoU sits on the threshold.
        let ties = (0..count)
            .any(|i| (i + 1..count).any(|j| (iou(&boxes[i], &boxes[j]) - threshold).abs() < 0.005));
        if kept.len() == count || ties {
            continue;
        }
        let mut order: Vec<usize> = (0..count).collect();
        order.sort_by(|a, b| scores[*b].total_cmp(&scores[*a]));
        let mut solution = vec![format!(
            "By score: {}.",
            order
                .iter()
                .map(|i| format!("box {i} ({})", scores[*i]))
                .collect::<Vec<_>>()
                .join(", ")
        )];
        let mut dropped = vec![false; count];
        for (n, &i) in order.iter().enumerate() {
            if dropped[i] {
                continue;
            }
            let mut line = format!("Keep box {i}");
            let mut parts = Vec::new();
            // Only the boxes after it by score are still in play.
            for &j in &order[n + 1..] {
                if dropped[j] {
                    continue;
                }
                let value = iou(&boxes[i], &boxes[j]);
                if value > 0.0 {
                    if value > threshold {
                        dropped[j] = true;
                        parts.push(format!(
                            "IoU with box {j} = {} > {threshold}: drop box {j}",
                            real(value)
                        ));
                    } else {
                        parts.push(format!(
                            "IoU with box {j} = {} ≤ {threshold}: box {j} stays",
                            real(value)
                        ));
                    }
                }
            }
            if !parts.is_empty() {
                line.push_str("; ");
                line.push_str(&parts.join("; "));
            }
            line.push('.');
            solution.push(line);
        }
        solution.push(format!(
            "Kept, in order: {}.",
            kept.iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ));
        let as_indices =
            |list: Vec<usize>| Expected::Indices(list.into_iter().map(|i| i as u64).collect());
        let mut by_index = kept.clone();
        by_index.sort_unstable();
        let listing: Vec<String> = boxes
            .iter()
            .zip(&scores)
            .enumerate()
            .map(|(i, (b, s))| format!("  box {i}: {} score {s:.2}", box_text(b)))
            .collect();
        return Problem {
            prompt: format!(
                "A detector proposes these boxes ([x1, y1, x2, y2] in pixels) with their scores:\n{}\nNon-maximum suppression with an IoU threshold of {threshold} (a box is dropped when its IoU with a kept box is above it): which boxes are kept? Answer with their indices, in the order NMS keeps them.",
                listing.join("\n")
            ),
            params: Params {
                asks: Asks::NmsKept,
                data: Data::Boxes {
                    boxes: boxes.clone(),
                    scores: Some(scores.clone()),
                    iou_threshold: Some(threshold),
                },
            },
            expected: as_indices(kept.clone()),
            solution,
            misconceptions: vec![
                Misconception {
                    answer: as_indices(by_index),
                    label: "listed the kept boxes by index, not in the order of their scores",
                },
                Misconception {
                    answer: as_indices(nms_suppressed_also_suppress(&boxes, &scores, threshold)),
                    label: "let boxes that were already dropped drop others too",
                },
            ],
        };
    }
}

fn yolo(d: &mut Draw) -> Problem {
    let grid = d.pick(&[7u64, 7, 13, 14, 19]);
    let boxes = d.pick(&[2u64, 2, 3, 5]);
    let classes = d.pick(&[20u64, 20, 80, 10, 3]);
    let depth = boxes * 5 + classes;
    let solution = vec![
        format!("The image is cut into an {grid}×{grid} grid; every cell predicts for itself."),
        format!(
            "Each cell: {boxes} boxes × 5 numbers (x, y, w, h, confidence) = {}.",
            boxes * 5
        ),
        format!(
            "Plus one set of {classes} class probabilities per cell (YOLO v1 shares them across the cell's boxes): {} + {classes} = {depth}.",
            boxes * 5
        ),
        format!("Output: {grid}×{grid}×{depth}."),
    ];
    Problem {
        prompt: format!(
            "YOLO (v1) divides the image into an S×S grid with S = {grid}; each cell predicts B = {boxes} boxes and C = {classes} class probabilities. What is the shape of the output tensor? Answer as S×S×depth."
        ),
        params: Params {
            asks: Asks::OutputShape,
            data: Data::Yolo {
                grid,
                boxes_per_cell: boxes,
                classes,
            },
        },
        expected: Expected::Shape(vec![grid, grid, depth]),
        solution,
        misconceptions: vec![
            Misconception {
                answer: Expected::Shape(vec![grid, grid, boxes * 4 + classes]),
                label: "forgot each box's confidence (4 numbers per box instead of 5)",
            },
            Misconception {
                answer: Expected::Shape(vec![grid, grid, boxes * (5 + classes)]),
                label: "gave every box its own class probabilities, as YOLO v2 does, not one set per cell",
            },
            Misconception {
                answer: Expected::Shape(vec![grid, grid, 5 + classes]),
                label: "forgot that each cell predicts B boxes",
            },
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nms_with_three_boxes_keeps_the_best_and_what_it_does_not_cover() {
        // Box 1 scores best; box 0 overlaps it heavily (IoU 81/119 ≈ 0.68), box 2 not at all.
        let boxes = [[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30]];
        assert!((iou(&boxes[0], &boxes[1]) - 81.0 / 119.0).abs() < 1e-12);
        let scores = [0.8, 0.9, 0.7];
        assert_eq!(nms(&boxes, &scores, 0.5), vec![1, 2]);
        // With a threshold above their IoU both stay, best first.
        assert_eq!(nms(&boxes, &scores, 0.7), vec![1, 0, 2]);
    }

    #[test]
    fn a_suppressed_box_suppresses_nothing() {
        // 0 drops 1; 1 would have dropped 2, but 1 is gone, so 2 is kept.
        let boxes = [[0, 0, 10, 10], [4, 0, 14, 10], [8, 0, 18, 10]];
        let scores = [0.9, 0.8, 0.7];
        assert!(iou(&boxes[0], &boxes[1]) > 0.4 && iou(&boxes[0], &boxes[2]) < 0.2);
        assert_eq!(nms(&boxes, &scores, 0.4), vec![0, 2]);
        assert_eq!(nms_suppressed_also_suppress(&boxes, &scores, 0.4), vec![0]);
    }

    #[test]
    fn iou_of_known_boxes() {
        assert_eq!(iou(&[0, 0, 2, 2], &[1, 1, 3, 3]), 1.0 / 7.0);
        assert_eq!(iou(&[0, 0, 2, 2], &[2, 2, 4, 4]), 0.0);
        assert_eq!(iou(&[0, 0, 4, 4], &[0, 0, 4, 4]), 1.0);
    }
}
