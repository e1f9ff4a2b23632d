//! The typed architecture: layers and their settings, as written in the file.

use serde::{Deserialize, Serialize};
use std::fmt;

use crate::diagnostic::Position;

/// The largest size a file may give: a dimension, a count of filters, units or classes, a
/// kernel, stride or padding.
pub const MAX_SIZE: usize = 1 << 31;
/// The most values one layer's output (or the input) may hold per example.
pub const MAX_VALUES: u128 = 1 << 40;
/// The most parameters one layer, and the whole network, may have.
pub const MAX_PARAMS: u128 = 1 << 40;
/// The most multiply-adds per example one layer may take.
pub const MAX_MACS: u128 = 1 << 50;

/// An architecture file: optional name, input shape and class count, and the layers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArchFile {
    pub name: Option<String>,
    /// `[channels, height, width]`.
    pub input: Option<[usize; 3]>,
    pub classes: Option<usize>,
    pub layers: Vec<LayerSpec>,
    /// Where the layer list (or the whole file) starts, for "empty" and "missing" messages.
    #[serde(skip)]
    pub pos: Option<Position>,
    /// True when reading stopped at a broken layer: `layers` holds the ones before it.
    #[serde(skip)]
    pub truncated: bool,
}

/// One listed layer and where it is in the file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerSpec {
    pub layer: Layer,
    #[serde(skip)]
    pub pos: Option<Position>,
}

/// A listed layer. The output layer to the classes is implicit unless the list ends with `T`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum Layer {
    #[serde(rename = "C")]
    Conv(Conv),
    #[serde(rename = "P")]
    Pool(Pool),
    #[serde(rename = "FC")]
    Dense(Dense),
    #[serde(rename = "DO")]
    DropOut(DropOut),
    #[serde(rename = "T")]
    Terminal(Terminal),
}

/// `C`: a 2-D convolution, then batch norm (optional), activation and dropout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Conv {
    pub num_output: usize,
    pub kernel_size: [usize; 2],
    pub stride: [usize; 2],
    pub padding: Padding,
    pub activation: Activation,
    /// Percent, 0 <= p < 100.
    pub drop_out: f64,
    pub batch_norm: bool,
}

/// `P`: max or average pooling, then dropout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pool {
    pub pool: PoolKind,
    pub kernel_size: [usize; 2],
    pub stride: [usize; 2],
    pub padding: Padding,
    pub drop_out: f64,
}

/// `FC`: a fully connected layer, then batch norm (optional), activation and dropout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dense {
    pub num_output: usize,
    pub activation: Activation,
    pub drop_out: f64,
    pub batch_norm: bool,
}

/// `DO`: dropout as a layer of its own, in training only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DropOut {
    /// Percent, 0 <= p < 100.
    pub drop_out: f64,
}

/// `T`: the output layer to the classes, written out; it must come last. Its activation,
/// `softmax` or none, names the loss's softmax: the network returns logits either way, trained
/// with softmax cross-entropy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Terminal {
    pub softmax: bool,
}

/// How a window is padded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Padding {
    /// TensorFlow's `SAME`: output = ceil(input / stride), the extra pixel at the end.
    Same,
    /// No padding: output = floor((input - kernel) / stride) + 1.
    Valid,
    /// `[height, width]` zeros on each side.
    Explicit([usize; 2]),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PoolKind {
    Max,
    Avg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    Relu,
    /// Negative slope 0.2, as `tf.nn.leaky_relu`.
    LeakyRelu,
    Elu,
    Gelu,
    Tanh,
    Sigmoid,
    None,
}

impl Activation {
    pub const NAMES: [&'static str; 7] = [
        "relu",
        "leaky_relu",
        "elu",
        "gelu",
        "tanh",
        "sigmoid",
        "none",
    ];
    pub const ALL: [Activation; 7] = [
        Activation::Relu,
        Activation::LeakyRelu,
        Activation::Elu,
        Activation::Gelu,
        Activation::Tanh,
        Activation::Sigmoid,
        Activation::None,
    ];
    /// The slope of `leaky_relu` for negative inputs (TensorFlow's default).
    pub const LEAKY_RELU_SLOPE: f64 = 0.2;

