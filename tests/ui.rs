//! Compile-time behaviour of `cnn_from_json!`: valid files build and run, invalid ones give the
//! reviewed errors in `tests/ui/fail/*.stderr`.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.pass("tests/ui/pass/*.rs");
    cases.compile_fail("tests/ui/fail/*.rs");
}
