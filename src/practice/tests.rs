//! Property tests over thousands of seeds per family.

use super::*;
use proptest::prelude::*;

/// The ways a student may type a right answer.
fn typed_forms(expected: &Expected, style: u8) -> String {
    match expected {
        Expected::Integer(n) => match style % 4 {
            0 => n.to_string(),
            1 => thousands(*n),
            2 => format!("{:e}", *n as f64),
            _ => thousands(*n).replace(',', " "),
        },
        Expected::Real(x) => match style % 3 {
            0 => real(*x),
            1 => format!("{x}"),
            _ => format!("{x:e}"),
        },
        Expected::Shape(dims) => {
            let parts: Vec<String> = dims.iter().map(u64::to_string).collect();
            match style % 3 {
                0 => parts.join("x"),
                1 => format!("({})", parts.join(", ")),
                _ => parts.join(" × "),
            }
        }
        Expected::Name(names) => names[usize::from(style) % names.len()].to_uppercase(),
        Expected::Matrix(rows) => {
            let row = |r: &Vec<i64>, sep: &str| {
                r.iter().map(i64::to_string).collect::<Vec<_>>().join(sep)
            };
            match style % 4 {
                0 => expected.display(),
                1 => rows
                    .iter()
                    .map(|r| row(r, " "))
                    .collect::<Vec<_>>()
                    .join("; "),
                2 => rows
                    .iter()
                    .map(|r| row(r, ", "))
                    .collect::<Vec<_>>()
                    .join("\n"),
                _ => format!(
                    "[{}]",
                    rows.iter()
                        .map(|r| format!("[{}]", row(r, ",")))
                        .collect::<Vec<_>>()
                        .join(",")
                ),
            }
        }
        Expected::Indices(list) => {
            let parts: Vec<String> = list.iter().map(u64::to_string).collect();
            match style % 3 {
                0 => parts.join(", "),
                1 => format!("[{}]", parts.join(",")),
                _ => parts.join(" "),
            }
        }
    }
}

fn wrong_form(expected: &Expected) -> String {
    match expected {
        Expected::Integer(n) => (n * 3 + 7).to_string(),
        Expected::Real(x) => format!("{}", x * 1.37 + 0.5),
        Expected::Shape(dims) => dims
            .iter()
            .map(|d| (d + 3).to_string())
            .collect::<Vec<_>>()
            .join("x"),
        Expected::Name(_) => "no_such_layer".to_owned(),
        Expected::Matrix(rows) => Expected::Matrix(
            rows.iter()
                .map(|r| r.iter().map(|v| v * 3 + 7).collect())
                .collect(),
        )
        .display(),
        Expected::Indices(list) => list
            .iter()
            .map(|i| (i + 7).to_string())
            .collect::<Vec<_>>()
            .join(", "),
    }
}

