//! The user's seed ARCH, pasted verbatim, at the three input shapes they train it on.

use cnn_arch::{Overrides, Shape, check};

const SEED: &str = include_str!("../../examples/arch/seed.arch");

fn seed(input: [usize; 3], classes: usize) -> cnn_arch::Network {
    let overrides = Overrides {
        input: Some(input),
        classes: Some(classes),
        ..Default::default()
    };
    check(SEED, &overrides).unwrap_or_else(|e| panic!("{}", e.render("seed.arch")))
}

#[test]
fn mnist_shapes_and_parameters_match_pytorch_with_tf_same_padding() {
    let net = seed([1, 28, 28], 10);
    let shapes: Vec<String> = net.layers.iter().map(|l| l.output.to_string()).collect();
    assert_eq!(
        shapes,
        [
            "64x28x28",
            "128x28x28",
            "128x14x14",
            "256x14x14",
            "128x14x14",
            "128x5x5",
            "256x5x5",
            "256",
            "128",
            "10"
        ]
    );
    let params: Vec<usize> = net.layers.iter().map(|l| l.params).collect();
    assert_eq!(
        params,
        [
            640, 73_856, 0, 295_168, 819_328, 0, 295_168, 1_638_656, 32_896, 1_290
        ]
    );
    assert_eq!(net.params(), 3_157_002);
    // Summed by hand: 451,584 + 57,802,752 + 57,802,752 + 160,563,200 + 7,372,800 + 1,638,400
    // + 32,768 + 1,280, i.e. 0.571 GFLOP per image forward.
    assert_eq!(net.macs(), 285_665_536);
    // The 5x5/3 pool on 14x14 pads one row/column before and two after, as TensorFlow does.
    assert_eq!(net.layers[5].pads, [1, 1, 2, 2]);
    assert_eq!(net.name, "Cnn");
}

#[test]
fn cifar_and_fer_shapes() {
    let cifar = seed([3, 32, 32], 10);
    assert_eq!(cifar.layers[6].output, Shape::Image([256, 6, 6]));
    assert_eq!(cifar.params(), 3_879_050);
    let fer = seed([1, 48, 48], 7);
    assert_eq!(fer.layers[6].output, Shape::Image([256, 8, 8]));
    assert_eq!(fer.params(), 5_712_519);
}

#[test]
fn field_names_count_each_kind() {
    let net = seed([1, 28, 28], 10);
    let fields: Vec<&str> = net.layers.iter().map(|l| l.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "conv1", "conv2", "pool1", "conv3", "conv4", "pool2", "conv5", "fc1", "fc2", "output"
        ]
    );
}

#[test]
fn summary_lists_every_layer_and_the_totals() {
    let summary = seed([1, 28, 28], 10).summary();
    assert!(
        summary.starts_with("Model: Cnn (input 1x28x28, 10 classes)\n"),
        "{summary}"
    );
    assert!(
        summary.contains("conv2 (C relu 128 3x3/1 same, dropout 8.3%)"),
        "{summary}"
    );
    assert!(summary.contains("pool2 (P max 5x5/3 same)"), "{summary}");
    assert!(summary.contains("output (FC 10)"), "{summary}");
    assert!(summary.contains("Total params: 3,157,002\n"), "{summary}");
    assert!(
        summary.contains("Mult-adds per image: 285,665,536 (285.7 M)\n"),
        "{summary}"
    );
    let conv4 = summary.lines().find(|l| l.starts_with("conv4 ")).unwrap();
    assert!(
        conv4.contains("128x14x14") && conv4.contains("819,328") && conv4.contains("160,563,200"),
        "{conv4}"
    );
}

#[test]
fn strict_json_object_gives_the_same_network() {
    let json = r#"{"name": "MnistNet", "input": [1, 28, 28], "classes": 10, "layers": [
        {"type": "C", "activation": "relu", "num_output": 64, "kernel_size": [3, 3], "stride": [1, 1], "drop_out": 0.0},
        {"type": "C", "activation": "relu", "num_output": 128, "kernel_size": 3, "drop_out": 8.3},
        {"type": "P", "pool": "max", "kernel_size": 2},
        {"type": "C", "activation": "relu", "num_output": 256, "kernel_size": 3},
        {"type": "C", "activation": "relu", "num_output": 128, "kernel_size": 5, "drop_out": 16.7},
        {"type": "P", "pool": "max", "kernel_size": 5, "stride": 3},
        {"type": "C", "activation": "relu", "num_output": 256, "kernel_size": 3},
        {"type": "FC", "activation": "relu", "num_output": 256, "drop_out": 8.3},
        {"type": "FC", "activation": "relu", "num_output": 128}
    ]}"#;
    let net = check(json, &Overrides::default()).unwrap();
    assert_eq!(net.name, "MnistNet");
    assert_eq!(net.params(), 3_157_002);
    let pasted = seed([1, 28, 28], 10);
    let shapes = |n: &cnn_arch::Network| n.layers.iter().map(|l| l.output).collect::<Vec<_>>();
    assert_eq!(shapes(&net), shapes(&pasted));
}

#[test]
fn overrides_win_over_the_file() {
    let json = r#"{"name": "A", "input": [1, 28, 28], "classes": 10, "layers": [{"type": "FC", "activation": "none", "num_output": 4}]}"#;
    let overrides = Overrides {
        name: Some("B".into()),
        input: Some([3, 8, 8]),
        classes: Some(2),
    };
    let net = check(json, &overrides).unwrap();
    assert_eq!(
        (net.name.as_str(), net.input, net.classes),
        ("B", [3, 8, 8], 2)
    );
    assert_eq!(net.params(), 192 * 4 + 4 + 4 * 2 + 2);
}

/// The seed ARCH in the architecture search's form, ending with its terminal layer written
/// out, is the same network: the `T` takes the implicit output layer's place.
#[test]
fn a_terminal_layer_takes_the_implicit_output_layers_place() {
    let with_terminal = include_str!("../../tests/ui/pass/seed_with_terminal.arch");
    let overrides = Overrides {
        input: Some([1, 28, 28]),
        classes: Some(10),
        ..Default::default()
    };
    let net = check(with_terminal, &overrides).unwrap();
    let seed = seed([1, 28, 28], 10);
    assert_eq!(net.params(), 3_157_002);
    assert_eq!(net.layers.len(), seed.layers.len());
    let output = net.layers.last().unwrap();
    assert_eq!((output.field.as_str(), output.index), ("output", 10));
    assert_eq!(output.description(), "T 10");
    assert!(net.summary().contains("output (T 10)"));
    for (a, b) in net.layers.iter().zip(&seed.layers).take(9) {
        assert_eq!((a.output, a.params, a.macs), (b.output, b.params, b.macs));
    }
}
