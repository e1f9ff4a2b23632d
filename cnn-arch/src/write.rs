//! A checked network written back as an architecture file (strict JSON), for a network built
//! at run time to keep beside its weights: reading it back gives the same network.

use serde_json::{Value, json};

use crate::plan::Network;
use crate::spec::*;

impl Network {
    /// The file this network reads from: its name, input shape, classes and listed layers
    /// (the implicit output layer is left out; a `T` layer is kept).
    pub fn to_json(&self) -> String {
        let layers: Vec<Value> = self
            .layers
            .iter()
            .filter(|l| !l.is_output() || matches!(l.layer, Layer::Terminal(_)))
            .map(|l| layer(&l.layer))
            .collect();
        let file = json!({
            "name": self.name,
            "input": self.input,
            "classes": self.classes,
            "layers": layers,
        });
        serde_json::to_string_pretty(&file).expect("a JSON value prints")
    }
}

fn layer(layer: &Layer) -> Value {
    let mut value = match layer {
        Layer::Conv(c) => json!({
            "activation": c.activation.name(),
            "num_output": c.num_output,
            "kernel_size": c.kernel_size,
            "stride": c.stride,
            "padding": padding(c.padding),
            "drop_out": c.drop_out,
            "batch_norm": c.batch_norm,
        }),
        Layer::Pool(p) => json!({
            "pool": p.pool.name(),
            "kernel_size": p.kernel_size,
            "stride": p.stride,
            "padding": padding(p.padding),
            "drop_out": p.drop_out,
        }),
        Layer::Dense(d) => json!({
            "activation": d.activation.name(),
            "num_output": d.num_output,
            "drop_out": d.drop_out,
            "batch_norm": d.batch_norm,
        }),
        Layer::DropOut(d) => json!({ "drop_out": d.drop_out }),
        Layer::Terminal(t) => json!({ "activation": if t.softmax { "softmax" } else { "none" } }),
    };
    value["type"] = json!(layer.type_name());
    value
}

fn padding(padding: Padding) -> Value {
    match padding {
        Padding::Same => json!("same"),
        Padding::Valid => json!("valid"),
        Padding::Explicit(pads) => json!(pads),
    }
}

#[cfg(test)]
mod tests {
    use crate::{Overrides, check};

    #[test]
    fn a_network_reads_back_from_its_json() {
        let overrides = Overrides {
            input: Some([3, 32, 24]),
            classes: Some(7),
            ..Default::default()
        };
        let seed = include_str!("../../examples/arch/seed.arch");
        let every_kind = r#"{"name": "Every", "layers": [
            {"type": "C", "activation": "leaky_relu", "num_output": 4, "kernel_size": [3, 5],
             "stride": [2, 1], "padding": [1, 2], "batch_norm": true, "drop_out": 10},
            {"type": "DO", "drop_out": 20},
            {"type": "P", "pool": "avg", "kernel_size": 2, "padding": "valid"},
            {"type": "FC", "activation": "tanh", "num_output": 9, "batch_norm": true},
            {"type": "T", "activation": "softmax"}]}"#;
        for text in [seed, every_kind] {
            let network = check(text, &overrides).unwrap();
            let again = check(&network.to_json(), &Overrides::default()).unwrap();
            assert_eq!(again, network, "{}", network.to_json());
        }
    }
}
