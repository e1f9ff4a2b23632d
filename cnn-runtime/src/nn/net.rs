//! A network built at run time from an architecture file, as a search builds thousands.
//!
//! [`Net`] holds the same burn layers as the struct `cnn_from_json!` generates from the same
//! file, initialised in the same order, run through the same kernels, and saved under the same
//! parameter names (`conv1.weight`, `fc1.bias`, `output.weight`, ...): weights pass between the
//! two kinds in both directions. Its `Module` implementation is written out rather than
//! derived, because a derived `Vec` of layers would name its parameters `layers.0.weight`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use burn::module::{Devices, Module, ModuleMapper, ModuleVisitor};
use burn::nn::PaddingConfig2d;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{AvgPool2d, AvgPool2dConfig, MaxPool2d, MaxPool2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Dropout, DropoutConfig, Linear, LinearConfig};
use burn::tensor::{Device, Tensor};
use cnn_arch::{Activation, Layer, Overrides, PlannedLayer, PoolKind};

use crate::Network;
use crate::nn::{conv, dense, dropout, init, pool};

/// Why a network could not be built from a file.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    #[error("cannot read architecture file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Every problem in the file, one per line, as the compiler reports them for
    /// `cnn_from_json!`: `file:line:column: layer N (...): message`.
    #[error("{}", .0.join("\n"))]
    Invalid(Vec<String>),
}

/// A CNN built at run time: the layers of a checked [`cnn_arch::Network`].
#[derive(Debug, Clone)]
pub struct Net {
    layers: Vec<NetLayer>,
    description: Arc<Description>,
}

/// What a [`Net`] is besides its weights, shared by its copies.
#[derive(Debug)]
struct Description {
    network: cnn_arch::Network,
    text: String,
    summary: String,
}

/// One listed layer (or the output layer) with what follows it.
#[derive(Debug, Clone)]
struct NetLayer {
    field: String,
    block: Block,
    batch_norm: Option<BatchNorm>,
    dropout: Option<Dropout>,
    activation: Activation,
}

#[derive(Debug, Clone)]
enum Block {
    Conv(Conv2d),
    MaxPool(MaxPool2d),
    AvgPool(AvgPool2d),
    Dense(Linear),
    DropOut(Dropout),
}

/// A batch between layers: images, or flat vectors after the first fully connected layer.
enum Batch {
    Image(Tensor<4>),
    Flat(Tensor<2>),
}

impl Net {
    /// A freshly initialised network for `network` (what [`cnn_arch::check`] returns), with
    /// the same layers, initialised in the same order, as the struct `cnn_from_json!`
    /// generates: on a device seeded alike, the same weights.
    pub fn new(network: &cnn_arch::Network, device: &Device) -> Self {
        let text = network.to_json();
        Self::with_text(network, text, device)
    }

    /// The network in the architecture file at `path` (JSON or a Python `ARCH = [...]` list),
    /// with `overrides` for its name, input shape and classes, checked by the rules
    /// `cnn_from_json!` applies.
    pub fn from_file(
        path: impl AsRef<Path>,
        overrides: &Overrides,
        device: &Device,
    ) -> Result<Self, NetError> {
        let (network, text) = check_file(path, overrides)?;
        Ok(Self::with_text(&network, text, device))
    }

    fn with_text(network: &cnn_arch::Network, text: String, device: &Device) -> Self {
        let description = Description {
            network: network.clone(),
            summary: network.summary(),
            text,
        };
        Net {
            layers: layers(network, device),
            description: Arc::new(description),
        }
    }

    /// A freshly initialised network of the same architecture on `device`, sharing this one's
    /// description: what a trainer's `init` builds for a network read from a file once.
    pub fn fresh(&self, device: &Device) -> Self {
        Net {
            layers: layers(&self.description.network, device),
            description: Arc::clone(&self.description),
        }
    }

    /// The checked architecture this network was built from.
    pub fn architecture(&self) -> &cnn_arch::Network {
        &self.description.network
    }

    /// Logits `[batch, classes]` for images `[batch, C, H, W]`. Dropout is active only on an
    /// autodiff device in training mode.
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        let network = &self.description.network;
        crate::network::check_input(&network.name, network.input, images.dims());
        let logits = self
            .layers
            .iter()
            .fold(Batch::Image(images), |x, layer| layer.forward(x));
        logits.flat()
    }

    /// Applies `f` to each layer, keeping the description.
    fn map_layers(self, f: impl FnMut(NetLayer) -> NetLayer) -> Self {
        Net {
            layers: self.layers.into_iter().map(f).collect(),
            description: self.description,
        }
    }
}

