//! Hostile TeX, shared by the integration tests (tests/api/hostile_tex.rs) and the browser
//! test (tests/e2e.rs).

/// Formulas that once overflowed the converter's stack (and aborted the process) or that a
/// linear-looking reader took quadratic time over.
pub fn deep_formulas() -> Vec<String> {
    vec![
        format!(r"\({}x{}\)", "{".repeat(1250), "}".repeat(1250)),
        format!(r"\({}x{}\)", r"\frac{".repeat(900), "}{y}".repeat(900)),
        format!(r"\({}xy\)", r"\frac".repeat(1900)),
        format!(r"\({}x\)", r"\sqrt".repeat(1900)),
        format!(r"\({}x{}\)", r"\left(".repeat(700), r"\right)".repeat(700)),
        format!(r"\({}x\)", "x^".repeat(4900)),
        format!(
            r"\[{}x{}\]",
            r"\begin{matrix}".repeat(300),
            r"\end{matrix}".repeat(300)
        ),
        format!(r"\({}x{}\)", r"\text{".repeat(1400), "}".repeat(1400)),
    ]
}

/// TeX that tries to carry markup, scripts or addresses into the page.
pub fn hostile_formulas() -> Vec<String> {
    let mut out = Vec::new();
    for cmd in [
        "operatorname",
        "operatorname*",
        "operatornamewithlimits",
        "mathrm",
        "mathit",
        "mathbf",
        "mathsf",
        "mathtt",
        "mathcal",
        "text",
        "textbf",
        "textit",
        "mbox",
    ] {
        for markup in [
            "<img/src=x/onerror=alert(1)>",
            "<form/action=/stats>",
            "<a href=javascript:alert(1)>x</a>",
            "<svg onload=alert(1)>",
            "<iframe src=javascript:alert(1)>",
            "</math><img src=x onerror=alert(1)>",
        ] {
            out.push(format!(r"\(\{cmd}{{{markup}}}\)"));
        }
    }
    for tex in [
        r"\href{javascript:alert(1)}{x}",
        r"\url{javascript:alert(1)}",
        r"\class{x}{y}",
        r"\style{background:url(https://example.org/x)}{y}",
        r"\htmlId{x}{y}",
        r"\htmlStyle{color:red}{y}",
        r"\color{red;background:url(https://example.org/x)} x",
        r"x</math><script>alert(1)</script>",
        r"\begin{matrix}<iframe src=javascript:alert(1)>\end{matrix}",
        r"\mspace{<script>}",
    ] {
        out.push(format!(r"\({tex}\)"));
    }
    out
}

/// A CSV deck file whose cards carry each text on both sides.
pub fn csv_both_sides(texts: &[String]) -> String {
    let field = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    let mut csv = String::from("front,back\n");
    for t in texts {
        csv.push_str(&format!("{},{}\n", field(t), field(t)));
    }
    csv
}
