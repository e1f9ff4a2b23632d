//! A value tree with source positions, read from strict JSON or from a Python literal.
//!
//! serde_json reports where a syntax error is, but not where a well-formed value sits, and
//! every validation message must name the line and column of the offending field. Users also
//! paste Python `ARCH = [...]` lists (single quotes, tuples, trailing commas, `True`), so this
//! reader accepts that superset of JSON.

use crate::diagnostic::{Diagnostic, Position};

/// A parsed value and where it starts in the source.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    pub pos: Position,
}

/// The values a JSON document or Python literal can hold.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    /// A JSON array, Python list or tuple.
    List(Vec<Node>),
    /// Keys in source order, each with its position.
    Map(Vec<(String, Position, Node)>),
}

impl Value {
    /// What the value is, for messages such as "expected an integer, found a string".
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(f) if f.fract() == 0.0 => {
                "a floating-point number (write a whole number without `.` or an exponent)"
            }
            Value::Float(_) => "a number with a fraction",
            Value::Str(_) => "a string",
            Value::List(_) => "a list",
            Value::Map(_) => "an object",
        }
    }
}

/// Parses `text`, skipping a UTF-8 byte-order mark and an optional `NAME =` prefix (as in
/// `ARCH = [...]`).
pub fn parse(text: &str) -> Result<Node, Diagnostic> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = Reader::new(text);
    reader.skip_assignment();
    let node = reader.value()?;
    reader.skip_blank();
    match reader.peek() {
        None => Ok(node),
        Some(c) => Err(reader.error(format!("unexpected `{c}` after the end of the value"))),
    }
}

/// `bytes` as text, or where the first byte that is not UTF-8 is, as a line and column.
pub fn decode(bytes: &[u8]) -> Result<&str, Diagnostic> {
    std::str::from_utf8(bytes).map_err(|e| {
        let valid = std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default();
        let mut reader = Reader::new(valid);
        while reader.bump().is_some() {}
        let byte = bytes[e.valid_up_to()];
        reader.error(format!(
            "the file is not UTF-8 text: byte 0x{byte:02X} does not start a character (save it as UTF-8)"
        ))
    })
}

/// A token short enough to quote in a message: long ones keep their first 32 characters.
pub fn abbreviate(token: &str) -> String {
    const SHOWN: usize = 32;
    let count = token.chars().count();
    if count <= SHOWN + 8 {
        return token.to_owned();
    }
    let head: String = token.chars().take(SHOWN).collect();
    format!("{head}... ({count} characters)")
}

/// How deeply lists and objects may nest: an architecture needs three levels; without a
/// limit, deep nesting would overflow the stack of the compiler that runs the macro.
const MAX_DEPTH: usize = 32;

struct Reader<'a> {
    chars: std::iter::Peekable<std::str::CharIndices<'a>>,
    line: usize,
    column: usize,
    /// Lists and objects open around the current position.
    depth: usize,
}

impl<'a> Reader<'a> {
    fn new(text: &'a str) -> Self {
        Reader {
            chars: text.char_indices().peekable(),
            line: 1,
            column: 1,
            depth: 0,
        }
    }

    fn pos(&self) -> Position {
        Position {
            line: self.line,
            column: self.column,
        }
    }

    fn error(&self, message: String) -> Diagnostic {
        Diagnostic::at(self.pos(), message)
    }

    fn peek(&mut self) -> Option<char> {
        self.chars.peek().map(|&(_, c)| c)
    }

    /// Moves past one character. `\n`, `\r\n` and a lone `\r` each end a line.
    fn bump(&mut self) -> Option<char> {
        let (_, c) = self.chars.next()?;
        let ends_line = c == '\n' || (c == '\r' && self.peek() != Some('\n'));
        if ends_line {
            self.line += 1;
            self.column = 1;
        } else if c != '\r' {
            self.column += 1;
        }
        Some(c)
    }

    /// Skips white space and `#` comments (Python) or `//` comments.
    fn skip_blank(&mut self) {
        while let Some(c) = self.peek() {
            if c.is_whitespace() {
                self.bump();
            } else if c == '#' || (c == '/' && self.second_char() == Some('/')) {
                while self.peek().is_some_and(|c| c != '\n' && c != '\r') {
                    self.bump();
                }
            } else {
                break;
            }
        }
    }

    fn second_char(&self) -> Option<char> {
        let mut ahead = self.chars.clone();
        ahead.next();
        ahead.next().map(|(_, c)| c)
    }

    /// Skips `IDENT =` at the very start, as in a pasted `ARCH = [`.
    fn skip_assignment(&mut self) {
        self.skip_blank();
        let mut ahead = Reader {
            chars: self.chars.clone(),
            line: self.line,
            column: self.column,
            depth: self.depth,
        };
        let word = ahead.word();
        if word.is_empty()
            || !word
                .chars()
                .next()
                .is_some_and(|c| c.is_alphabetic() || c == '_')
        {
            return;
        }
        ahead.skip_blank();
        if ahead.peek() == Some('=') {
            ahead.bump();
            *self = ahead;
        }
    }

