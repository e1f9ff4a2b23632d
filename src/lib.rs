//! # cnn
//!
//! CNN architectures written as JSON (or pasted Python `ARCH = [...]` lists), checked at
//! compile time and turned into statically typed [burn](https://burn.dev) modules.
//!
//! ```no_run
//! cnn::cnn_from_json!("examples/arch/seed.arch", name = MnistNet, input = [1, 28, 28], classes = 10);
//!
//! let device = cnn::runtime::Backend::Flex.device().unwrap();
//! let net = MnistNet::new(&device);
//! println!("{}", MnistNet::summary());
//! let images = cnn::burn::tensor::Tensor::<4>::zeros([2, 1, 28, 28], &device);
//! let logits = net.forward(images); // [2, 10]
//! assert_eq!(logits.dims(), [2, 10]);
//! ```
//!
//! The macro takes the file's path relative to the calling crate's `Cargo.toml`, then
//! optionally `name = Ident`, `input = [channels, height, width]` and `classes = n`, which
//! override the file's `name`, `input` and `classes`. Every problem in the file is a compile
//! error naming the file, line, column and layer.
//!
//! The generated struct has one public field per layer (`conv1: Conv2d`, `pool1: MaxPool2d`,
//! `fc1: Linear`, ..., `output: Linear`, plus `conv2_dropout`, `conv1_bn` where asked for),
//! `new(&Device)`, `forward(Tensor<4>) -> Tensor<2>` (logits), the constants `INPUT`,
//! `CLASSES` and `ARCH_JSON`, and `summary()`. It implements [`runtime::Network`].

pub use cnn_arch as arch;
pub use cnn_macros::cnn_from_json;
pub use cnn_runtime as runtime;
pub use cnn_runtime::burn;
