//! The search space file: which networks a search may propose, and the limits they must keep.
//!
//! It is JSON, or the Python literal ARCH files accept, read by the same reader, so a mistake
//! is reported with its line and column:
//!
//! ```python
//! SPACE = {
//!   'conv_layers': (1, 3),          # convolution blocks: at least 1, at most 3
//!   'fc_layers': (0, 1),
//!   'conv': {'num_output': [16, 32, 64], 'kernel_height': [3, 5], 'kernel_width': [3, 5],
//!            'stride': [1, 2], 'activation': ['relu'], 'batch_norm': [False, True],
//!            'drop_out': [0.0, 25.0]},
//!   'pool': {'pool': ['none', 'max', 'avg'], 'kernel_size': [2, 3], 'stride': 2},
//!   'fc': {'num_output': [64, 128], 'drop_out': [0.0, 50.0]},
//!   'constraints': {'max_params': 2000000, 'max_macs': 50000000, 'min_spatial': 3},
//! }
//! ```
//!
//! Each convolution block is a `C` layer, then a `P` layer unless its `pool` choice is
//! `none`; the fully connected layers follow. A key may hold one value instead of a list; a
//! key left out has the default [`SearchSpace::describe`] prints.

use cnn_arch::{Activation, Diagnostic, Node, Position, Value, nearest};
use serde_json::{Value as Json, json};

/// A parsed, validated search space.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchSpace {
    /// Fewest and most convolution blocks.
    pub conv_layers: (usize, usize),
    /// Fewest and most fully connected layers.
    pub fc_layers: (usize, usize),
    pub conv: Vec<Choice>,
    pub pool: Vec<Choice>,
    pub fc: Vec<Choice>,
    pub constraints: Constraints,
}

/// One per-layer setting and the values it may take, as they go into an ARCH layer.
#[derive(Debug, Clone, PartialEq)]
pub struct Choice {
    pub key: &'static str,
    pub options: Vec<Json>,
}

/// Limits every candidate must keep; one that breaks them is recorded with a penalty.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Constraints {
    pub max_params: Option<u64>,
    pub max_macs: Option<u64>,
    /// The smallest height or width any layer's output may have.
    pub min_spatial: usize,
}

/// One decision the strategies make: a named setting with `choices` options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// `conv_layers`, `conv2.num_output`, `pool1.pool`, `fc1.drop_out`, ...
    pub name: String,
    pub choices: usize,
}

/// What kind of values a key takes.
#[derive(Clone, Copy)]
enum Kind {
    Size,
    Percent,
    Bool,
    Activation,
    Pooling,
}

/// The keys of each group, their kinds and defaults.
type Keys = &'static [(&'static str, Kind, fn() -> Json)];

const CONV_KEYS: Keys = &[
    ("num_output", Kind::Size, || json!(32)),
    ("kernel_height", Kind::Size, || json!(3)),
    ("kernel_width", Kind::Size, || json!(3)),
    ("stride", Kind::Size, || json!(1)),
    ("activation", Kind::Activation, || json!("relu")),
    ("batch_norm", Kind::Bool, || json!(false)),
    ("drop_out", Kind::Percent, || json!(0.0)),
];
const POOL_KEYS: Keys = &[
    ("pool", Kind::Pooling, || json!("max")),
    ("kernel_size", Kind::Size, || json!(2)),
    ("stride", Kind::Size, || json!(2)),
    ("drop_out", Kind::Percent, || json!(0.0)),
];
const FC_KEYS: Keys = &[
    ("num_output", Kind::Size, || json!(128)),
    ("activation", Kind::Activation, || json!("relu")),
    ("drop_out", Kind::Percent, || json!(0.0)),
];
const TOP_KEYS: [&str; 6] = [
    "conv_layers",
    "fc_layers",
    "conv",
    "pool",
    "fc",
    "constraints",
];
const CONSTRAINT_KEYS: [&str; 3] = ["max_params", "max_macs", "min_spatial"];
/// More blocks than this cannot keep any spatial size, and would only slow the policy.
const MAX_LAYERS: usize = 32;

