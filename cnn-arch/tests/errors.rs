//! Every rule gives a message naming the line, column and layer; all problems come at once.

use cnn_arch::{Overrides, check};

fn errors(text: &str) -> Vec<String> {
    let overrides = Overrides {
        input: Some([1, 28, 28]),
        classes: Some(10),
        ..Default::default()
    };
    match check(text, &overrides) {
        Ok(net) => panic!(
            "expected errors, got a network of {} layers",
            net.layers.len()
        ),
        Err(e) => e.iter().map(|d| d.render("a.json")).collect(),
    }
}

#[test]
fn malformed_file_names_line_and_column() {
    assert_eq!(
        errors("[\n {'type': 'C'}\n {'type': 'P'}\n]"),
        ["a.json:3:2: expected `,` or `]`, found `{`"]
    );
}

#[test]
fn unknown_fields_suggest_the_nearest_name() {
    let text =
        "[{'type': 'C', 'activation': 'relu', 'num_output': 8, 'kernal_size': 3, 'pool': 'max'}]";
    assert_eq!(
        errors(text),
        [
            "a.json:1:2: layer 1 (C): missing field `kernel_size`",
            "a.json:1:55: layer 1 (C): unknown field `kernal_size`; did you mean `kernel_size`?",
            "a.json:1:73: layer 1 (C): `pool` does not apply to this layer type; its fields are `type`, `activation`, `num_output`, `kernel_size`, `stride`, `padding`, `drop_out`, `batch_norm`",
        ]
    );
}

#[test]
fn unknown_values_suggest_the_nearest_name() {
    let text = "[{'type': 'CONV'}, {'type': 'FC', 'activation': 'rellu', 'num_output': 4}, {'type': 'P', 'pool': 'mean', 'kernel_size': 2, 'padding': 'full'}]";
    assert_eq!(
        errors(text),
        [
            "a.json:1:11: layer 1: unknown layer type `CONV`; expected one of `C`, `P`, `FC`, `DO`, `T`",
            "a.json:1:49: layer 2 (FC): unknown activation `rellu`; did you mean `relu`?",
            "a.json:1:98: layer 3 (P): unknown pool `mean`; expected one of `max`, `avg`",
            "a.json:1:135: layer 3 (P): unknown padding `full`; expected one of `same`, `valid`",
        ]
    );
}

#[test]
fn wrong_types_and_sizes() {
    let text = "[{'type': 'C', 'activation': 'relu', 'num_output': '8', 'kernel_size': (3, 0), 'stride': -1, 'batch_norm': 1, 'drop_out': 100}]";
    assert_eq!(
        errors(text),
        [
            "a.json:1:52: layer 1 (C): `num_output` must be a positive integer, found a string",
            "a.json:1:76: layer 1 (C): `kernel_size` must be at least 1, found 0",
            "a.json:1:90: layer 1 (C): `stride` must be at least 1, found -1",
            "a.json:1:108: layer 1 (C): `batch_norm` must be true or false, found an integer",
            "a.json:1:123: layer 1 (C): `drop_out` is a percentage in [0, 100), found 100",
        ]
    );
}

#[test]
fn shape_rules() {
    let collapse = "[{'type': 'C', 'activation': 'relu', 'num_output': 4, 'kernel_size': 9, 'stride': 9, 'padding': 'valid'},\n {'type': 'P', 'pool': 'max', 'kernel_size': 5, 'padding': 'valid'}]";
    assert_eq!(
        errors(collapse),
        [
            "a.json:2:2: layer 2 (P max 5x5/5): input 3x3 is smaller than the kernel 5x5 with padding valid; the output would be empty"
        ]
    );
    let explicit =
        "[{'type': 'C', 'activation': 'relu', 'num_output': 4, 'kernel_size': 31, 'padding': 1}]";
    assert_eq!(
        errors(explicit),
        [
            "a.json:1:2: layer 1 (C relu 4 31x31/1): input 28x28 (padded to 30x30) is smaller than the kernel 31x31 with padding 1; the output would be empty"
        ]
    );
    let after_fc = "[{'type': 'FC', 'activation': 'relu', 'num_output': 4},\n {'type': 'P', 'pool': 'max', 'kernel_size': 2}]";
    assert_eq!(
        errors(after_fc),
        [
            "a.json:2:2: layer 2 (P max 2x2/2): a P layer cannot follow an FC layer: its input is already flat (4 values); put `C` and `P` layers before the first `FC`"
        ]
    );
}

#[test]
fn empty_list_and_missing_shapes() {
    let empty = check(
        "[]",
        &Overrides {
            input: Some([1, 2, 2]),
            classes: Some(2),
            ..Default::default()
        },
    )
    .unwrap_err();
    assert_eq!(
        empty.render("e.json"),
        "e.json:1:1: the layer list is empty: list at least one `C`, `P` or `FC` layer"
    );
    let missing = check(
        "{'layers': [{'type': 'FC', 'activation': 'none', 'num_output': 2}]}",
        &Overrides::default(),
    )
    .unwrap_err();
    let messages: Vec<&str> = missing.iter().map(|d| d.message.as_str()).collect();
    assert!(
        messages[0].starts_with("missing input shape"),
        "{messages:?}"
    );
    assert!(
        messages[1].starts_with("missing number of classes"),
        "{messages:?}"
    );
}

#[test]
fn a_broken_first_layer_is_not_reported_as_an_empty_list() {
    let errors = errors("[{'type': 'C', 'activation': 'relu'}]");
    assert_eq!(
        errors,
        [
            "a.json:1:2: layer 1 (C): missing field `num_output`",
            "a.json:1:2: layer 1 (C): missing field `kernel_size`"
        ]
    );
}

#[test]
fn shapes_of_layers_before_a_broken_one_are_still_checked() {
    let text =
        "[{'type': 'P', 'pool': 'max', 'kernel_size': 50, 'padding': 'valid'},\n {'type': 'X'}]";
    let errors = errors(text);
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(
        errors[0].starts_with("a.json:1:2: layer 1 (P max 50x50/50): input 28x28 is smaller"),
        "{errors:?}"
    );
    assert!(
        errors[1].starts_with("a.json:2:11: layer 2: unknown layer type `X`"),
        "{errors:?}"
    );
}

#[test]
fn a_terminal_layer_comes_last_and_names_softmax_or_none() {
    let text = "[{'type': 'C', 'activation': 'relu', 'num_output': 4, 'kernel_size': 3}, {'type': 'T', 'activation': None}, {'type': 'FC', 'activation': 'relu', 'num_output': 4}]";
    assert_eq!(
        errors(text),
        [
            "a.json:1:74: layer 2 (T): a `T` layer is the output layer to the classes: it must be the last layer"
        ]
    );
    let text = "[{'type': 'DO'}, {'type': 'T', 'activation': 'relu'}]";
    assert_eq!(
        errors(text),
        [
            "a.json:1:2: layer 1 (DO): missing field `drop_out`",
            "a.json:1:46: layer 2 (T): a `T` layer's activation is `softmax` or None (the network returns logits, trained with softmax cross-entropy), found `relu`",
        ]
    );
}
