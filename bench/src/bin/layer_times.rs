//! Per-layer times of the seed network's training step, batch 64: for each convolution and
//! fully connected layer the forward pass, the input gradient and the weight gradient; for
//! pooling the forward pass and the input gradient; for dropout the forward pass; and one Adam
//! step over the whole network. Each is timed to completion (the result read back), median of
//! `--reps` runs, in milliseconds. Convolutions, fully connected layers (and, on flex, dropouts)
//! are timed both as burn runs them and as `cnn::runtime` does (what generated networks call),
//! convolutions with the largest differences between the two in the output and the input and
//! weight gradients.
//! `bench/layer_times_torch.py` prints PyTorch's rows.
//!
//! `cargo run --release -p cnn-bench --bin layer_times [-- --backend vulkan] [--after-conv]
//! [--conv-dtype f16]`

use std::time::Instant;

use clap::Parser;
use cnn::arch::{Layer, Overrides, PlannedLayer, PoolKind, Shape};
use cnn::burn::module::Module;
use cnn::burn::nn::conv::{Conv2d, Conv2dConfig};
use cnn::burn::nn::pool::{AvgPool2dConfig, MaxPool2dConfig};
use cnn::burn::nn::{DropoutConfig, Linear, LinearConfig, PaddingConfig2d};
use cnn::burn::optim::GradientsParams;
use cnn::burn::tensor::{DType, Device, Distribution, Int, Tensor, TensorData};
use cnn::runtime::nn::loss::cross_entropy;
use cnn::runtime::nn::{conv, dense, dropout, init, pool};
use cnn::runtime::train::optim;
use cnn::runtime::{Backend, Network};

use cnn_bench::SeedNet;

