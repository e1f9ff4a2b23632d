//! Problems found in an architecture file, each with where it is and which layer it concerns.

use std::fmt;

/// A 1-based line and column in the architecture file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// One problem: a message, where it is, and the layer it belongs to.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    pub pos: Option<Position>,
    /// `layer 6 (P max 5x5/3)`: the 1-based index and a short description.
    pub layer: Option<String>,
    pub message: String,
}

impl Diagnostic {
    pub fn at(pos: Position, message: String) -> Self {
        Diagnostic {
            pos: Some(pos),
            layer: None,
            message,
        }
    }

    pub fn nowhere(message: String) -> Self {
        Diagnostic {
            pos: None,
            layer: None,
            message,
        }
    }

    pub(crate) fn in_layer(mut self, layer: &str) -> Self {
        self.layer = Some(layer.to_owned());
        self
    }

    /// `file:line:column: layer N (...): message`, the form compilers use.
    pub fn render(&self, file: &str) -> String {
        let mut out = file.to_owned();
        if let Some(pos) = self.pos {
            out = format!("{out}:{pos}");
        }
        out.push_str(": ");
        out.push_str(&self.to_string());
        out
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(layer) = &self.layer {
            write!(f, "{layer}: ")?;
        }
        f.write_str(&self.message)
    }
}

/// Every problem found in one file, in source order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.0.push(diagnostic);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Diagnostic> {
        self.0.iter()
    }

    /// Each problem rendered as `file:line:column: ...`, one per line.
    pub fn render(&self, file: &str) -> String {
        let lines: Vec<String> = self.0.iter().map(|d| d.render(file)).collect();
        lines.join("\n")
    }

    /// Orders the problems as they appear in the file.
    pub(crate) fn sort(&mut self) {
        self.0.sort_by_key(|d| d.pos);
    }

    /// Ok when nothing was found.
    pub(crate) fn into_result<T>(mut self, value: T) -> Result<T, Diagnostics> {
        if self.0.is_empty() {
            return Ok(value);
        }
        self.sort();
        Err(self)
    }
}

impl From<Diagnostic> for Diagnostics {
    fn from(diagnostic: Diagnostic) -> Self {
        Diagnostics(vec![diagnostic])
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render("<architecture>"))
    }
}

impl std::error::Error for Diagnostics {}

/// The closest of `candidates` to `word`, if it is close enough to be a likely typo.
pub fn nearest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    // Names are short; a word far longer than all of them is no typo of one, and comparing
    // it would cost time in proportion to its length.
    let longest = candidates.iter().map(|c| c.len()).max().unwrap_or(0);
    if word.len() > 2 * longest + 8 {
        return None;
    }
    let word = word.to_ascii_lowercase();
    candidates
        .iter()
        .map(|c| (edit_distance(&word, &c.to_ascii_lowercase()), *c))
        .filter(|(d, c)| *d <= (c.len().max(word.len()) / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

/// "unknown X `w`" plus "; did you mean `y`?" or the list of valid names.
pub(crate) fn unknown(what: &str, word: &str, valid: &[&str]) -> String {
    let shown = crate::value::abbreviate(word);
    let word = shown.as_str();
    match nearest(word, valid) {
        Some(best) => format!("unknown {what} `{word}`; did you mean `{best}`?"),
        None => format!("unknown {what} `{word}`; expected one of {}", quoted(valid)),
    }
}

pub(crate) fn quoted(names: &[&str]) -> String {
    let names: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    names.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_near_names_only() {
        let fields = ["kernel_size", "stride", "num_output", "drop_out"];
        assert_eq!(nearest("kernal_size", &fields), Some("kernel_size"));
        assert_eq!(nearest("dropout", &fields), Some("drop_out"));
        assert_eq!(nearest("Stride", &fields), Some("stride"));
        assert_eq!(nearest("colour", &fields), None);
    }

    #[test]
    fn renders_like_a_compiler() {
        let d = Diagnostic::at(Position { line: 6, column: 1 }, "too small".into())
            .in_layer("layer 6 (P max 5x5/3)");
        assert_eq!(
            d.render("arch.json"),
            "arch.json:6:1: layer 6 (P max 5x5/3): too small"
        );
        assert_eq!(
            Diagnostic::nowhere("x".into()).render("a.json"),
            "a.json: x"
        );
    }
}
