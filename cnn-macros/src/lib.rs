//! `cnn_from_json!`: reads a CNN architecture file at compile time, checks every shape with
//! `cnn-arch`, and generates a statically typed burn module. This crate is a thin shell: the
//! rules live in `cnn-arch`; here we only read the file, emit tokens and turn problems into
//! compile errors at the invocation.

mod args;
mod codegen;

use proc_macro::TokenStream;
use std::path::PathBuf;

use args::Args;

/// Generates a burn module from an architecture file (strict JSON or a Python `ARCH = [...]`
/// list). See the `cnn` crate for the full documentation.
#[proc_macro]
pub fn cnn_from_json(input: TokenStream) -> TokenStream {
    let args = syn::parse_macro_input!(input as Args);
    expand(&args)
        .unwrap_or_else(|e| e.to_compile_error())
        .into()
}

fn expand(args: &Args) -> syn::Result<proc_macro2::TokenStream> {
    let shown = args.path.value();
    let candidates = candidates(&shown);
    // The message names the directories in words: their absolute paths depend on where the
    // crate is built (a test harness compiles it in a scratch directory).
    let path = candidates.iter().find(|p| p.is_file()).ok_or_else(|| {
        let message = format!(
            "cannot find architecture file `{shown}`: a relative path starts at the directory \
             that holds the crate's Cargo.toml (or else at the directory of the file that calls \
             the macro)"
        );
        syn::Error::new(args.path.span(), message)
    })?;
    let bytes = std::fs::read(path).map_err(|e| {
        let message = format!("cannot read architecture file `{}`: {e}", path.display());
        syn::Error::new(args.path.span(), message)
    })?;
    let text = cnn_arch::decode(&bytes)
        .map_err(|d| syn::Error::new(args.path.span(), d.render(&shown)))?;
    let network = cnn_arch::check(text, &args.overrides()).map_err(|diagnostics| {
        let mut errors = diagnostics
            .iter()
            .map(|d| syn::Error::new(args.path.span(), d.render(&shown)));
        let mut first = errors
            .next()
            .expect("check fails with at least one diagnostic");
        errors.for_each(|e| first.combine(e));
        first
    })?;
    codegen::generate(&network, args.name.as_ref(), path)
}

/// Where the file may be: relative to the manifest directory of the crate being compiled,
/// then relative to the source file holding the call (where test harnesses such as trybuild
/// compile a file away from its crate).
fn candidates(path: &str) -> Vec<PathBuf> {
    let mut candidates = Vec::new();
    if let Some(base) = std::env::var_os("CARGO_MANIFEST_DIR") {
        candidates.push(PathBuf::from(base).join(path));
    }
    let source = proc_macro::Span::call_site().local_file();
    if let Some(dir) = source.as_deref().and_then(std::path::Path::parent) {
        candidates.push(dir.join(path));
    }
    candidates
}

#[cfg(test)]
mod corpus {
    use std::path::Path;

    /// The macro's code, in a debug build (overflow checks on), on every file of the fuzzing
    /// corpus and every fixture: checking and code generation never panic, and what is
    /// generated parses as Rust items.
    #[test]
    fn the_macro_runs_on_the_whole_corpus() {
        let shapes = [
            cnn_arch::Overrides::default(),
            cnn_arch::Overrides {
                input: Some([3, 32, 32]),
                classes: Some(10),
                ..Default::default()
            },
        ];
        let mut generated = 0;
        for dir in [
            "../cnn-arch/tests/corpus",
            "../tests/ui/pass",
            "../tests/ui/fail",
            "../examples/arch",
            "../tests/arch",
        ] {
            for entry in std::fs::read_dir(dir).unwrap().flatten() {
                let path = entry.path();
                let Ok(text) = cnn_arch::decode(&std::fs::read(&path).unwrap()).map(str::to_owned)
                else {
                    continue;
                };
                for overrides in &shapes {
                    if let Ok(network) = cnn_arch::check(&text, overrides) {
                        let tokens = crate::codegen::generate(&network, None, Path::new(&path))
                            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                        syn::parse2::<syn::File>(tokens)
                            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                        generated += 1;
                    }
                }
            }
        }
        assert!(generated >= 10, "only {generated} networks generated");
    }
}