#[derive(Parser, Debug)]
struct Args {
    #[arg(long, default_value_t = 64)]
    batch_size: usize,
    #[arg(long, default_value_t = 7)]
    reps: usize,
    #[arg(long, default_value = "flex")]
    backend: Backend,
    /// Also time each convolution's forward pass on an input that is itself a convolution's
    /// output (a 1x1 one, its time subtracted), as inside a network: on the GPU, burn leaves
    /// a convolution's output in channels-last memory.
    #[arg(long)]
    after_conv: bool,
    /// Element type of the convolution rows (each input is cast to it inside the timed
    /// forward pass): whether half precision reaches the GPU's tensor cores.
    #[arg(long, value_enum, default_value_t = ConvDType::F32)]
    conv_dtype: ConvDType,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum ConvDType {
    F32,
    F16,
    Bf16,
}

impl From<ConvDType> for DType {
    fn from(dtype: ConvDType) -> Self {
        match dtype {
            ConvDType::F32 => DType::F32,
            ConvDType::F16 => DType::F16,
            ConvDType::Bf16 => DType::BF16,
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    cnn::runtime::backend::kernel_compilation::skip_library_backtraces();
    let args = Args::parse();
    let overrides = Overrides {
        input: Some(SeedNet::INPUT),
        classes: Some(SeedNet::CLASSES),
        ..Default::default()
    };
    let network = cnn::arch::check(SeedNet::ARCH_JSON, &overrides)?;
    let device = args.backend.device()?.autodiff();
    // Our convolution runs on every backend; our dropout on flex only.
    let ours = args.backend == Backend::Flex;
    let theirs = if ours { "burn-flex" } else { "burn" };
    let second = "cnn::runtime fwd/dx/dw";
    println!(
        "{:<7} {:<28} {:>22} {:>24}",
        "layer",
        "operation",
        format!("{theirs} fwd/dx/dw ms"),
        second
    );
    for layer in &network.layers {
        let shape = batch_shape(layer.input, args.batch_size);
        match &layer.layer {
            Layer::Conv(_) => conv_row(layer, shape, &args, &device),
            Layer::Pool(_) => pool_row(layer, shape, &args, &device),
            Layer::Dense(_) | Layer::Terminal(_) => linear_row(layer, shape, &args, &device),
            Layer::DropOut(d) => dropout_row(layer, d.drop_out, &args, &device, ours),
        }
        if layer.layer.drop_out() > 0.0 {
            dropout_row(layer, layer.layer.drop_out(), &args, &device, ours);
        }
    }
    adam_row(&args, &device);
    Ok(())
}

fn conv_row(layer: &PlannedLayer, shape: [usize; 4], args: &Args, device: &Device) {
    let Layer::Conv(c) = &layer.layer else { return };
    let [top, left, bottom, right] = layer.pads;
    let config = Conv2dConfig::new([layer.input_channels(), c.num_output], c.kernel_size)
        .with_stride(c.stride)
        .with_padding(PaddingConfig2d::Explicit(top, left, bottom, right));
    let dtype = DType::from(args.conv_dtype);
    let module = cast(init::conv2d(config, device), dtype);
    let weight = |m: &Conv2d, y: Tensor<4>| m.weight.val().grad(&y.sum().backward());
    let theirs = |m: &Conv2d, x: Tensor<4>| m.forward(x.cast(dtype));
    let ours = |m: &Conv2d, x: Tensor<4>| conv::forward(m, x.cast(dtype));
    let burn = three_times(&module, shape, args.reps, device, theirs, weight);
    let what = format!(
        "conv {}->{} k{} @{}",
        shape[1], c.num_output, c.kernel_size[0], shape[2]
    );
    let fast = three_times(&module, shape, args.reps, device, ours, weight);
    let [y, dx, dw] = conv_diffs(&module, shape, dtype, device);
    let mut row = format!(
        "{:<7} {what:<28} {:>22} {:>24}  max |diff| {y:.1e} / {dx:.1e} / {dw:.1e}",
        layer.field,
        ms(burn),
        ms(fast)
    );
    if args.after_conv {
        row += &format!(
            "  after a conv: fwd {:.1}",
            after_conv_ms(&module, shape, args, device)
        );
    }
    println!("{row}");
}

/// `module` with its parameters cast to `dtype`.
fn cast(mut module: Conv2d, dtype: DType) -> Conv2d {
    // A cast is not a leaf: detached and tracked again, the parameters keep their gradients.
    let leaf = |t: Tensor<4>| t.cast(dtype).detach().require_grad();
    module.weight = module.weight.map(leaf);
    module.bias = module
        .bias
        .map(|b| b.map(|b| b.cast(dtype).detach().require_grad()));
    module
}

/// Milliseconds of `module`'s forward pass on the output of a 1x1 convolution, less that
/// convolution's own time.
fn after_conv_ms(module: &Conv2d, shape: [usize; 4], args: &Args, device: &Device) -> f64 {
    let channels = shape[1];
    let dtype = DType::from(args.conv_dtype);
    let config = Conv2dConfig::new([channels, channels], [1, 1]);
    let before = cast(init::conv2d(config, device), dtype);
    let both = forward_ms(shape, args.reps, device, |x| {
        module.forward(before.forward(x.cast(dtype)))
    });
    both - forward_ms(shape, args.reps, device, |x| before.forward(x.cast(dtype)))
}

fn linear_row(layer: &PlannedLayer, shape: [usize; 4], args: &Args, device: &Device) {
    let inputs = shape[1] * shape[2] * shape[3];
    let module = init::linear(LinearConfig::new(inputs, layer.output.len()), device);
    let flat = [shape[0], inputs, 1, 1];
    let theirs = |m: &Linear, x: Tensor<4>| m.forward(x.flatten::<2>(1, 3)).unsqueeze::<4>();
    let ours = |m: &Linear, x: Tensor<4>| dense::forward(m, x.flatten::<2>(1, 3)).unsqueeze::<4>();
    let weight = |m: &Linear, y: Tensor<4>| {
        let grad = m.weight.val().grad(&y.sum().backward());
        grad.map(|g| g.unsqueeze::<4>())
    };
    let burn = three_times(&module, flat, args.reps, device, theirs, weight);
    let fast = three_times(&module, flat, args.reps, device, ours, weight);
    let what = format!("linear {inputs}->{}", layer.output.len());
    println!(
        "{:<7} {what:<28} {:>22} {:>24}",
        layer.field,
        ms(burn),
        ms(fast)
    );
}

fn pool_row(layer: &PlannedLayer, shape: [usize; 4], args: &Args, device: &Device) {
    let Layer::Pool(p) = &layer.layer else { return };
    let [top, left, bottom, right] = layer.pads;
    let padding = PaddingConfig2d::Explicit(top, left, bottom, right);
    let (k, s) = (p.kernel_size, p.stride);
    let max = MaxPool2dConfig::new(k)
        .with_strides(s)
        .with_padding(padding.clone())
        .init();
    let avg = AvgPool2dConfig::new(k)
        .with_strides(s)
        .with_padding(padding)
        .init();
    let burn = pool_times(shape, args.reps, device, |x| match p.pool {
        PoolKind::Max => max.forward(x),
        PoolKind::Avg => avg.forward(x),
    });
    let what = format!("{:?} pool k{} s{} @{}", p.pool, k[0], s[0], shape[2]).to_lowercase();
    let mut row = format!("{:<7} {what:<28} {:>22}", layer.field, pool_ms(burn));
    if p.pool == PoolKind::Max {
        let fast = pool_times(shape, args.reps, device, |x| pool::max_forward(&max, x));
        let diff = max_diff(shape, device, |x| {
            max.forward(x.clone()) - pool::max_forward(&max, x)
        });
        row += &format!(" {:>24}  max |diff| {diff:.1e}", pool_ms(fast));
    }
    println!("{row}");
}

/// Forward and input-gradient milliseconds of a pooling.
fn pool_times(
    shape: [usize; 4],
    reps: usize,
    device: &Device,
    forward: impl Fn(Tensor<4>) -> Tensor<4>,
) -> [f64; 2] {
    let fwd = forward_ms(shape, reps, device, &forward);
    let dx = input_grad_ms(shape, reps, device, &forward);
    [fwd, dx]
}

fn pool_ms([fwd, dx]: [f64; 2]) -> String {
    format!("{fwd:.1} / {dx:.1} / -")
}

/// Forward, input-gradient and weight-gradient milliseconds of `forward` on `module`
/// (`weight_grad` runs the backward pass from an output); the input gradient is skipped for a
/// first layer, whose input needs none.
fn three_times<M: Module + Clone>(
    module: &M,
    shape: [usize; 4],
    reps: usize,
    device: &Device,
    forward: impl Fn(&M, Tensor<4>) -> Tensor<4>,
    weight_grad: impl Fn(&M, Tensor<4>) -> Option<Tensor<4>>,
) -> [f64; 3] {
    let fwd = forward_ms(shape, reps, device, |x| forward(module, x));
    let dx = if shape[1] > 1 {
        let frozen = module.clone().no_grad();
        input_grad_ms(shape, reps, device, |x| forward(&frozen, x))
    } else {
        f64::NAN
    };
    let dw = median(reps, || {
        let y = forward(module, input(shape, device));
        sync(y.clone());
        timed(|| sync(weight_grad(module, y).expect("weight gradient")))
    });
    [fwd, dx, dw]
}

/// The largest absolute value of `difference` (burn's result less ours) on a random input.
fn max_diff(
    shape: [usize; 4],
    device: &Device,
    difference: impl Fn(Tensor<4>) -> Tensor<4>,
) -> f32 {
    difference(input(shape, device)).abs().max().into_scalar()
}

/// The largest absolute differences between burn's convolution and ours in the output, the
/// input gradient and the weight gradient, for a random input and upstream gradient.
fn conv_diffs(module: &Conv2d, shape: [usize; 4], dtype: DType, device: &Device) -> [f32; 3] {
    let x = input(shape, device).cast(dtype).require_grad();
    let (theirs, ours) = (module.forward(x.clone()), conv::forward(module, x.clone()));
    let upstream = Tensor::<4>::random(theirs.dims(), Distribution::Default, device).cast(dtype);
    let grads = |y: Tensor<4>| (y * upstream.clone()).sum().backward();
    let (g_theirs, g_ours) = (grads(theirs.clone()), grads(ours.clone()));
    let diff =
        |a: Tensor<4>, b: Tensor<4>| (a - b).abs().max().cast(DType::F32).into_scalar::<f32>();
    let grad_diff = |param: &Tensor<4>| match (param.grad(&g_theirs), param.grad(&g_ours)) {
        (Some(a), Some(b)) => diff(a, b),
        _ => f32::NAN,
    };
    [
        diff(theirs, ours),
        grad_diff(&x),
        grad_diff(&module.weight.val()),
    ]
}

/// A random input, already computed, so that timing it is not timing its generation.
fn input(shape: [usize; 4], device: &Device) -> Tensor<4> {
    let x = Tensor::<4>::random(shape, Distribution::Uniform(0.0, 1.0), device);
    sync(x.clone());
    x
}

/// Median milliseconds of `forward` on a fresh input.
fn forward_ms(
    shape: [usize; 4],
    reps: usize,
    device: &Device,
    forward: impl Fn(Tensor<4>) -> Tensor<4>,
) -> f64 {
    median(reps, || {
        let x = input(shape, device);
        timed(|| sync(forward(x)))
    })
}

/// Median milliseconds of the backward pass from `forward`'s output to its input.
fn input_grad_ms(
    shape: [usize; 4],
    reps: usize,
    device: &Device,
    forward: impl Fn(Tensor<4>) -> Tensor<4>,
) -> f64 {
    median(reps, || {
        let x = input(shape, device).require_grad();
        let y = forward(x.clone());
        sync(y.clone());
        timed(|| sync(x.grad(&y.sum().backward()).expect("input gradient")))
    })
}

/// A dropout of `percent` on `layer`'s output.
fn dropout_row(layer: &PlannedLayer, percent: f64, args: &Args, device: &Device, ours: bool) {
    let module = DropoutConfig::new(percent / 100.0).init();
    let shape = batch_shape(layer.output, args.batch_size);
    let time = |f: &dyn Fn(Tensor<4>) -> Tensor<4>| forward_ms(shape, args.reps, device, f);
    let burn = time(&|x| module.forward(x));
    let what = format!("dropout {:.3} of {:?}", module.prob, &shape[1..]);
    let mut row = format!("{:<7} {what:<28} {burn:>22.1}", layer.field);
    if ours {
        row += &format!(" {:>24.1}", time(&|x| dropout::forward(&module, x)));
    }
    println!("{row}");
}

/// One Adam step (L2 1e-3) over the whole network, gradients given.
fn adam_row(args: &Args, device: &Device) {
    let mut model = Some(SeedNet::new(device));
    let mut optimizer = optim::adam(1e-8, Some(1e-3));
    let [c, h, w] = SeedNet::INPUT;
    let images = Tensor::random(
        [args.batch_size, c, h, w],
        Distribution::Uniform(0.0, 1.0),
        device,
    );
    let labels: Vec<i64> = (0..args.batch_size as i64).map(|i| i % 10).collect();
    let targets = Tensor::<1, Int>::from_data(TensorData::new(labels, [args.batch_size]), device);
    let step = median(args.reps, || {
        let stepped = model.take().expect("the model between steps");
        let loss = cross_entropy(stepped.logits(images.clone()), targets.clone());
        let grads = GradientsParams::from_grads(loss.backward(), &stepped);
        // The gradients must be computed before the clock starts: on GPUs the backward pass
        // is still queued here.
        device.sync().expect("device sync");
        let started = Instant::now();
        model = Some(optimizer.step(1e-3, stepped, grads));
        device.sync().expect("device sync");
        started.elapsed().as_secs_f64() * 1e3
    });
    println!(
        "{:<7} {:<28} {step:>22.1}",
        "all", "Adam step, 3,157,002 params"
    );
}

fn batch_shape(shape: Shape, batch: usize) -> [usize; 4] {
    match shape {
        Shape::Image([c, h, w]) => [batch, c, h, w],
        Shape::Flat(n) => [batch, n, 1, 1],
    }
}

/// Waits for `t`: reads back its sum (one value, so the transfer costs nothing). The bytes
/// must be touched: on GPUs `into_data` returns before the device has computed them.
fn sync<const D: usize>(t: Tensor<D>) {
    let sum = t.sum().into_data();
    std::hint::black_box(sum.as_bytes());
}

fn timed(f: impl FnOnce()) -> f64 {
    let started = Instant::now();
    f();
    started.elapsed().as_secs_f64() * 1e3
}

fn median(reps: usize, mut f: impl FnMut() -> f64) -> f64 {
    let mut times: Vec<f64> = (0..reps.max(1)).map(|_| f()).collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

fn ms([fwd, dx, dw]: [f64; 3]) -> String {
    format!("{fwd:.1} / {dx:.1} / {dw:.1}")
}
