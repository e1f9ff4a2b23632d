//! Names for burn-fusion's blocks, read off the operations' `Debug` form (burn-ir's
//! `OperationIr` and the enums inside it have over 200 variants, and a name per variant is
//! all a report needs).

use std::fmt::{self, Debug, Write};

/// How much of an operation's `Debug` form naming reads: enough for the two enum levels,
/// and a bound on the formatting, which runs on burn-fusion's thread.
const PREFIX: usize = 80;

/// A block's kind: the operation's name ([`operation_name`]) for one run on its own, else
/// `fused` and what the kernel is built around: `fused matmul`, `fused reduction` or
/// `fused elementwise`.
pub fn block_kind<'a, T: Debug + 'a>(operations: impl ExactSizeIterator<Item = &'a T>) -> String {
    if operations.len() == 1 {
        return operations.map(name_of).collect();
    }
    let names: Vec<String> = operations.map(name_of).collect();
    let built_around = |op: &str| names.iter().any(|n| n.rsplit('.').next() == Some(op));
    let kind = if built_around("Matmul") {
        "matmul"
    } else if REDUCTIONS.iter().any(|op| built_around(op)) {
        "reduction"
    } else {
        "elementwise"
    };
    format!("fused {kind}")
}

/// burn-ir's reductions, by variant name.
const REDUCTIONS: [&str; 14] = [
    "Sum",
    "SumDim",
    "Mean",
    "MeanDim",
    "Prod",
    "ProdDim",
    "Max",
    "MaxDim",
    "Min",
    "MinDim",
    "MaxAbs",
    "MaxAbsDim",
    "ArgMax",
    "ArgMin",
];

fn name_of<T: Debug>(operation: &T) -> String {
    let mut prefix = Prefix(String::new());
    // Stopped by `Prefix` once it holds enough: the error says only that.
    let _ = write!(prefix, "{operation:?}");
    operation_name(&prefix.0)
}

/// An operation's name from its `Debug` form: the outer variant and the operation in it,
/// `NumericFloat.SumDim` for `NumericFloat(F32, SumDim(ReduceDimOpIr { .. }))`, with the
/// element type left out; the outer variant alone where it holds a description rather than
/// an operation (`Drop` for `Drop(TensorIr { .. })`).
pub fn operation_name(debug: &str) -> String {
    let (outer, rest) = identifier(debug);
    let Some(inner) = rest.strip_prefix('(') else {
        return outer.to_string();
    };
    let (mut name, mut after) = identifier(inner);
    if let Some(next) = after.strip_prefix(", ") {
        // An element type (`F32`) comes first in some variants.
        (name, after) = identifier(next);
    }
    let opens = after.starts_with('(') || after.starts_with(" {");
    if name.is_empty() || name.ends_with("Ir") || !opens {
        outer.to_string()
    } else {
        format!("{outer}.{name}")
    }
}

/// The identifier `text` starts with, and what follows it.
fn identifier(text: &str) -> (&str, &str) {
    let end = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    text.split_at(end)
}

/// A writer that keeps the first [`PREFIX`] characters and then stops the formatting.
struct Prefix(String);

impl Write for Prefix {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for c in s.chars() {
            if self.0.len() >= PREFIX {
                return Err(fmt::Error);
            }
            self.0.push(c);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_keep_the_variant_and_the_operation() {
        for (debug, name) in [
            (
                "NumericFloat(F32, SumDim(ReduceDimOpIr { input: 1 }))",
                "NumericFloat.SumDim",
            ),
            ("Float(F32, Matmul(MatmulOpIr { lhs: 1 }))", "Float.Matmul"),
            (
                "BaseFloat(Reshape(ShapeOpIr { input: 1 }))",
                "BaseFloat.Reshape",
            ),
            (
                "Module(Conv2dXBackward(Conv2dXBackwardOpIr { x: 1 }))",
                "Module.Conv2dXBackward",
            ),
            ("Drop(TensorIr { id: 4 })", "Drop"),
            ("Init(InitOperationIr { out: 1 })", "Init"),
            ("Custom(CustomOpIr { id: \"adam\" })", "Custom"),
            ("Plain", "Plain"),
        ] {
            assert_eq!(operation_name(debug), name, "{debug}");
        }
    }

    /// Formats as burn-ir's operations do, with a long tail that naming must not need.
    struct Op(&'static str, &'static str);

    impl Debug for Op {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(
                f,
                "{}({}(OpIr {{ tail: {} }}))",
                self.0,
                self.1,
                "x".repeat(500)
            )
        }
    }

    #[test]
    fn a_block_of_one_is_named_by_its_operation_and_fused_blocks_by_their_kernel() {
        let kind = |ops: &[Op]| block_kind(ops.iter());
        assert_eq!(kind(&[Op("BaseFloat", "Reshape")]), "BaseFloat.Reshape");
        let elementwise = [Op("NumericFloat", "Add"), Op("Float", "Exp")];
        assert_eq!(kind(&elementwise), "fused elementwise");
        let reduction = [Op("Float", "Exp"), Op("NumericFloat", "SumDim")];
        assert_eq!(kind(&reduction), "fused reduction");
        let matmul = [Op("NumericFloat", "SumDim"), Op("Float", "Matmul")];
        assert_eq!(kind(&matmul), "fused matmul");
    }
}