impl SearchSpace {
    /// Reads a space file's text; every problem is reported, each with its position.
    pub fn parse(text: &str) -> Result<Self, Vec<Diagnostic>> {
        let root = cnn_arch::parse_value(text).map_err(|d| vec![d])?;
        let mut errors = Vec::new();
        let space = Reader {
            errors: &mut errors,
        }
        .space(&root);
        match space {
            Some(space) if errors.is_empty() => Ok(space),
            _ => Err(errors),
        }
    }

    /// Every decision, in the order strategies make them.
    pub fn decisions(&self) -> Vec<Decision> {
        let mut out = vec![range_decision("conv_layers", self.conv_layers)];
        for i in 1..=self.conv_layers.1 {
            out.extend(group_decisions(&format!("conv{i}"), &self.conv));
            out.extend(group_decisions(&format!("pool{i}"), &self.pool));
        }
        out.push(range_decision("fc_layers", self.fc_layers));
        for i in 1..=self.fc_layers.1 {
            out.extend(group_decisions(&format!("fc{i}"), &self.fc));
        }
        out
    }

    /// How many options each decision has, in [`decisions`](Self::decisions)' order: what a
    /// strategy starts from.
    pub fn choices(&self) -> Vec<usize> {
        self.decisions().iter().map(|d| d.choices).collect()
    }

    /// The ARCH layers a genome (one option index per decision) stands for, as JSON values.
    pub fn layers(&self, genome: &[usize]) -> Vec<Json> {
        let mut genes = genome.iter().copied();
        let mut next = move || genes.next().unwrap_or(0);
        let convs = self.conv_layers.0 + next();
        let mut layers = Vec::new();
        for i in 0..self.conv_layers.1 {
            let conv = picks(&self.conv, &mut next);
            let pool = picks(&self.pool, &mut next);
            if i < convs {
                layers.push(conv_layer(&conv));
                if pool["pool"] != "none" {
                    layers.push(pool_layer(&pool));
                }
            }
        }
        let fcs = self.fc_layers.0 + next();
        for i in 0..self.fc_layers.1 {
            let fc = picks(&self.fc, &mut next);
            if i < fcs {
                layers.push(fc_layer(&fc));
            }
        }
        layers
    }

    /// A genome's ARCH file: JSON that `cnn_arch::check` and `cnn_from_json!` read.
    pub fn arch_text(&self, genome: &[usize], name: &str) -> String {
        let file = json!({ "name": name, "layers": self.layers(genome) });
        serde_json::to_string_pretty(&file).expect("a JSON value prints")
    }

    /// The space as a file, defaults written out.
    pub fn describe(&self) -> String {
        let group = |choices: &[Choice]| -> Json {
            choices
                .iter()
                .map(|c| (c.key.to_owned(), Json::Array(c.options.clone())))
                .collect::<serde_json::Map<_, _>>()
                .into()
        };
        let c = &self.constraints;
        let mut constraints = json!({ "min_spatial": c.min_spatial });
        for (key, limit) in [("max_params", c.max_params), ("max_macs", c.max_macs)] {
            if let Some(limit) = limit {
                constraints[key] = json!(limit);
            }
        }
        let file = json!({
            "conv_layers": [self.conv_layers.0, self.conv_layers.1],
            "fc_layers": [self.fc_layers.0, self.fc_layers.1],
            "conv": group(&self.conv),
            "pool": group(&self.pool),
            "fc": group(&self.fc),
            "constraints": constraints,
        });
        serde_json::to_string_pretty(&file).expect("a JSON value prints")
    }
}

fn range_decision(name: &str, (low, high): (usize, usize)) -> Decision {
    Decision {
        name: name.into(),
        choices: high - low + 1,
    }
}

fn group_decisions<'a>(
    prefix: &'a str,
    group: &'a [Choice],
) -> impl Iterator<Item = Decision> + 'a {
    group.iter().map(move |c| Decision {
        name: format!("{prefix}.{}", c.key),
        choices: c.options.len(),
    })
}

/// One value per key of `group`, chosen by the next genes.
fn picks(group: &[Choice], next: &mut impl FnMut() -> usize) -> serde_json::Map<String, Json> {
    group
        .iter()
        .map(|c| {
            let index = next().min(c.options.len() - 1);
            (c.key.to_owned(), c.options[index].clone())
        })
        .collect()
}

fn conv_layer(c: &serde_json::Map<String, Json>) -> Json {
    json!({
        "type": "C",
        "num_output": c["num_output"],
        "kernel_size": [c["kernel_height"], c["kernel_width"]],
        "stride": [c["stride"], c["stride"]],
        "activation": c["activation"],
        "batch_norm": c["batch_norm"],
        "drop_out": c["drop_out"],
    })
}

