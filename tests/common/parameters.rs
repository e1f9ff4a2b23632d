//! A module's parameters as plain values, to compare two networks bit for bit.

use cnn::burn::module::{Module, ModuleVisitor, Param};
use cnn::burn::tensor::Tensor;

/// Every parameter's name and values, in module order.
pub fn parameters(module: &impl Module) -> Vec<(String, Vec<f32>)> {
    #[derive(Default)]
    struct Values(Vec<String>, Vec<(String, Vec<f32>)>);
    impl ModuleVisitor for Values {
        fn enter_module(&mut self, name: &str, _: &str) {
            self.0.push(name.to_owned());
        }
        fn exit_module(&mut self, _: &str, _: &str) {
            self.0.pop();
        }
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let values = param.val().into_data().try_to_vec::<f32>().unwrap();
            self.1.push((self.0.join("."), values));
        }
    }
    let mut values = Values::default();
    module.visit(&mut values);
    assert!(!values.1.is_empty());
    values.1
}
