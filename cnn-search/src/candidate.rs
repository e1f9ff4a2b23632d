//! Whether a proposed genome is a network the search can train.

use cnn_arch::{Network, Overrides, Shape};

use crate::space::SearchSpace;

/// The checked network a genome stands for, or why it cannot be trained: what
/// `cnn_arch::check` reports, or the constraint it breaks. Either way the search goes on.
pub fn check(
    space: &SearchSpace,
    genome: &[usize],
    input: [usize; 3],
    classes: usize,
) -> (String, Result<Network, String>) {
    let text = space.arch_text(genome, "SearchNet");
    let overrides = Overrides {
        name: None,
        input: Some(input),
        classes: Some(classes),
    };
    let network = cnn_arch::check(&text, &overrides)
        .map_err(|errors| {
            errors
                .0
                .iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("; ")
        })
        .and_then(|network| keeps_constraints(space, &network).map(|()| network));
    (text, network)
}

fn keeps_constraints(space: &SearchSpace, network: &Network) -> Result<(), String> {
    let limits = &space.constraints;
    let params = network.params() as u64;
    if let Some(max) = limits.max_params.filter(|&max| params > max) {
        return Err(format!("{params} parameters, more than max_params {max}"));
    }
    let macs = network.macs();
    if let Some(max) = limits.max_macs.filter(|&max| macs > max) {
        return Err(format!("{macs} multiply-adds, more than max_macs {max}"));
    }
    for layer in &network.layers {
        if let Shape::Image([_, h, w]) = layer.output
            && h.min(w) < limits.min_spatial
        {
            return Err(format!(
                "layer {} ({}) outputs {h}x{w}, smaller than min_spatial {}",
                layer.index,
                layer.description(),
                limits.min_spatial
            ));
        }
    }
    Ok(())
}
