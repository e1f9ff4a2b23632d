//! From a value tree to the typed [`ArchFile`], collecting every problem instead of stopping at
//! the first.

use crate::diagnostic::{Diagnostic, Diagnostics, Position, nearest, quoted, unknown};
use crate::spec::*;
use crate::value::{Node, Value, abbreviate};

const TOP_FIELDS: [&str; 4] = ["name", "input", "classes", "layers"];
const LAYER_TYPES: [&str; 5] = ["C", "P", "FC", "DO", "T"];
const CONV_FIELDS: [&str; 8] = [
    "type",
    "activation",
    "num_output",
    "kernel_size",
    "stride",
    "padding",
    "drop_out",
    "batch_norm",
];
const POOL_FIELDS: [&str; 6] = [
    "type",
    "pool",
    "kernel_size",
    "stride",
    "padding",
    "drop_out",
];
const DENSE_FIELDS: [&str; 5] = ["type", "activation", "num_output", "drop_out", "batch_norm"];
const DROPOUT_FIELDS: [&str; 2] = ["type", "drop_out"];
const TERMINAL_FIELDS: [&str; 2] = ["type", "activation"];
const ALL_LAYER_FIELDS: [&str; 9] = [
    "type",
    "activation",
    "num_output",
    "kernel_size",
    "stride",
    "padding",
    "pool",
    "drop_out",
    "batch_norm",
];

/// Reads an architecture from its text: strict JSON or a pasted Python `ARCH = [...]` list.
pub fn read(text: &str) -> Result<ArchFile, Diagnostics> {
    match read_partial(text) {
        (Some(file), errors) => errors.into_result(file),
        (None, errors) => Err(errors),
    }
}

/// What could be read (the layers before the first broken one) and every problem found.
pub(crate) fn read_partial(text: &str) -> (Option<ArchFile>, Diagnostics) {
    match crate::value::parse(text) {
        Ok(root) => {
            let mut errors = Diagnostics::default();
            let file = read_root(&root, &mut errors);
            (Some(file), errors)
        }
        Err(syntax) => (None, syntax.into()),
    }
}

fn read_root(root: &Node, errors: &mut Diagnostics) -> ArchFile {
    let mut file = ArchFile {
        name: None,
        input: None,
        classes: None,
        layers: Vec::new(),
        pos: Some(root.pos),
        truncated: false,
    };
    match &root.value {
        Value::List(_) => (file.layers, file.truncated) = read_layers(root, errors),
        Value::Map(entries) => {
            let mut saw_layers = false;
            for (key, key_pos, node) in entries {
                match key.as_str() {
                    "name" => file.name = read_name(node, errors),
                    "input" => file.input = read_input(node, errors),
                    "classes" => file.classes = positive(node, "classes", errors),
                    "layers" => {
                        saw_layers = true;
                        file.pos = Some(node.pos);
                        (file.layers, file.truncated) = read_layers(node, errors);
                    }
                    other => errors.push(Diagnostic::at(
                        *key_pos,
                        unknown("field", other, &TOP_FIELDS),
                    )),
                }
            }
            if !saw_layers {
                errors.push(Diagnostic::at(root.pos, "missing field `layers`".into()));
                // Reported once: the planner does not add "the layer list is empty".
                file.truncated = true;
            }
        }
        other => {
            errors.push(Diagnostic::at(
                root.pos,
                format!(
                    "expected a list of layers or an object with `layers`, found {}",
                    other.kind()
                ),
            ));
            file.truncated = true;
        }
    }
    file
}

fn read_name(node: &Node, errors: &mut Diagnostics) -> Option<String> {
    let Value::Str(name) = &node.value else {
        errors.push(expected(node, "`name`", "a string"));
        return None;
    };
    let mut chars = name.chars();
    let starts_well = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if !starts_well || !chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
        let name = abbreviate(name);
        errors.push(Diagnostic::at(
            node.pos,
            format!("`name` must be a Rust identifier such as `MnistNet`, found \"{name}\""),
        ));
        return None;
    }
    if let Some(problem) = keyword_problem(name) {
        errors.push(Diagnostic::at(node.pos, format!("`name`: {problem}")));
        return None;
    }
    Some(name.clone())
}

