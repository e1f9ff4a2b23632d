//! `CNN_KERNELS` in the environment puts burn's own layers back in generated networks:
//! to compare the two, or to rule our code out when something looks wrong. Read once per
//! process, and only in builds with the `ab-switch` feature (the benchmarks'); other builds
//! always run ours.
//!
//! - `CNN_KERNELS=burn`: burn's convolution, max pooling, dropout, fully connected layers,
//!   cross-entropy loss and optimizer step instead of [`crate::nn::conv`], [`crate::nn::pool`],
//!   [`crate::nn::dropout`], [`crate::nn::dense`], [`crate::nn::loss`] and
//!   [`crate::train::optim`] (on the GPU too, where convolutions otherwise run as input
//!   gradients, pooling's padding is rewritten, dropout runs on the channels-last view and long
//!   fully connected inputs are split).
//! - `CNN_KERNELS=burn:dropout,dense`: burn's for the listed ones only (`conv`, `pool`,
//!   `dropout`, `dense`, `loss`, `optim`); inside our GPU convolution, `wgrad` gives burn's
//!   weight gradient back and `turned` burn's forward kernel (instead of the turned
//!   convolution's input gradient, [`crate::nn::conv`]).
//!
//! Anything else is reported once on stderr, and ours run.

/// The layers we compute our own way. (Some are ours on the GPU only.)
#[cfg_attr(not(feature = "wgpu"), allow(dead_code))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rewrite {
    Conv,
    Pool,
    Dropout,
    Dense,
    /// The weight gradient of our GPU convolution ([`crate::nn::conv`]).
    WeightGradient,
    /// Our GPU convolution's forward pass as its turned convolution's input gradient.
    Turned,
    /// Softmax cross-entropy as one operation ([`crate::nn::loss`]).
    Loss,
    /// The optimizer's step in one pass per tensor on the CPU ([`crate::train::optim`]).
    Optimizer,
}

#[cfg(any(test, feature = "ab-switch"))]
impl Rewrite {
    const ALL: [Rewrite; 8] = [
        Rewrite::Conv,
        Rewrite::Pool,
        Rewrite::Dropout,
        Rewrite::Dense,
        Rewrite::WeightGradient,
        Rewrite::Turned,
        Rewrite::Loss,
        Rewrite::Optimizer,
    ];

    fn name(self) -> &'static str {
        match self {
            Rewrite::Conv => "conv",
            Rewrite::Pool => "pool",
            Rewrite::Dropout => "dropout",
            Rewrite::Dense => "dense",
            Rewrite::WeightGradient => "wgrad",
            Rewrite::Turned => "turned",
            Rewrite::Loss => "loss",
            Rewrite::Optimizer => "optim",
        }
    }
}

/// Whether our version of `rewrite` runs (the default).
#[cfg(not(feature = "ab-switch"))]
pub fn own(_: Rewrite) -> bool {
    true
}

/// Whether our version of `rewrite` runs (the default).
#[cfg(feature = "ab-switch")]
pub fn own(rewrite: Rewrite) -> bool {
    use std::sync::OnceLock;
    static BURNS: OnceLock<Vec<Rewrite>> = OnceLock::new();
    let burns = BURNS.get_or_init(|| {
        let value = std::env::var("CNN_KERNELS").ok();
        parse(value.as_deref()).unwrap_or_else(|message| {
            eprintln!("warning: CNN_KERNELS: {message}; running our own layers");
            Vec::new()
        })
    });
    !burns.contains(&rewrite)
}

/// The layers `CNN_KERNELS`'s value gives back to burn.
#[cfg(any(test, feature = "ab-switch"))]
fn parse(value: Option<&str>) -> Result<Vec<Rewrite>, String> {
    let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(Vec::new());
    };
    if value == "burn" {
        return Ok(Rewrite::ALL.to_vec());
    }
    let expected = "expected `burn` or `burn:` and a list of conv, pool, dropout, dense, wgrad, turned, loss, optim";
    let Some(list) = value.strip_prefix("burn:") else {
        return Err(format!("`{value}` is not understood ({expected})"));
    };
    list.split(',')
        .map(|name| {
            let name = name.trim();
            Rewrite::ALL
                .into_iter()
                .find(|r| r.name() == name)
                .ok_or_else(|| format!("unknown layer `{name}` ({expected})"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burn_gives_every_layer_back_and_a_list_only_those_listed() {
        assert_eq!(parse(None), Ok(vec![]));
        assert_eq!(parse(Some("")), Ok(vec![]));
        assert_eq!(parse(Some("burn")), Ok(Rewrite::ALL.to_vec()));
        assert_eq!(
            parse(Some("burn:dropout, dense")),
            Ok(vec![Rewrite::Dropout, Rewrite::Dense])
        );
        assert_eq!(parse(Some("burn:conv")), Ok(vec![Rewrite::Conv]));
        assert_eq!(parse(Some("burn:wgrad")), Ok(vec![Rewrite::WeightGradient]));
        assert_eq!(parse(Some("burn:turned")), Ok(vec![Rewrite::Turned]));
        assert_eq!(parse(Some("burn:loss")), Ok(vec![Rewrite::Loss]));
    }

    #[test]
    fn anything_else_is_an_error_naming_what_is_expected() {
        for value in ["ours", "burn:", "burn:dropout,relu", "BURN"] {
            let message = parse(Some(value)).unwrap_err();
            assert!(
                message.contains("conv, pool, dropout, dense, wgrad, turned, loss"),
                "{message}"
            );
        }
        assert!(parse(Some("burn:relu")).unwrap_err().contains("`relu`"));
    }
}
