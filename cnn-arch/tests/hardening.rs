//! Inputs that once gave weak or wrong messages: byte-order marks, CR line endings, text that
//! is not UTF-8, huge numbers, near-miss keys, keywords as names, enormous tokens.

use cnn_arch::{Overrides, check, decode};

fn overrides() -> Overrides {
    Overrides {
        input: Some([1, 28, 28]),
        classes: Some(10),
        ..Default::default()
    }
}

/// Every message for `text`, rendered as the compiler shows them.
fn errors(text: &str) -> Vec<String> {
    let diagnostics = check(text, &overrides()).unwrap_err();
    diagnostics.0.iter().map(|d| d.render("a.arch")).collect()
}

const LAYER: &str = "{'type':'FC','activation':'relu','num_output':8}";

#[test]
fn a_byte_order_mark_is_skipped() {
    let text = format!("\u{feff}[{LAYER}]");
    assert_eq!(check(&text, &overrides()).unwrap().layers.len(), 2);
    assert_eq!(
        errors("\u{feff}[]"),
        ["a.arch:1:1: the layer list is empty: list at least one `C`, `P` or `FC` layer"]
    );
}

#[test]
fn cr_and_crlf_end_lines() {
    for newline in ["\n", "\r\n", "\r"] {
        let text = format!("[{newline}{LAYER},{newline}{{'type':'C'}}{newline}]");
        let found = errors(&text);
        assert_eq!(
            found[0], "a.arch:3:1: layer 2 (C): missing field `activation`",
            "{newline:?}"
        );
    }
    // A comment ends at a lone CR too.
    let text = format!("# note\r[{LAYER}]");
    assert!(check(&text, &overrides()).is_ok());
}

#[test]
fn text_that_is_not_utf8_is_located() {
    let bytes = b"[\n{'type': 'C\xff'}]";
    let error = decode(bytes).unwrap_err();
    assert_eq!(
        error.render("a.arch"),
        "a.arch:2:12: the file is not UTF-8 text: byte 0xFF does not start a character (save it as UTF-8)"
    );
    assert_eq!(decode(b"[1]").unwrap(), "[1]");
}

#[test]
fn numbers_get_messages_that_say_what_is_wrong() {
    let huge = errors("[{'type':'FC','activation':'relu','num_output':18446744073709551615}]");
    assert_eq!(
        huge,
        ["a.arch:1:48: the integer 18446744073709551615 is too large: at most 9223372036854775807"]
    );
    let exponent = errors("[{'type':'FC','activation':'relu','num_output':1e2}]");
    assert_eq!(
        exponent,
        [
            "a.arch:1:48: layer 1 (FC): `num_output` must be a positive integer, found a floating-point number (write a whole number without `.` or an exponent)"
        ]
    );
    let long = format!("[{}]", "9".repeat(1_000_000));
    let message = &errors(&long)[0];
    assert!(message.len() < 150, "{} bytes", message.len());
    assert!(message.contains("(1000000 characters)"), "{message}");
}

#[test]
fn a_near_miss_of_type_is_suggested() {
    assert_eq!(
        errors("[{'Type':'FC','activation':'relu','num_output':8}]"),
        ["a.arch:1:3: layer 1: unknown field `Type`; did you mean `type`?"]
    );
}

#[test]
fn a_file_with_no_layer_list_gets_one_error() {
    assert_eq!(errors("{}"), ["a.arch:1:1: missing field `layers`"]);
    assert_eq!(
        errors("null"),
        ["a.arch:1:1: expected a list of layers or an object with `layers`, found null"]
    );
}

#[test]
fn keywords_cannot_name_the_struct() {
    for name in ["fn", "Self", "_", "struct", "type"] {
        let text = format!("{{'name': '{name}', 'layers': [{LAYER}]}}");
        let found = errors(&text);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].starts_with(&format!("a.arch:1:10: `name`: `{name}` is a Rust keyword")),
            "{found:?}"
        );
    }
    let given = Overrides {
        name: Some("fn".into()),
        ..overrides()
    };
    let error = check(&format!("[{LAYER}]"), &given).unwrap_err().0[0].to_string();
    assert_eq!(
        error,
        "the name given: `fn` is a Rust keyword and cannot name a struct; try `FnNet`"
    );
    assert!(
        check(
            &format!("{{'name': 'Fn', 'layers': [{LAYER}]}}"),
            &overrides()
        )
        .is_ok()
    );
}

#[test]
fn enormous_keys_are_abbreviated_and_not_compared() {
    let key = "k".repeat(5_000_000);
    let text = format!("[{{'type':'FC','activation':'relu','num_output':8,'{key}':1}}]");
    let found = errors(&text);
    assert_eq!(
        found,
        [format!(
            "a.arch:1:50: layer 1 (FC): unknown field `{}... (5000000 characters)`; expected one of `type`, `activation`, `num_output`, `drop_out`, `batch_norm`",
            "k".repeat(32)
        )]
    );
}