/// Rust's keywords, strict and reserved (2024 edition), and `_`: none can name a struct.
const KEYWORDS: [&str; 53] = [
    "_", "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum",
    "extern", "false", "fn", "for", "gen", "if", "impl", "in", "let", "loop", "match", "mod",
    "move", "mut", "pub", "ref", "return", "self", "Self", "static", "struct", "super", "trait",
    "true", "type", "unsafe", "use", "where", "while", "abstract", "become", "box", "do", "final",
    "macro", "override", "priv", "try", "typeof", "unsized", "virtual", "yield",
];

/// Why `name` cannot name the generated struct, if it is a keyword.
pub(crate) fn keyword_problem(name: &str) -> Option<String> {
    KEYWORDS.contains(&name).then(|| {
        format!(
            "`{name}` is a Rust keyword and cannot name a struct; try `{}Net`",
            capitalized(name)
        )
    })
}

fn capitalized(name: &str) -> String {
    let name = name.trim_matches('_');
    let mut chars = name.chars();
    match chars.next() {
        Some(c) => c.to_ascii_uppercase().to_string() + chars.as_str(),
        None => "Cnn".into(),
    }
}

fn read_input(node: &Node, errors: &mut Diagnostics) -> Option<[usize; 3]> {
    match &node.value {
        Value::List(items) if items.len() == 3 => {
            let dims: Vec<Option<usize>> =
                items.iter().map(|n| positive(n, "input", errors)).collect();
            Some([dims[0]?, dims[1]?, dims[2]?])
        }
        _ => {
            errors.push(expected(node, "`input`", "[channels, height, width]"));
            None
        }
    }
}

/// The layers before the first broken one, and whether any was broken.
fn read_layers(node: &Node, errors: &mut Diagnostics) -> (Vec<LayerSpec>, bool) {
    let Value::List(items) = &node.value else {
        errors.push(expected(node, "`layers`", "a list"));
        return (Vec::new(), true);
    };
    let mut layers = Vec::new();
    let mut broken = false;
    for (i, item) in items.iter().enumerate() {
        match read_layer(i + 1, item, errors) {
            // Shapes past a broken layer cannot be inferred: keep the layers before it only,
            // so that their shapes can still be checked.
            Some(layer) if !broken => layers.push(LayerSpec {
                layer,
                pos: Some(item.pos),
            }),
            Some(_) => {}
            None => broken = true,
        }
    }
    (layers, broken)
}

fn read_layer(index: usize, node: &Node, errors: &mut Diagnostics) -> Option<Layer> {
    let Value::Map(entries) = &node.value else {
        let message = format!(
            "expected a layer object such as {{'type': 'C', ...}}, found {}",
            node.value.kind()
        );
        errors.push(Diagnostic::at(node.pos, message).in_layer(&format!("layer {index}")));
        return None;
    };
    let Some((_, _, type_node)) = entries.iter().find(|(k, _, _)| k == "type") else {
        let mut message = format!("missing field `type` (one of {})", quoted(&LAYER_TYPES));
        let mut pos = node.pos;
        if let Some((key, key_pos, _)) = entries
            .iter()
            .find(|(k, _, _)| nearest(k, &["type"]).is_some())
        {
            message = format!("unknown field `{}`; did you mean `type`?", abbreviate(key));
            pos = *key_pos;
        }
        errors.push(Diagnostic::at(pos, message).in_layer(&format!("layer {index}")));
        return None;
    };
    let Value::Str(type_name) = &type_node.value else {
        let d = expected(type_node, "`type`", "a string");
        errors.push(d.in_layer(&format!("layer {index}")));
        return None;
    };
    let label = format!("layer {index} ({type_name})");
    let mut fields = Fields {
        entries,
        pos: node.pos,
        label: &label,
        errors,
    };
    match type_name.as_str() {
        "C" => fields.conv(),
        "P" => fields.pool(),
        "FC" => fields.dense(),
        "DO" => fields.dropout(),
        "T" => fields.terminal(),
        other => {
            let message = unknown("layer type", other, &LAYER_TYPES);
            errors.push(Diagnostic::at(type_node.pos, message).in_layer(&format!("layer {index}")));
            None
        }
    }
}