    pub fn name(self) -> &'static str {
        Self::NAMES[Self::ALL.iter().position(|a| *a == self).unwrap_or(0)]
    }

    pub fn from_name(name: &str) -> Option<Self> {
        let index = Self::NAMES.iter().position(|n| *n == name)?;
        Some(Self::ALL[index])
    }
}

impl Pool {
    /// Whether an average counts padded zeros: TensorFlow's `SAME` average ignores them;
    /// explicit padding counts them, as PyTorch does.
    pub fn counts_padding(&self) -> bool {
        matches!(self.padding, Padding::Explicit(_))
    }
}

impl PoolKind {
    pub fn name(self) -> &'static str {
        match self {
            PoolKind::Max => "max",
            PoolKind::Avg => "avg",
        }
    }
}

impl Layer {
    /// `C`, `P`, `FC`, `DO` or `T`, as in the file.
    pub fn type_name(&self) -> &'static str {
        match self {
            Layer::Conv(_) => "C",
            Layer::Pool(_) => "P",
            Layer::Dense(_) => "FC",
            Layer::DropOut(_) => "DO",
            Layer::Terminal(_) => "T",
        }
    }

    /// The dropout after the layer, in percent. A `DO` layer is a dropout itself, with none
    /// after it.
    pub fn drop_out(&self) -> f64 {
        match self {
            Layer::Conv(c) => c.drop_out,
            Layer::Pool(p) => p.drop_out,
            Layer::Dense(d) => d.drop_out,
            Layer::DropOut(_) | Layer::Terminal(_) => 0.0,
        }
    }

    /// The activation after the layer (none for `P`, `DO` and `T`).
    pub fn activation(&self) -> Activation {
        match self {
            Layer::Conv(c) => c.activation,
            Layer::Dense(d) => d.activation,
            Layer::Pool(_) | Layer::DropOut(_) | Layer::Terminal(_) => Activation::None,
        }
    }

    /// Whether batch norm follows the layer.
    pub fn batch_norm(&self) -> bool {
        match self {
            Layer::Conv(c) => c.batch_norm,
            Layer::Dense(d) => d.batch_norm,
            _ => false,
        }
    }
}

fn window(f: &mut fmt::Formatter<'_>, kernel: [usize; 2], stride: [usize; 2]) -> fmt::Result {
    write!(f, "{}x{}/", kernel[0], kernel[1])?;
    if stride[0] == stride[1] {
        write!(f, "{}", stride[0])
    } else {
        write!(f, "{}x{}", stride[0], stride[1])
    }
}

/// A short description: `C relu 64 3x3/1`, `P max 5x5/3`, `FC relu 256`.
impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Layer::Conv(c) => {
                write!(f, "C {} {} ", c.activation.name(), c.num_output)?;
                window(f, c.kernel_size, c.stride)
            }
            Layer::Pool(p) => {
                write!(f, "P {} ", p.pool.name())?;
                window(f, p.kernel_size, p.stride)
            }
            Layer::Dense(d) => write!(f, "FC {} {}", d.activation.name(), d.num_output),
            Layer::DropOut(d) => write!(f, "DO {}%", d.drop_out),
            Layer::Terminal(t) if t.softmax => f.write_str("T softmax"),
            Layer::Terminal(_) => f.write_str("T"),
        }
    }
}

impl fmt::Display for Padding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Padding::Same => f.write_str("same"),
            Padding::Valid => f.write_str("valid"),
            Padding::Explicit([h, w]) if h == w => write!(f, "{h}"),
            Padding::Explicit([h, w]) => write!(f, "{h}x{w}"),
        }
    }
}
