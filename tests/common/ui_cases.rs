//! The broken architecture files of `tests/ui/fail`, with the macro call's shapes and the
//! messages the compiler gives for each, for tests that check the same messages at run time.

use std::path::{Path, PathBuf};

use cnn::arch::Overrides;

pub const DIR: &str = "tests/ui/fail";

/// One case: its file, the shapes its macro call gives, and the compiler's messages without
/// their `error: ` prefix.
pub struct Case {
    pub name: String,
    pub file: PathBuf,
    pub overrides: Overrides,
    pub expected: Vec<String>,
}

/// Every case whose file exists. Two cases are about the macro itself, not the file: its
/// arguments, and where it looks for a file.
pub fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for entry in std::fs::read_dir(DIR).unwrap() {
        let rs = entry.unwrap().path();
        if rs.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let name = rs.file_stem().unwrap().to_str().unwrap().to_owned();
        if ["bad_macro_arguments", "missing_file"].contains(&name.as_str()) {
            continue;
        }
        let (file, overrides) = macro_arguments(&std::fs::read_to_string(&rs).unwrap());
        let expected = std::fs::read_to_string(rs.with_extension("stderr"))
            .unwrap()
            .lines()
            .filter_map(|line| line.strip_prefix("error: ").map(str::to_owned))
            .collect();
        cases.push(Case {
            name,
            file: Path::new(DIR).join(file),
            overrides,
            expected,
        });
    }
    assert!(cases.len() >= 15, "only {} cases", cases.len());
    cases
}

/// `message` with the cases' directory taken off its path, as the compiler shows it.
pub fn as_compiled(message: &str) -> String {
    let prefix = format!("{DIR}/");
    message.strip_prefix(&prefix).unwrap_or(message).to_owned()
}

/// The file and shapes of a `cnn_from_json!("FILE", input = [C, H, W], classes = K)` call.
fn macro_arguments(call: &str) -> (String, Overrides) {
    let inside = &call[call.find("!(").unwrap() + 2..call.find(");").unwrap()];
    let file = inside.split('"').nth(1).unwrap().to_owned();
    let numbers = |key: &str| -> Option<Vec<usize>> {
        let rest = &inside[inside.find(key)? + key.len()..];
        let end = match rest.trim_start().starts_with('[') {
            true => rest.find(']')? + 1,
            false => rest.find([',', ')']).unwrap_or(rest.len()),
        };
        let digits = rest[..end].trim().trim_matches(['[', ']']);
        digits.split(',').map(|d| d.trim().parse().ok()).collect()
    };
    let overrides = Overrides {
        name: None,
        input: numbers("input =").map(|v| [v[0], v[1], v[2]]),
        classes: numbers("classes =").map(|v| v[0]),
    };
    (file, overrides)
}
