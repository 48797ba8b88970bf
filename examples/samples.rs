fn main() {
    for f in studyhall::practice::FAMILIES {
        for seed in [1u64, 2] {
            let v = f.variant(seed);
            println!(
                "=== {} #{seed}\n{}\nANSWER {}\n{}\nMIS {:?}\nPARAMS {}\n",
                f.id,
                v.prompt,
                v.expected.display(),
                v.solution.join("\n"),
                v.misconceptions
                    .iter()
                    .map(|m| format!("{} => {}", m.label, m.answer.display()))
                    .collect::<Vec<_>>(),
                serde_json::to_string(&v.params)
                    .unwrap()
                    .chars()
                    .take(300)
                    .collect::<String>()
            );
        }
    }
}