/// The fields of one layer object, with the layer's label for messages.
struct Fields<'a> {
    entries: &'a [(String, Position, Node)],
    pos: Position,
    label: &'a str,
    errors: &'a mut Diagnostics,
}

impl<'a> Fields<'a> {
    fn conv(&mut self) -> Option<Layer> {
        self.check_names(&CONV_FIELDS);
        let activation = self.required("activation", activation);
        let num_output = self.required("num_output", |n, e| positive(n, "num_output", e));
        let window = self.window(false);
        let drop_out = self.optional("drop_out", 0.0, drop_out);
        let batch_norm = self.optional("batch_norm", false, boolean);
        let (kernel_size, stride, padding) = window?;
        Some(Layer::Conv(Conv {
            activation: activation?,
            num_output: num_output?,
            kernel_size,
            stride,
            padding,
            drop_out: drop_out?,
            batch_norm: batch_norm?,
        }))
    }

    fn pool(&mut self) -> Option<Layer> {
        self.check_names(&POOL_FIELDS);
        let pool = self.required("pool", pool_kind);
        let window = self.window(true);
        let drop_out = self.optional("drop_out", 0.0, drop_out);
        let (kernel_size, stride, padding) = window?;
        Some(Layer::Pool(Pool {
            pool: pool?,
            kernel_size,
            stride,
            padding,
            drop_out: drop_out?,
        }))
    }

    /// `kernel_size`, `stride` and `padding` of a sliding window. The stride defaults to 1, or
    /// for pools, as in Keras and TensorFlow, to the kernel size.
    fn window(
        &mut self,
        stride_defaults_to_kernel: bool,
    ) -> Option<([usize; 2], [usize; 2], Padding)> {
        let kernel_size = self.required("kernel_size", |n, e| pair(n, "kernel_size", e));
        let default_stride = match kernel_size {
            Some(kernel) if stride_defaults_to_kernel => kernel,
            _ => [1, 1],
        };
        let stride = self.optional("stride", default_stride, |n, e| pair(n, "stride", e));
        let padding = self.optional("padding", Padding::Same, padding);
        Some((kernel_size?, stride?, padding?))
    }

    fn dense(&mut self) -> Option<Layer> {
        self.check_names(&DENSE_FIELDS);
        let activation = self.required("activation", activation);
        let num_output = self.required("num_output", |n, e| positive(n, "num_output", e));
        let drop_out = self.optional("drop_out", 0.0, drop_out);
        let batch_norm = self.optional("batch_norm", false, boolean);
        Some(Layer::Dense(Dense {
            activation: activation?,
            num_output: num_output?,
            drop_out: drop_out?,
            batch_norm: batch_norm?,
        }))
    }

    fn dropout(&mut self) -> Option<Layer> {
        self.check_names(&DROPOUT_FIELDS);
        let drop_out = self.required("drop_out", drop_out)?;
        Some(Layer::DropOut(DropOut { drop_out }))
    }

    fn terminal(&mut self) -> Option<Layer> {
        self.check_names(&TERMINAL_FIELDS);
        let softmax = self.optional("activation", false, terminal_activation)?;
        Some(Layer::Terminal(Terminal { softmax }))
    }

