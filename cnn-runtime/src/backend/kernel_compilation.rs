//! What a GPU run's first step spends compiling kernels, cut down.
//!
//! cubecl compiles each kernel the first time it is launched, seconds of a GPU run's first
//! step (docs/gpu.md has the figures). Two things cut it:
//! - `keep_compiled_kernels`, which [`crate::Backend::device`] calls on wgpu and Vulkan: cubecl
//!   can keep the SPIR-V it compiles beside its autotune results (`target/environment/` of
//!   the outermost Cargo project, else `~/.cache/cubecl/`), keyed by the binary's build, but
//!   does not by default.
//! - [`skip_library_backtraces`]: cubecl's compiler builds errors as part of its normal work,
//!   and each captures a stack trace when `RUST_BACKTRACE` is set, as it often is in a
//!   developer's shell, which slows compiling down.

/// Has cubecl keep compiled kernels on disk, unless a configuration file of the user's
/// (`cubecl.toml` or `burn.toml` in the working directory or above it) governs cubecl: then
/// that file decides (`[compilation] cache = true` in `cubecl.toml`). Takes effect only before
/// the process's first GPU device; later calls change nothing.
#[cfg(feature = "wgpu")]
pub(crate) fn keep_compiled_kernels() {
    use burn::cubecl::config::{CubeClRuntimeConfig, RuntimeConfig};
    let names = CubeClRuntimeConfig::file_names().iter().copied();
    let sections = CubeClRuntimeConfig::section_file_names().iter();
    let names: Vec<&str> = names.chain(sections.map(|(name, _)| *name)).collect();
    // No working directory: cubecl finds no file either.
    let cwd = std::env::current_dir().unwrap_or_default();
    if config_file_governs(&cwd, &names) {
        return;
    }
    let mut config = CubeClRuntimeConfig::default().override_from_env();
    config.compilation.cache = true;
    // `false` when cubecl's configuration was already read: the process keeps it.
    let _ = CubeClRuntimeConfig::try_set(config);
}

/// Whether `dir` or a directory above it holds one of `names`, the files cubecl reads its
/// configuration from.
#[cfg(any(feature = "wgpu", test))]
fn config_file_governs(dir: &std::path::Path, names: &[&str]) -> bool {
    dir.ancestors()
        .any(|dir| names.iter().any(|name| dir.join(name).is_file()))
}

/// Keeps stack traces for panics (`RUST_BACKTRACE`) but stops library errors from capturing
/// them, by setting `RUST_LIB_BACKTRACE=0` unless it is set already. It changes the
/// environment only while the process has a single thread, where that is safe, and says
/// whether it did: call it first thing in `main` (the examples' [`crate::cli::parse`] does).
/// On systems without `/proc` it does nothing.
pub fn skip_library_backtraces() -> bool {
    if std::env::var_os("RUST_LIB_BACKTRACE").is_some() || !single_threaded() {
        return false;
    }
    // SAFETY: no other thread exists, so none reads the environment meanwhile.
    unsafe { std::env::set_var("RUST_LIB_BACKTRACE", "0") };
    true
}

/// Whether this process runs one thread (Linux's `/proc/self/status`; false where unknown).
fn single_threaded() -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("Threads:"))
        .is_some_and(|count| count.trim() == "1")
}

#[cfg(test)]
mod tests {
    /// cubecl 0.11's names (`CubeClRuntimeConfig::file_names` and `section_file_names`).
    const NAMES: [&str; 4] = ["cubecl.toml", "CubeCL.toml", "burn.toml", "Burn.toml"];

    fn config_file_governs(dir: &std::path::Path) -> bool {
        super::config_file_governs(dir, &NAMES)
    }

    #[test]
    fn a_config_file_in_the_directory_or_above_governs() {
        let root = tempfile::tempdir().unwrap();
        let nested = root.path().join("project/src");
        std::fs::create_dir_all(&nested).unwrap();
        assert!(!config_file_governs(&nested));
        std::fs::write(root.path().join("project/cubecl.toml"), "").unwrap();
        assert!(config_file_governs(&nested));
        assert!(!config_file_governs(root.path()));
        std::fs::write(root.path().join("burn.toml"), "").unwrap();
        assert!(config_file_governs(root.path()));
    }

    /// A test binary runs its tests on threads of their own, so the environment stays as it is.
    #[cfg(target_os = "linux")]
    #[test]
    fn the_environment_is_left_alone_beside_other_threads() {
        assert!(!super::single_threaded());
        let before = std::env::var_os("RUST_LIB_BACKTRACE");
        assert!(!super::skip_library_backtraces());
        assert_eq!(std::env::var_os("RUST_LIB_BACKTRACE"), before);
    }

    #[test]
    fn a_directory_named_like_a_config_file_does_not() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join("cubecl.toml")).unwrap();
        assert!(!config_file_governs(root.path()));
    }
}