fn check_family(family: &Family, seed: u64, style: u8) -> Result<(), TestCaseError> {
    let v = family.variant(seed);
    prop_assert_eq!(&v, &family.variant(seed), "deterministic");
    prop_assert!(!v.prompt.is_empty() && !v.solution.is_empty());
    match &v.expected {
        Expected::Integer(n) => prop_assert!(*n >= 0),
        Expected::Real(x) => prop_assert!(x.is_finite() && *x != 0.0),
        Expected::Shape(dims) => prop_assert!(dims.iter().all(|d| *d > 0)),
        Expected::Name(names) => prop_assert!(!names.is_empty()),
        Expected::Matrix(rows) => {
            prop_assert!(!rows.is_empty() && rows.iter().all(|r| r.len() == rows[0].len()))
        }
        Expected::Indices(list) => prop_assert!(!list.is_empty()),
    }
    if let Data::Layers { input, layers, .. } = &v.params.data {
        let shape = match input[..] {
            [c, h, w] => layers::Shape::Chw(c, h, w),
            [n] => layers::Shape::Flat(n),
            _ => return Err(TestCaseError::fail("input is [C, H, W] or [features]")),
        };
        prop_assert!(
            layers::analyze(shape, layers).is_some(),
            "every layer fits its input"
        );
    }
    // Blocks and modules are valid too: every path fits its input, a residual block's
    // shortcut gives its main path's shape, an Inception module's branches keep the size.
    if let Data::Residual {
        input,
        layers,
        shortcut,
        ..
    } = &v.params.data
    {
        let shape = layers::Shape::Chw(input[0], input[1], input[2]);
        let main = layers::analyze(shape, layers).and_then(|r| r.last().map(|l| l.output));
        let short = if shortcut.is_empty() {
            Some(shape)
        } else {
            layers::analyze(shape, shortcut).and_then(|r| r.last().map(|l| l.output))
        };
        prop_assert!(main.is_some() && main == short, "{:?} vs {:?}", main, short);
    }
    if let Data::Inception { input, branches } = &v.params.data {
        let shape = layers::Shape::Chw(input[0], input[1], input[2]);
        for b in branches {
            let out = layers::analyze(shape, b).and_then(|r| r.last().map(|l| l.output));
            prop_assert!(
                matches!(out, Some(layers::Shape::Chw(_, h, w)) if h == input[1] && w == input[2]),
                "a branch keeps the size"
            );
        }
    }
    let right = typed_forms(&v.expected, style);
    prop_assert_eq!(
        v.check(&right),
        Ok(Checked {
            correct: true,
            misconception: None
        }),
        "{} accepted",
        right
    );
    for m in &v.misconceptions {
        let typed = typed_forms(&m.answer, style);
        let checked = v.check(&typed).map_err(|e| TestCaseError::fail(e.0))?;
        prop_assert!(
            !checked.correct,
            "misconception {} ({}) must not pass",
            m.label,
            typed
        );
        prop_assert_eq!(checked.misconception, Some(m.label), "typed {}", typed);
    }
    let wrong = wrong_form(&v.expected);
    prop_assert!(
        !v.check(&wrong).map(|c| c.correct).unwrap_or(false),
        "{} refused",
        wrong
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn every_family_is_deterministic_valid_and_checks_its_own_answers(seed in 0..=MAX_SEED, style in 0u8..12) {
        for family in FAMILIES {
            check_family(family, seed, style)?;
        }
    }
}

#[test]
fn each_family_lists_misconceptions_for_most_seeds() {
    for family in FAMILIES {
        let with = (0..500)
            .filter(|s| !family.variant(*s).misconceptions.is_empty())
            .count();
        assert!(
            with > 400,
            "{} has misconceptions for only {with} of 500 seeds",
            family.id
        );
    }
}

#[test]
fn every_solution_ends_with_this_variants_answer() {
    for family in FAMILIES {
        for seed in 0..300 {
            let v = family.variant(seed);
            let text = v.solution.join(" ");
            let answer = match &v.expected {
                Expected::Shape(_) => v.expected.display(),
                Expected::Name(names) => names[0].clone(),
                other => other.display(),
            };
            assert!(
                text.contains(&answer),
                "{} seed {seed}: {answer} not in {text}",
                family.id
            );
        }
    }
}

#[test]
fn a_forgotten_bias_is_named() {
    let family = family("conv-params").unwrap();
    let v = (0..100)
        .map(|s| family.variant(s))
        .find(|v| {
            v.misconceptions
                .iter()
                .any(|m| m.label == "forgot the bias")
        })
        .unwrap();
    let forgot = v
        .misconceptions
        .iter()
        .find(|m| m.label == "forgot the bias")
        .unwrap();
    let checked = v.check(&forgot.answer.display()).unwrap();
    assert_eq!(
        checked,
        Checked {
            correct: false,
            misconception: Some("forgot the bias")
        }
    );
}

#[test]
fn unreadable_answers_are_errors_not_grades() {
    let v = family("output-shape").unwrap().variant(7);
    assert!(v.check("big").is_err());
    let v = family("conv-params").unwrap().variant(7);
    assert!(v.check("1,5").is_err());
}

#[test]
fn reals_print_with_four_significant_digits() {
    assert_eq!(real(0.210_721), "0.2107");
    assert_eq!(real(288.0), "288");
    assert_eq!(real(12_544.0), "12,544");
    assert_eq!(real(-0.5), "-0.5");
    assert_eq!(real(0.000_123_45), "0.0001234");
    assert_eq!(thousands(138_357_544), "138,357,544");
}

#[test]
fn every_family_has_a_unique_id() {
    let mut ids: Vec<&str> = FAMILIES.iter().map(|f| f.id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), FAMILIES.len());
    assert!(FAMILIES.len() >= 9);
}

#[test]
fn network_prompts_use_the_right_article() {
    let network = super::family("network").unwrap();
    let (mut vgg, mut alex) = (false, false);
    for seed in 0..200 {
        let prompt = network.variant(seed).prompt;
        assert!(
            !prompt.contains("A AlexNet") && !prompt.contains("a AlexNet"),
            "{prompt}"
        );
        vgg |= prompt.starts_with("A VGG-like network");
        alex |= prompt.starts_with("An AlexNet-like network");
    }
    assert!(vgg && alex);
}

#[test]
fn the_format_hints_examples_are_read_as_they_say() {
    use super::answer;
    assert_eq!(answer::number("73,856").unwrap(), 73_856.0);
    assert_eq!(answer::number("7.3856e4").unwrap(), 73_856.0);
    assert_eq!(answer::number("0.2107").unwrap(), 0.2107);
    assert!((answer::number("2.107e-1").unwrap() - 0.2107).abs() < 1e-12);
    for spelling in ["64×55×55", "64x55x55", "(64, 55, 55)"] {
        assert_eq!(
            answer::shape(spelling).unwrap(),
            vec![64, 55, 55],
            "{spelling}"
        );
    }
    assert_eq!(answer::name("conv3").unwrap(), "conv3");
    for e in [
        super::Expected::Integer(1),
        super::Expected::Real(1.0),
        super::Expected::Shape(vec![1]),
        super::Expected::Name(vec!["fc1".into()]),
    ] {
        assert!(!e.format_hint().is_empty());
    }
}

