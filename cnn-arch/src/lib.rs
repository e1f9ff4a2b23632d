//! The CNN architecture spec behind `cnn_from_json!`: parse, validate, infer shapes, count
//! parameters and multiply-adds, print a summary.
//!
//! It reads strict JSON (an object with `layers`, or a bare list) and the Python `ARCH = [...]`
//! lists users paste from notebooks, and reports every problem at once with its line, column
//! and layer. The proc macro and the runtime both use it, so the rules live in one place.
//!
//! ```
//! let text = "ARCH = [
//! {'type':'C','activation':'relu','num_output':8,'kernel_size':(3,3),'stride':(1,1),'drop_out':0.0},
//! {'type':'P','pool':'max','kernel_size':(2,2),'stride':(2,2)},
//! {'type':'FC','activation':'relu','num_output':32},
//! ]";
//! let overrides = cnn_arch::Overrides { input: Some([1, 28, 28]), classes: Some(10), ..Default::default() };
//! let net = cnn_arch::check(text, &overrides).unwrap();
//! assert_eq!(net.layers[1].output, cnn_arch::Shape::Image([8, 14, 14]));
//! assert_eq!(net.params(), 80 + (8 * 14 * 14 * 32 + 32) + (32 * 10 + 10));
//! println!("{}", net.summary());
//! ```

mod diagnostic;
mod plan;
mod read;
mod spec;
mod summary;
mod value;
mod write;

pub use diagnostic::{Diagnostic, Diagnostics, Position, nearest};
pub use plan::{Network, Overrides, PlannedLayer, Shape, plan};
pub use read::read;
pub use spec::*;
pub use summary::thousands;
pub use value::{Node, Value, abbreviate, decode, parse as parse_value};

/// Reads and checks an architecture in one go, reporting the problems of both steps together:
/// every field problem, and the shape problems of the layers before the first broken one.
pub fn check(text: &str, overrides: &Overrides) -> Result<Network, Diagnostics> {
    let (file, mut errors) = read::read_partial(text);
    let network = file.and_then(|file| plan::plan_into(&file, overrides, &mut errors));
    match network {
        Some(network) if errors.is_empty() => Ok(network),
        _ => {
            if errors.is_empty() {
                errors.push(Diagnostic::nowhere(
                    "the architecture could not be built".into(),
                ));
            }
            errors.sort();
            Err(errors)
        }
    }
}