    fn word(&mut self) -> String {
        let mut word = String::new();
        while let Some(c) = self.peek().filter(|c| c.is_alphanumeric() || *c == '_') {
            word.push(c);
            self.bump();
        }
        word
    }

    fn value(&mut self) -> Result<Node, Diagnostic> {
        self.skip_blank();
        let pos = self.pos();
        let value = match self.peek() {
            None => return Err(self.error("unexpected end of file, expected a value".into())),
            Some('[') => Value::List(self.nested(|r| r.sequence(']'))?),
            Some('(') => Value::List(self.nested(|r| r.sequence(')'))?),
            Some('{') => Value::Map(self.nested(Self::map)?),
            Some(q @ ('"' | '\'')) => Value::Str(self.string(q)?),
            Some(c) if c == '-' || c == '+' || c == '.' || c.is_ascii_digit() => self.number()?,
            Some(c) if c.is_alphabetic() => self.keyword()?,
            Some(c) => return Err(self.error(format!("unexpected `{c}`, expected a value"))),
        };
        Ok(Node { value, pos })
    }

    /// `read` one level deeper, unless that passes [`MAX_DEPTH`].
    fn nested<T>(
        &mut self,
        read: impl FnOnce(&mut Self) -> Result<T, Diagnostic>,
    ) -> Result<T, Diagnostic> {
        if self.depth == MAX_DEPTH {
            return Err(self.error(format!("lists and objects nest more than {MAX_DEPTH} deep")));
        }
        self.depth += 1;
        let value = read(self);
        self.depth -= 1;
        value
    }

    fn sequence(&mut self, close: char) -> Result<Vec<Node>, Diagnostic> {
        self.bump();
        let mut items = Vec::new();
        loop {
            self.skip_blank();
            if self.peek() == Some(close) {
                self.bump();
                return Ok(items);
            }
            items.push(self.value()?);
            if !self.separator(close)? {
                return Ok(items);
            }
        }
    }

    /// After an item: consumes `,` (returns true, more may follow) or the closing bracket.
    fn separator(&mut self, close: char) -> Result<bool, Diagnostic> {
        self.skip_blank();
        match self.peek() {
            Some(',') => {
                self.bump();
                Ok(true)
            }
            Some(c) if c == close => {
                self.bump();
                Ok(false)
            }
            Some(c) => Err(self.error(format!("expected `,` or `{close}`, found `{c}`"))),
            None => Err(self.error(format!("unexpected end of file, expected `{close}`"))),
        }
    }

    fn map(&mut self) -> Result<Vec<(String, Position, Node)>, Diagnostic> {
        self.bump();
        let mut entries: Vec<(String, Position, Node)> = Vec::new();
        let mut keys = std::collections::HashSet::new();
        loop {
            self.skip_blank();
            if self.peek() == Some('}') {
                self.bump();
                return Ok(entries);
            }
            let key_pos = self.pos();
            let key = match self.peek() {
                Some(q @ ('"' | '\'')) => self.string(q)?,
                Some(c) => return Err(self.error(format!("expected a quoted key, found `{c}`"))),
                None => return Err(self.error("unexpected end of file, expected `}`".into())),
            };
            if !keys.insert(key.clone()) {
                let key = abbreviate(&key);
                return Err(Diagnostic::at(key_pos, format!("duplicate key `{key}`")));
            }
            self.skip_blank();
            match self.peek() {
                Some(':') => {
                    self.bump();
                }
                Some(c) => {
                    return Err(self.error(format!("expected `:` after the key, found `{c}`")));
                }
                None => return Err(self.error("unexpected end of file, expected `:`".into())),
            }
            let value = self.value()?;
            entries.push((key, key_pos, value));
            if !self.separator('}')? {
                return Ok(entries);
            }
        }
    }

    fn string(&mut self, quote: char) -> Result<String, Diagnostic> {
        let start = self.pos();
        self.bump();
        let mut text = String::new();
        loop {
            match self.bump() {
                None | Some('\n' | '\r') => {
                    return Err(Diagnostic::at(start, "unterminated string".into()));
                }
                Some(c) if c == quote => return Ok(text),
                Some('\\') => text.push(self.escape()?),
                Some(c) => text.push(c),
            }
        }
    }