#[test]
fn a_name_that_is_no_layer_is_unreadable_not_wrong() {
    let network = super::family("network").unwrap();
    let v = (0..500)
        .map(|seed| network.variant(seed))
        .find(|v| matches!(v.expected, super::Expected::Name(_)))
        .expect("some network variant asks for a layer's name");
    let err = v.check("conv99").unwrap_err();
    assert!(err.0.contains("names no layer"), "{err}");
    let super::Expected::Name(names) = &v.expected else {
        unreachable!()
    };
    assert!(v.check(&names[0]).unwrap().correct);
}

#[test]
fn a_shape_without_its_channels_is_named_as_such() {
    for id in ["output-shape", "transposed-conv"] {
        let family = super::family(id).unwrap();
        for seed in 0..200 {
            let v = family.variant(seed);
            let super::Expected::Shape(dims) = &v.expected else {
                continue;
            };
            let typed = format!("{}x{}", dims[1], dims[2]);
            let checked = v.check(&typed).unwrap();
            assert!(!checked.correct);
            assert_eq!(
                checked.misconception,
                Some("left out the channels (the shape is C×H×W)"),
                "{id} {seed}: {typed}"
            );
        }
    }
}

#[test]
fn negative_numbers_in_worked_subtractions_are_parenthesised() {
    let loss = super::family("loss").unwrap();
    let mut seen = false;
    for seed in 0..2000 {
        for step in loss.variant(seed).solution {
            assert!(!step.contains("− -"), "{step}");
            assert!(!step.contains(" - -"), "{step}");
            seen |= step.contains("− (−");
        }
    }
    assert!(
        seen,
        "some regression example subtracts a negative prediction"
    );
}

#[test]
fn layer_listings_are_one_monospace_block_whenever_a_prompt_lists_layers() {
    for id in ["receptive-field", "network"] {
        let family = FAMILIES.iter().find(|f| f.id == id).unwrap();
        for seed in 0..50 {
            let v = family.variant(seed);
            let Data::Layers { layers, .. } = &v.params.data else {
                panic!("{id} has no layers");
            };
            let blocks = v.prompt_blocks();
            let listings: Vec<&Vec<String>> = blocks
                .iter()
                .filter_map(|b| match b {
                    PromptBlock::Listing(lines) => Some(lines),
                    PromptBlock::Text(_) => None,
                })
                .collect();
            assert_eq!(listings.len(), 1, "{id} {seed}: {blocks:?}");
            // Every named layer but the ReLUs the network's words account for is listed.
            let shown = layers
                .iter()
                .filter(|l| l.layer != layers::Layer::Relu)
                .count();
            assert_eq!(listings[0].len(), shown, "{id} {seed}");
            assert!(listings[0][0].starts_with(&layers[0].name));
            assert!(
                matches!(blocks.last(), Some(PromptBlock::Text(q)) if q.ends_with('?') || q.ends_with('.'))
            );
        }
    }
}

#[test]
fn every_formula_in_prompts_and_solutions_renders() {
    let mut formulas = 0;
    for family in FAMILIES {
        for seed in 0..300 {
            let v = family.variant(seed);
            for line in v.solution.iter().chain(std::iter::once(&v.prompt)) {
                for piece in crate::math::pieces(line) {
                    match piece {
                        crate::math::Piece::Unreadable(src) => {
                            panic!("{} {seed}: {src} does not render", family.id)
                        }
                        crate::math::Piece::Math(_) => formulas += 1,
                        crate::math::Piece::Text(_) => {}
                    }
                }
            }
        }
    }
    assert!(formulas > 1000, "{formulas} formulas");
}

#[test]
fn a_tie_typed_as_the_page_shows_it_is_right() {
    let family = FAMILIES.iter().find(|f| f.id == "network").unwrap();
    let tie = (0..5000)
        .map(|seed| family.variant(seed))
        .find(|v| matches!(&v.expected, Expected::Name(n) if n.len() > 1))
        .expect("some network variant has a tie");
    let shown = tie.expected.display();
    assert!(shown.contains(" or "));
    assert!(tie.check(&shown).unwrap().correct);
    assert!(tie.check(&shown.to_uppercase()).unwrap().correct);
    let Expected::Name(names) = &tie.expected else {
        unreachable!()
    };
    assert!(tie.check(&names[1]).unwrap().correct, "either name alone");
}
