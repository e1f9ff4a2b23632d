//! Sizes past the limits are located errors, never an overflow, a panic or a wrapped number.

use cnn_arch::{MAX_SIZE, Overrides, check};

fn errors(text: &str, input: [usize; 3], classes: usize) -> Vec<String> {
    let overrides = Overrides {
        input: Some(input),
        classes: Some(classes),
        ..Default::default()
    };
    match check(text, &overrides) {
        Ok(net) => panic!("expected errors, got {} parameters", net.params()),
        Err(e) => e.0.iter().map(|d| d.render("a.json")).collect(),
    }
}

fn conv(field: &str, value: &str) -> String {
    format!(
        "[{{'type': 'C', 'activation': 'relu', 'num_output': 8, 'kernel_size': 3, {field}: {value}}}]"
    )
}

#[test]
fn sizes_above_the_limit_are_errors_at_their_value() {
    let huge = "4611686018427387904";
    let text = format!("[{{'type': 'FC', 'activation': 'relu', 'num_output': {huge}}}]");
    assert_eq!(
        errors(&text, [1, 28, 28], 10),
        [format!(
            "a.json:1:53: layer 1 (FC): `num_output` is {huge}, above the limit of {MAX_SIZE}"
        )]
    );
    let max = i64::MAX.to_string();
    let padding = errors(&conv("'padding'", &max), [1, 28, 28], 10);
    assert!(
        padding[0].contains(&format!("`padding` is {max}, above the limit")),
        "{padding:?}"
    );
    let kernel = errors(&conv("'stride'", &max), [1, 28, 28], 10);
    assert!(
        kernel[0].contains("`stride` is 9223372036854775807, above"),
        "{kernel:?}"
    );
    let classes = errors(
        &format!("{{'classes': {max}, 'layers': []}}"),
        [1, 28, 28],
        10,
    );
    assert!(
        classes
            .iter()
            .any(|e| e.contains("`classes` is 9223372036854775807, above"))
    );
}

#[test]
fn shapes_too_large_to_compute_stop_planning_with_a_message() {
    let text = conv("'padding'", "'same'");
    let input = errors(&text, [4, 1 << 31, 1 << 31], 10);
    assert!(
        input[0].contains("has more than 1099511627776 values per image"),
        "{input:?}"
    );
    let over = errors(&text, [1, (1 << 31) + 1, 28], 10);
    assert!(
        over[0].contains("has a size above the limit of 2147483648"),
        "{over:?}"
    );
    let zero = errors(&text, [1, 0, 28], 10);
    assert_eq!(zero, ["a.json:1:1: input shape [1, 0, 28] has a zero size"]);
    let classes = errors(&text, [1, 28, 28], usize::MAX);
    assert!(classes[0].contains("`classes` is 18446744073709551615, above the limit"));
}

#[test]
fn a_layer_or_network_too_large_is_an_error_naming_the_layer() {
    // The second layer: 2^31 1x1 filters over 2^31 channels, 4.6e18 parameters.
    let text = "[{'type': 'C', 'activation': 'relu', 'num_output': 2147483648, 'kernel_size': 3}, \
                {'type': 'C', 'activation': 'relu', 'num_output': 2147483648, 'kernel_size': 1}]";
    let found = errors(text, [1, 1, 1], 10);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].starts_with("a.json:1:83: layer 2 (C relu 2147483648 1x1/1): it would have"),
        "{found:?}"
    );
    assert!(
        found[0].ends_with("parameters, above the limit of 1099511627776"),
        "{found:?}"
    );
    let wide = "[{'type': 'FC', 'activation': 'relu', 'num_output': 1048576}, \
                {'type': 'FC', 'activation': 'relu', 'num_output': 1048576}]";
    let found = errors(wide, [1, 1024, 1024], 10);
    assert!(found[0].contains("layer 1 (FC relu 1048576)"), "{found:?}");
}

/// Deep nesting is a located error rather than a stack overflow in the compiler, and a file
/// with 100,000 keys in one object is read (each unknown key an error of its own).
#[test]
fn deep_nesting_and_many_keys() {
    let deep = format!("{}{}", "[".repeat(2500), "]".repeat(2500));
    assert_eq!(
        errors(&deep, [1, 28, 28], 10),
        ["a.json:1:33: lists and objects nest more than 32 deep"]
    );
    let keys: Vec<String> = (0..100_000).map(|i| format!("'k{i}': 0")).collect();
    let text = format!("{{'layers': [], {}}}", keys.join(", "));
    let started = std::time::Instant::now();
    let found = errors(&text, [1, 28, 28], 10);
    assert!(found.len() > 1, "{}", found.len());
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
}