fn pool_layer(p: &serde_json::Map<String, Json>) -> Json {
    json!({
        "type": "P",
        "pool": p["pool"],
        "kernel_size": [p["kernel_size"], p["kernel_size"]],
        "stride": [p["stride"], p["stride"]],
        "drop_out": p["drop_out"],
    })
}

fn fc_layer(f: &serde_json::Map<String, Json>) -> Json {
    json!({
        "type": "FC",
        "num_output": f["num_output"],
        "activation": f["activation"],
        "drop_out": f["drop_out"],
    })
}

/// Reads the value tree into a space, collecting every problem.
struct Reader<'e> {
    errors: &'e mut Vec<Diagnostic>,
}

impl Reader<'_> {
    fn error(&mut self, pos: Position, message: String) {
        self.errors.push(Diagnostic::at(pos, message));
    }

    fn space(&mut self, root: &Node) -> Option<SearchSpace> {
        let entries = self.map(root, "the search space")?;
        self.unknown_keys(entries, &TOP_KEYS);
        let find = |key: &str| entries.iter().find(|(k, _, _)| k == key).map(|e| &e.2);
        let conv_layers = self.range(find("conv_layers"), (1, 3), 1);
        let fc_layers = self.range(find("fc_layers"), (0, 1), 0);
        let conv = self.group(find("conv"), CONV_KEYS);
        let pool = self.group(find("pool"), POOL_KEYS);
        let fc = self.group(find("fc"), FC_KEYS);
        let constraints = self.constraints(find("constraints"));
        Some(SearchSpace {
            conv_layers: conv_layers?,
            fc_layers: fc_layers?,
            conv: conv?,
            pool: pool?,
            fc: fc?,
            constraints: constraints?,
        })
    }

    fn map<'n>(&mut self, node: &'n Node, what: &str) -> Option<&'n [(String, Position, Node)]> {
        match &node.value {
            Value::Map(entries) => Some(entries),
            other => {
                let kind = other.kind();
                self.error(node.pos, format!("{what} must be an object, found {kind}"));
                None
            }
        }
    }

    fn unknown_keys(&mut self, entries: &[(String, Position, Node)], known: &[&str]) {
        for (key, pos, _) in entries {
            if !known.contains(&key.as_str()) {
                let hint = nearest(key, known)
                    .map(|n| format!("; did you mean `{n}`?"))
                    .unwrap_or_else(|| format!("; expected one of {}", known.join(", ")));
                let shown: String = key.chars().take(40).collect();
                self.error(*pos, format!("unknown key `{shown}`{hint}"));
            }
        }
    }

    /// `(low, high)` with `min <= low <= high <= MAX_LAYERS`; a single number is both.
    fn range(
        &mut self,
        node: Option<&Node>,
        default: (usize, usize),
        min: usize,
    ) -> Option<(usize, usize)> {
        let Some(node) = node else {
            return Some(default);
        };
        let numbers: Vec<&Node> = match &node.value {
            Value::List(items) => items.iter().collect(),
            _ => vec![node],
        };
        let values: Vec<usize> = numbers.iter().filter_map(|n| self.count(n)).collect();
        let (low, high) = match values[..] {
            [n] if numbers.len() == 1 => (n, n),
            [low, high] if numbers.len() == 2 => (low, high),
            _ if values.len() != numbers.len() => return None,
            _ => {
                let message = "a layer range is (fewest, most), such as (1, 3)".into();
                self.error(node.pos, message);
                return None;
            }
        };
        if low < min || low > high || high > MAX_LAYERS {
            let message = format!(
                "the range ({low}, {high}) must have {min} <= fewest <= most <= {MAX_LAYERS}"
            );
            self.error(node.pos, message);
            return None;
        }
        Some((low, high))
    }

    fn count(&mut self, node: &Node) -> Option<usize> {
        match node.value {
            Value::Int(n) if n >= 0 => Some(n as usize),
            ref other => {
                let kind = other.kind();
                self.error(node.pos, format!("expected a count, found {kind}"));
                None
            }
        }
    }

    fn group(&mut self, node: Option<&Node>, keys: Keys) -> Option<Vec<Choice>> {
        let entries = match node {
            Some(node) => self.map(node, "a layer group")?,
            None => &[],
        };
        let names: Vec<&str> = keys.iter().map(|k| k.0).collect();
        self.unknown_keys(entries, &names);
        let mut choices = Vec::new();
        let mut ok = true;
        for &(key, kind, default) in keys {
            let options = match entries.iter().find(|(k, _, _)| k == key) {
                Some((_, _, node)) => self.options(node, key, kind),
                None => Some(vec![default()]),
            };
            match options {
                Some(options) => choices.push(Choice { key, options }),
                None => ok = false,
            }
        }
        ok.then_some(choices)
    }

    /// A list of distinct options (or one value), each valid for `kind`.
    fn options(&mut self, node: &Node, key: &str, kind: Kind) -> Option<Vec<Json>> {
        let items: Vec<&Node> = match &node.value {
            Value::List(items) => items.iter().collect(),
            _ => vec![node],
        };
        if items.is_empty() {
            self.error(node.pos, format!("`{key}` lists no options"));
            return None;
        }
        let values: Vec<Option<Json>> = items.iter().map(|n| self.option(n, key, kind)).collect();
        let values: Vec<Json> = values.into_iter().collect::<Option<_>>()?;
        for (i, v) in values.iter().enumerate() {
            if values[..i].contains(v) {
                self.error(items[i].pos, format!("`{key}` lists {v} twice"));
                return None;
            }
        }
        Some(values)
    }

    fn option(&mut self, node: &Node, key: &str, kind: Kind) -> Option<Json> {
        let found = node.value.kind();
        let (value, wanted) = match (kind, &node.value) {
            (Kind::Size, Value::Int(n)) if (1..=1 << 31).contains(n) => (Some(json!(n)), ""),
            (Kind::Size, _) => (None, "a whole number from 1 to 2^31"),
            (Kind::Percent, Value::Int(n)) if (0..100).contains(n) => (Some(json!(*n as f64)), ""),
            (Kind::Percent, Value::Float(x)) if (0.0..100.0).contains(x) => (Some(json!(x)), ""),
            (Kind::Percent, _) => (None, "a percent from 0 up to (not including) 100"),
            (Kind::Bool, Value::Bool(b)) => (Some(json!(b)), ""),
            (Kind::Bool, _) => (None, "true or false"),
            (Kind::Activation, Value::Str(s)) if Activation::from_name(s).is_some() => {
                (Some(json!(s)), "")
            }
            (Kind::Activation, _) => (
                None,
                "an activation: relu, leaky_relu, elu, gelu, tanh, sigmoid or none",
            ),
            (Kind::Pooling, Value::Str(s)) if ["none", "max", "avg"].contains(&s.as_str()) => {
                (Some(json!(s)), "")
            }
            (Kind::Pooling, _) => (None, "`none`, `max` or `avg`"),
        };
        if value.is_none() {
            let shown = match &node.value {
                Value::Str(s) => format!("`{}`", s.chars().take(40).collect::<String>()),
                Value::Int(n) => n.to_string(),
                Value::Float(x) => x.to_string(),
                _ => found.to_owned(),
            };
            self.error(
                node.pos,
                format!("`{key}` options must each be {wanted}, found {shown}"),
            );
        }
        value
    }

    fn constraints(&mut self, node: Option<&Node>) -> Option<Constraints> {
        let mut constraints = Constraints {
            min_spatial: 1,
            ..Constraints::default()
        };
        let Some(node) = node else {
            return Some(constraints);
        };
        let entries = self.map(node, "`constraints`")?;
        self.unknown_keys(entries, &CONSTRAINT_KEYS);
        let mut ok = true;
        for (key, _, value) in entries {
            let Some(n) = self.limit(value, key) else {
                ok = false;
                continue;
            };
            match key.as_str() {
                "max_params" => constraints.max_params = Some(n),
                "max_macs" => constraints.max_macs = Some(n),
                "min_spatial" => constraints.min_spatial = n as usize,
                _ => {}
            }
        }
        ok.then_some(constraints)
    }

    fn limit(&mut self, node: &Node, key: &str) -> Option<u64> {
        match node.value {
            Value::Int(n) if n >= 1 => Some(n as u64),
            ref other => {
                let found = match other {
                    Value::Int(n) => n.to_string(),
                    other => other.kind().to_owned(),
                };
                self.error(
                    node.pos,
                    format!("`{key}` must be a whole number of at least 1, found {found}"),
                );
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_fill_what_a_file_leaves_out() {
        let space = SearchSpace::parse("{'conv': {'num_output': [8, 16]}}").unwrap();
        assert_eq!((space.conv_layers, space.fc_layers), ((1, 3), (0, 1)));
        let filters = &space.conv[0];
        assert_eq!(
            (filters.key, filters.options.clone()),
            ("num_output", vec![json!(8), json!(16)])
        );
        assert_eq!(space.pool[0].options, vec![json!("max")]);
        assert_eq!(space.constraints.min_spatial, 1);
        // 1 count + 3 blocks x (7 conv + 4 pool) + 1 count + 1 x 3 fc settings.
        assert_eq!(space.decisions().len(), 1 + 3 * 11 + 1 + 3);
        // `describe` writes a file that reads back to the same space.
        assert_eq!(SearchSpace::parse(&space.describe()).unwrap(), space);
    }

    #[test]
    fn a_genome_becomes_the_layers_it_chooses() {
        let text = r#"{"conv_layers": [1, 2], "fc_layers": [0, 1],
            "conv": {"num_output": [4, 8], "kernel_height": [3, 5], "stride": [1, 2]},
            "pool": {"pool": ["none", "avg"]}, "fc": {"num_output": [16, 32]}}"#;
        let space = SearchSpace::parse(text).unwrap();
        let names: Vec<String> = space.decisions().iter().map(|d| d.name.clone()).collect();
        assert_eq!(
            names[..3],
            ["conv_layers", "conv1.num_output", "conv1.kernel_height"]
        );
        // Two blocks: 8 filters 5x3 stride 2 with an average pool, then 4 filters, no pool;
        // one fully connected layer of 32.
        let conv1 = [1, 1, 0, 1, 0, 0, 0];
        let pool1 = [1, 0, 0, 0];
        let conv2 = [0, 0, 0, 0, 0, 0, 0];
        let pool2 = [0, 0, 0, 0];
        let genome: Vec<usize> =
            [&[1][..], &conv1, &pool1, &conv2, &pool2, &[1], &[1, 0, 0]].concat();
        let layers = space.layers(&genome);
        let types: Vec<&str> = layers.iter().map(|l| l["type"].as_str().unwrap()).collect();
        assert_eq!(types, ["C", "P", "C", "FC"]);
        assert_eq!(layers[0]["kernel_size"], json!([5, 3]));
        assert_eq!(layers[0]["stride"], json!([2, 2]));
        assert_eq!(layers[1]["pool"], "avg");
        assert_eq!(layers[3]["num_output"], 32);
        let overrides = cnn_arch::Overrides {
            input: Some([1, 28, 28]),
            classes: Some(10),
            ..Default::default()
        };
        let network = cnn_arch::check(&space.arch_text(&genome, "Found"), &overrides).unwrap();
        assert_eq!(network.layers.len(), 5);
    }

    #[test]
    fn every_mistake_is_reported_with_its_position() {
        let text = "SPACE = {\n 'conv_layers': (2, 1),\n 'conv': {'stride': [1, 0], 'activation': 'relu6', 'drop_out': [10, 10]},\n 'constraints': {'max_parms': 5},\n}";
        let errors: Vec<String> = SearchSpace::parse(text)
            .unwrap_err()
            .iter()
            .map(|e| e.render("s.py"))
            .collect();
        assert_eq!(
            errors,
            [
                "s.py:2:17: the range (2, 1) must have 1 <= fewest <= most <= 32",
                "s.py:3:25: `stride` options must each be a whole number from 1 to 2^31, found 0",
                "s.py:3:43: `activation` options must each be an activation: relu, leaky_relu, elu, gelu, tanh, sigmoid or none, found `relu6`",
                "s.py:3:69: `drop_out` lists 10.0 twice",
                "s.py:4:18: unknown key `max_parms`; did you mean `max_params`?",
            ]
        );
        let not_an_object = SearchSpace::parse("[1, 2]").unwrap_err();
        assert_eq!(
            not_an_object[0].render("s.py"),
            "s.py:1:1: the search space must be an object, found a list"
        );
    }
}