/// The checked architecture in the file at `path`, and the file's text; every problem in it
/// as the compiler reports them for `cnn_from_json!`.
pub fn check_file(
    path: impl AsRef<Path>,
    overrides: &Overrides,
) -> Result<(cnn_arch::Network, String), NetError> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|source| NetError::Read {
        path: path.to_owned(),
        source,
    })?;
    let shown = path.display().to_string();
    let text = cnn_arch::decode(&bytes).map_err(|d| NetError::Invalid(vec![d.render(&shown)]))?;
    let network = cnn_arch::check(text, overrides).map_err(|diagnostics| {
        NetError::Invalid(diagnostics.0.iter().map(|d| d.render(&shown)).collect())
    })?;
    Ok((network, text.to_owned()))
}

/// `network`'s layers, freshly initialised on `device`.
fn layers(network: &cnn_arch::Network, device: &Device) -> Vec<NetLayer> {
    network
        .layers
        .iter()
        .map(|l| NetLayer::new(l, device))
        .collect()
}

impl NetLayer {
    /// The layer's modules, initialised in the order of the generated struct's fields.
    fn new(layer: &PlannedLayer, device: &Device) -> Self {
        let [top, left, bottom, right] = layer.pads;
        let padding = PaddingConfig2d::Explicit(top, left, bottom, right);
        let block = match &layer.layer {
            Layer::Conv(c) => {
                let config =
                    Conv2dConfig::new([layer.input_channels(), c.num_output], c.kernel_size)
                        .with_stride(c.stride)
                        .with_padding(padding);
                Block::Conv(init::conv2d(config, device))
            }
            Layer::Pool(p) if p.pool == PoolKind::Max => Block::MaxPool(
                MaxPool2dConfig::new(p.kernel_size)
                    .with_strides(p.stride)
                    .with_padding(padding)
                    .init(),
            ),
            Layer::Pool(p) => Block::AvgPool(
                AvgPool2dConfig::new(p.kernel_size)
                    .with_strides(p.stride)
                    .with_padding(padding)
                    .with_count_include_pad(p.counts_padding())
                    .init(),
            ),
            Layer::Dense(_) | Layer::Terminal(_) => {
                let config = LinearConfig::new(layer.input.len(), layer.output.len());
                Block::Dense(init::linear(config, device))
            }
            Layer::DropOut(d) => Block::DropOut(DropoutConfig::new(d.drop_out / 100.0).init()),
        };
        let batch_norm = layer
            .layer
            .batch_norm()
            .then(|| BatchNormConfig::new(layer.output.channels()).init(device));
        let rate = layer.layer.drop_out();
        NetLayer {
            field: layer.field.clone(),
            block,
            batch_norm,
            dropout: (rate > 0.0).then(|| DropoutConfig::new(rate / 100.0).init()),
            activation: layer.layer.activation(),
        }
    }

    fn forward(&self, x: Batch) -> Batch {
        let x = match (&self.block, x) {
            (Block::Conv(m), Batch::Image(x)) => Batch::Image(conv::forward(m, x)),
            (Block::MaxPool(m), Batch::Image(x)) => Batch::Image(pool::max_forward(m, x)),
            (Block::AvgPool(m), Batch::Image(x)) => Batch::Image(m.forward(x)),
            (Block::Dense(m), x) => Batch::Flat(dense::forward(m, x.flat())),
            (Block::DropOut(m), x) => x.map(|x| dropout::forward(m, x), |x| dropout::forward(m, x)),
            (_, Batch::Flat(_)) => unreachable!("checked: C and P layers come before any FC"),
        };
        let x = match &self.batch_norm {
            Some(bn) => x.map(|x| bn.forward(x), |x| bn.forward(x)),
            None => x,
        };
        let x = x.map(
            |x| activate(self.activation, x),
            |x| activate(self.activation, x),
        );
        match &self.dropout {
            Some(d) => x.map(|x| dropout::forward(d, x), |x| dropout::forward(d, x)),
            None => x,
        }
    }
}

impl Batch {
    fn flat(self) -> Tensor<2> {
        match self {
            Batch::Image(x) => x.flatten(1, 3),
            Batch::Flat(x) => x,
        }
    }

    fn map(
        self,
        image: impl FnOnce(Tensor<4>) -> Tensor<4>,
        flat: impl FnOnce(Tensor<2>) -> Tensor<2>,
    ) -> Self {
        match self {
            Batch::Image(x) => Batch::Image(image(x)),
            Batch::Flat(x) => Batch::Flat(flat(x)),
        }
    }
}

/// The activation after a layer, as the generated `forward` applies it.
fn activate<const D: usize>(activation: Activation, x: Tensor<D>) -> Tensor<D> {
    use burn::tensor::activation as f;
    match activation {
        Activation::Relu => f::relu(x),
        Activation::LeakyRelu => f::leaky_relu(x, Activation::LEAKY_RELU_SLOPE),
        Activation::Elu => f::elu(x, 1.0),
        Activation::Gelu => f::gelu(x),
        Activation::Tanh => f::tanh(x),
        Activation::Sigmoid => f::sigmoid(x),
        Activation::None => x,
    }
}

impl Network for Net {
    fn name(&self) -> &str {
        &self.description.network.name
    }