    /// Reports fields this layer type does not have, suggesting the nearest valid one.
    fn check_names(&mut self, valid: &[&str]) {
        for (key, pos, _) in self.entries {
            if valid.contains(&key.as_str()) {
                continue;
            }
            let message = if ALL_LAYER_FIELDS.contains(&key.as_str()) {
                format!(
                    "`{key}` does not apply to this layer type; its fields are {}",
                    quoted(valid)
                )
            } else {
                unknown("field", key, valid)
            };
            self.errors
                .push(Diagnostic::at(*pos, message).in_layer(self.label));
        }
    }

    fn find(&self, name: &str) -> Option<&'a Node> {
        self.entries
            .iter()
            .find(|(k, _, _)| k == name)
            .map(|(_, _, n)| n)
    }

    fn required<T>(
        &mut self,
        name: &str,
        read: impl FnOnce(&Node, &mut Diagnostics) -> Option<T>,
    ) -> Option<T> {
        match self.find(name) {
            Some(node) => self.read_in_layer(node, read),
            None => {
                let message = format!("missing field `{name}`");
                self.errors
                    .push(Diagnostic::at(self.pos, message).in_layer(self.label));
                None
            }
        }
    }

    fn optional<T>(
        &mut self,
        name: &str,
        default: T,
        read: impl FnOnce(&Node, &mut Diagnostics) -> Option<T>,
    ) -> Option<T> {
        match self.find(name) {
            Some(node) => self.read_in_layer(node, read),
            None => Some(default),
        }
    }

    /// Runs `read`, labelling whatever it reports with this layer.
    fn read_in_layer<T>(
        &mut self,
        node: &Node,
        read: impl FnOnce(&Node, &mut Diagnostics) -> Option<T>,
    ) -> Option<T> {
        let mut local = Diagnostics::default();
        let value = read(node, &mut local);
        for d in local.0 {
            self.errors.push(d.in_layer(self.label));
        }
        value
    }
}

fn expected(node: &Node, what: &str, shape: &str) -> Diagnostic {
    Diagnostic::at(
        node.pos,
        format!("{what} must be {shape}, found {}", node.value.kind()),
    )
}

fn positive(node: &Node, name: &str, errors: &mut Diagnostics) -> Option<usize> {
    match node.value {
        Value::Int(i) if i >= 1 => bounded(node, name, i, errors),
        Value::Int(i) => {
            errors.push(Diagnostic::at(
                node.pos,
                format!("`{name}` must be at least 1, found {i}"),
            ));
            None
        }
        _ => {
            errors.push(expected(node, &format!("`{name}`"), "a positive integer"));
            None
        }
    }
}

/// An integer `3` or a pair `(3, 3)` / `[3, 3]`.
fn pair(node: &Node, name: &str, errors: &mut Diagnostics) -> Option<[usize; 2]> {
    match &node.value {
        Value::Int(_) => positive(node, name, errors).map(|v| [v, v]),
        Value::List(items) if items.len() == 2 => {
            let h = positive(&items[0], name, errors);
            let w = positive(&items[1], name, errors);
            Some([h?, w?])
        }
        _ => {
            errors.push(expected(
                node,
                &format!("`{name}`"),
                "an integer or a pair such as (3, 3)",
            ));
            None
        }
    }
}

/// `i`, unless it is above [`MAX_SIZE`].
fn bounded(node: &Node, name: &str, i: i64, errors: &mut Diagnostics) -> Option<usize> {
    match usize::try_from(i) {
        Ok(size) if size <= MAX_SIZE => Some(size),
        _ => {
            let message = format!("`{name}` is {i}, above the limit of {MAX_SIZE}");
            errors.push(Diagnostic::at(node.pos, message));
            None
        }
    }
}