    fn escape(&mut self) -> Result<char, Diagnostic> {
        let pos = self.pos();
        Ok(match self.bump() {
            Some('n') => '\n',
            Some('t') => '\t',
            Some('r') => '\r',
            Some('b') => '\u{8}',
            Some('f') => '\u{c}',
            Some('u') => {
                let hex: String = (0..4).filter_map(|_| self.bump()).collect();
                u32::from_str_radix(&hex, 16)
                    .ok()
                    .and_then(char::from_u32)
                    .ok_or_else(|| Diagnostic::at(pos, format!("bad escape `\\u{hex}`")))?
            }
            Some(c @ ('"' | '\'' | '\\' | '/')) => c,
            Some(c) => return Err(Diagnostic::at(pos, format!("unknown escape `\\{c}`"))),
            None => return Err(Diagnostic::at(pos, "unterminated string".into())),
        })
    }

    fn number(&mut self) -> Result<Value, Diagnostic> {
        let pos = self.pos();
        let mut text = String::new();
        while let Some(c) = self
            .peek()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '+' | '.' | '_'))
        {
            text.push(c);
            self.bump();
        }
        let digits = text.replace('_', "");
        if let Ok(i) = digits.parse::<i64>() {
            return Ok(Value::Int(i));
        }
        let shown = abbreviate(&text);
        let unsigned = digits.strip_prefix(['-', '+']).unwrap_or(&digits);
        if !unsigned.is_empty() && unsigned.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Diagnostic::at(
                pos,
                format!("the integer {shown} is too large: at most {}", i64::MAX),
            ));
        }
        match digits.parse::<f64>() {
            Ok(f) if f.is_finite() => Ok(Value::Float(f)),
            Ok(_) => Err(Diagnostic::at(
                pos,
                format!("the number {shown} is too large"),
            )),
            Err(_) => Err(Diagnostic::at(pos, format!("`{shown}` is not a number"))),
        }
    }

    fn keyword(&mut self) -> Result<Value, Diagnostic> {
        let pos = self.pos();
        let word = self.word();
        match word.as_str() {
            "true" | "True" => Ok(Value::Bool(true)),
            "false" | "False" => Ok(Value::Bool(false)),
            "null" | "None" => Ok(Value::Null),
            _ => Err(Diagnostic::at(
                pos,
                format!(
                    "unexpected `{}`, expected a value (strings need quotes)",
                    abbreviate(&word)
                ),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(line: usize, column: usize) -> Position {
        Position { line, column }
    }

    #[test]
    fn reads_strict_json_with_positions() {
        let node = parse("{\"a\": [1, 2.5],\n \"b\": true}").unwrap();
        let Value::Map(entries) = node.value else {
            panic!("expected a map")
        };
        assert_eq!(entries[0].0, "a");
        assert_eq!(entries[0].1, at(1, 2));
        assert_eq!(entries[1].1, at(2, 2));
        assert_eq!(entries[1].2.pos, at(2, 7));
        assert_eq!(
            entries[0].2.value,
            Value::List(vec![
                Node {
                    value: Value::Int(1),
                    pos: at(1, 8)
                },
                Node {
                    value: Value::Float(2.5),
                    pos: at(1, 11)
                },
            ])
        );
    }

    #[test]
    fn reads_python_literal_with_prefix_tuples_and_trailing_commas() {
        let node = parse("ARCH = [\n{'k': (3,3), 'b': True, 'n': None,},  # note\n]").unwrap();
        let Value::List(items) = node.value else {
            panic!("expected a list")
        };
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].pos, at(2, 1));
        let Value::Map(entries) = &items[0].value else {
            panic!("expected a map")
        };
        let keys: Vec<_> = entries.iter().map(|(k, _, _)| k.as_str()).collect();
        assert_eq!(keys, ["k", "b", "n"]);
        assert!(matches!(&entries[0].2.value, Value::List(v) if v.len() == 2));
        assert_eq!(entries[1].2.value, Value::Bool(true));
        assert_eq!(entries[2].2.value, Value::Null);
    }

    #[test]
    fn syntax_errors_name_line_and_column() {
        let err = parse("[\n {'a': 1\n ]").unwrap_err();
        assert_eq!(err.pos, Some(at(3, 2)));
        assert_eq!(err.message, "expected `,` or `}`, found `]`");
        let err = parse("[1, 2").unwrap_err();
        assert_eq!(err.message, "unexpected end of file, expected `]`");
        let err = parse("{\"a\": 1, \"a\": 2}").unwrap_err();
        assert_eq!(
            (err.pos, err.message.as_str()),
            (Some(at(1, 10)), "duplicate key `a`")
        );
        let err = parse("[relu]").unwrap_err();
        assert!(
            err.message.contains("strings need quotes"),
            "{}",
            err.message
        );
        assert!(parse("[1] 2").is_err());
        assert!(parse("['abc").is_err());
    }

    #[test]
    fn numbers() {
        assert_eq!(parse("-3").unwrap().value, Value::Int(-3));
        assert_eq!(parse("8.3").unwrap().value, Value::Float(8.3));
        assert_eq!(parse("1e2").unwrap().value, Value::Float(100.0));
        assert!(parse("1.2.3").is_err());
    }
}