    fn input(&self) -> [usize; 3] {
        self.description.network.input
    }

    fn classes(&self) -> usize {
        self.description.network.classes
    }

    fn arch_text(&self) -> &str {
        &self.description.text
    }

    fn summary(&self) -> &str {
        &self.description.summary
    }

    fn logits(&self, images: Tensor<4>) -> Tensor<2> {
        self.forward(images)
    }
}

/// Applies `$e` to every module of a layer (`$m` names it): the block, its batch norm and its
/// dropout, giving the layer back.
macro_rules! each_module {
    ($layer:expr, $m:ident => $e:expr) => {{
        let layer = $layer;
        NetLayer {
            block: match layer.block {
                Block::Conv($m) => Block::Conv($e),
                Block::MaxPool($m) => Block::MaxPool($e),
                Block::AvgPool($m) => Block::AvgPool($e),
                Block::Dense($m) => Block::Dense($e),
                Block::DropOut($m) => Block::DropOut($e),
            },
            batch_norm: layer.batch_norm.map(|$m| $e),
            dropout: layer.dropout.map(|$m| $e),
            ..layer
        }
    }};
}

/// Runs `$e` on the module of a block, by reference.
macro_rules! on_block {
    ($block:expr, $m:ident => $e:expr) => {
        match $block {
            Block::Conv($m) => $e,
            Block::MaxPool($m) => $e,
            Block::AvgPool($m) => $e,
            Block::Dense($m) => $e,
            Block::DropOut($m) => $e,
        }
    };
}

const CONTAINER: &str = "Struct:Net";

/// The field names a layer's modules have in the generated struct.
fn names(field: &str) -> [String; 3] {
    [
        field.to_owned(),
        format!("{field}_bn"),
        format!("{field}_dropout"),
    ]
}

impl Module for Net {
    fn collect_devices(&self, mut devices: Devices) -> Devices {
        for layer in &self.layers {
            devices = on_block!(&layer.block, m => m.collect_devices(devices));
            if let Some(bn) = &layer.batch_norm {
                devices = bn.collect_devices(devices);
            }
            if let Some(dropout) = &layer.dropout {
                devices = dropout.collect_devices(devices);
            }
        }
        devices
    }

    fn fork(self, device: &Device) -> Self {
        self.map_layers(|layer| each_module!(layer, m => m.fork(device)))
    }

    fn to_device(self, device: &Device) -> Self {
        self.map_layers(|layer| each_module!(layer, m => m.to_device(device)))
    }

    fn train(self) -> Self {
        self.map_layers(|layer| each_module!(layer, m => m.train()))
    }

    fn valid(&self) -> Self {
        self.clone()
            .map_layers(|layer| each_module!(layer, m => m.valid()))
    }

    fn materialize(self) -> Self {
        self.map_layers(|layer| each_module!(layer, m => m.materialize()))
    }

    fn visit<V: ModuleVisitor>(&self, visitor: &mut V) {
        for layer in &self.layers {
            let [block, bn, dropout] = names(&layer.field);
            let mut within = |name: &str, visit: &dyn Fn(&mut V)| {
                visitor.enter_module(name, CONTAINER);
                visit(visitor);
                visitor.exit_module(name, CONTAINER);
            };
            within(&block, &|v| on_block!(&layer.block, m => m.visit(v)));
            if let Some(module) = &layer.batch_norm {
                within(&bn, &|v| module.visit(v));
            }
            if let Some(module) = &layer.dropout {
                within(&dropout, &|v| module.visit(v));
            }
        }
    }

    fn map<M: ModuleMapper>(self, mapper: &mut M) -> Self {
        self.map_layers(|layer| {
            let [block, bn, dropout] = names(&layer.field);
            NetLayer {
                block: within(mapper, &block, |mapper| map_block(layer.block, mapper)),
                batch_norm: layer
                    .batch_norm
                    .map(|m| within(mapper, &bn, |mapper| m.map(mapper))),
                dropout: layer
                    .dropout
                    .map(|m| within(mapper, &dropout, |mapper| m.map(mapper))),
                ..layer
            }
        })
    }
}

/// `f` run inside the module `name`, as a derived struct runs its fields.
fn within<M: ModuleMapper, T>(mapper: &mut M, name: &str, f: impl FnOnce(&mut M) -> T) -> T {
    mapper.enter_module(name, CONTAINER);
    let mapped = f(mapper);
    mapper.exit_module(name, CONTAINER);
    mapped
}

/// The block mapped by `mapper`.
fn map_block<M: ModuleMapper>(block: Block, mapper: &mut M) -> Block {
    match block {
        Block::Conv(m) => Block::Conv(m.map(mapper)),
        Block::MaxPool(m) => Block::MaxPool(m.map(mapper)),
        Block::AvgPool(m) => Block::AvgPool(m.map(mapper)),
        Block::Dense(m) => Block::Dense(m.map(mapper)),
        Block::DropOut(m) => Block::DropOut(m.map(mapper)),
    }
}