fn non_negative(node: &Node, errors: &mut Diagnostics) -> Option<usize> {
    match node.value {
        Value::Int(i) if i >= 0 => bounded(node, "padding", i, errors),
        Value::Int(i) => {
            errors.push(Diagnostic::at(
                node.pos,
                format!("`padding` must not be negative, found {i}"),
            ));
            None
        }
        _ => {
            errors.push(expected(
                node,
                "`padding`",
                "`same`, `valid`, an integer or a pair",
            ));
            None
        }
    }
}

fn padding(node: &Node, errors: &mut Diagnostics) -> Option<Padding> {
    match &node.value {
        Value::Str(s) => match s.to_ascii_lowercase().as_str() {
            "same" => Some(Padding::Same),
            "valid" => Some(Padding::Valid),
            _ => {
                errors.push(Diagnostic::at(
                    node.pos,
                    unknown("padding", s, &["same", "valid"]),
                ));
                None
            }
        },
        Value::Int(_) => non_negative(node, errors).map(|p| Padding::Explicit([p, p])),
        Value::List(items) if items.len() == 2 => {
            let h = non_negative(&items[0], errors);
            let w = non_negative(&items[1], errors);
            Some(Padding::Explicit([h?, w?]))
        }
        _ => {
            errors.push(expected(
                node,
                "`padding`",
                "`same`, `valid`, an integer or a pair",
            ));
            None
        }
    }
}

fn drop_out(node: &Node, errors: &mut Diagnostics) -> Option<f64> {
    let percent = match node.value {
        Value::Int(i) => i as f64,
        Value::Float(f) => f,
        _ => {
            errors.push(expected(node, "`drop_out`", "a percentage"));
            return None;
        }
    };
    if (0.0..100.0).contains(&percent) {
        return Some(percent);
    }
    let message = format!("`drop_out` is a percentage in [0, 100), found {percent}");
    errors.push(Diagnostic::at(node.pos, message));
    None
}

fn boolean(node: &Node, errors: &mut Diagnostics) -> Option<bool> {
    match node.value {
        Value::Bool(b) => Some(b),
        _ => {
            errors.push(expected(node, "`batch_norm`", "true or false"));
            None
        }
    }
}

fn name_of<'a>(node: &'a Node, field: &str, errors: &mut Diagnostics) -> Option<&'a str> {
    match &node.value {
        Value::Str(s) => Some(s),
        _ => {
            errors.push(expected(node, &format!("`{field}`"), "a string"));
            None
        }
    }
}

fn activation(node: &Node, errors: &mut Diagnostics) -> Option<Activation> {
    let name = name_of(node, "activation", errors)?;
    let found = Activation::from_name(&name.to_ascii_lowercase());
    if found.is_none() {
        errors.push(Diagnostic::at(
            node.pos,
            unknown("activation", name, &Activation::NAMES),
        ));
    }
    found
}

/// A `T` layer's activation: `softmax` or none (`None`, `null`, `'none'`): whether it names
/// the softmax of the loss.
fn terminal_activation(node: &Node, errors: &mut Diagnostics) -> Option<bool> {
    if node.value == Value::Null {
        return Some(false);
    }
    let name = name_of(node, "activation", errors)?;
    match name.to_ascii_lowercase().as_str() {
        "softmax" => Some(true),
        "none" => Some(false),
        _ => {
            let message = format!(
                "a `T` layer's activation is `softmax` or None (the network returns logits, \
                 trained with softmax cross-entropy), found `{name}`"
            );
            errors.push(Diagnostic::at(node.pos, message));
            None
        }
    }
}

fn pool_kind(node: &Node, errors: &mut Diagnostics) -> Option<PoolKind> {
    let name = name_of(node, "pool", errors)?;
    match name.to_ascii_lowercase().as_str() {
        "max" => Some(PoolKind::Max),
        "avg" | "average" => Some(PoolKind::Avg),
        _ => {
            errors.push(Diagnostic::at(
                node.pos,
                unknown("pool", name, &["max", "avg"]),
            ));
            None
        }
    }
}
