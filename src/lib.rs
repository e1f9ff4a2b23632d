pub use burn;
pub use cnn_arch as arch;
pub use cnn_macros::cnn_from_json;
pub use cnn_runtime as runtime;
