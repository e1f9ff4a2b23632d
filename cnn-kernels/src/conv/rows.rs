//! Convolution by kernel rows, for feature maps of 128 pixels or more (the seed network's weight
//! gradients, and conv1; `winograd` takes the other passes of conv2 to conv4): im2col copies each input value `kh x kw` times (5 MB per image
//! for the seed's 5x5 kernel over 256 channels, more than the L2 the GEMM packs from); this
//! copies it `kw` times and lets each kernel row `i` read its patches as a strided view of that
//! copy, one GEMM per kernel row.
//!
//! One image at a time (rayon across images, a single-threaded GEMM inside): with `kw` x
//! channels rows, each GEMM is deep enough on its own. Needs stride 1 down the image.

use rayon::prelude::*;

use super::{Geometry, Gradients, Sums, View, Wanted, by_groups, matmul};

/// Whether this path suits `g`: stride 1 down the image, and at least 128 output pixels, so
/// that one image's GEMMs are wide enough; smaller maps keep im2col, which puts several images
/// side by side (`bench/src/bin/layer_times.rs`: faster for every convolution of the seed network
/// at 14x14 and 28x28, slower for its 5x5 one).
pub fn suits(g: &Geometry) -> bool {
    g.stride[0] == 1 && g.pixels() >= 128
}

/// The padded input rows one image needs: output rows plus the kernel's height less one.
fn padded_rows(g: &Geometry) -> usize {
    g.out[0] + g.kernel[0] - 1
}

/// Rows of the widened matrix: channels x kernel columns.
fn wide_rows(g: &Geometry) -> usize {
    g.channels * g.kernel[1]
}

/// Columns of the widened matrix: padded rows x output columns.
fn wide_columns(g: &Geometry) -> usize {
    padded_rows(g) * g.out[1]
}

/// Writes one image widened by kernel column into `wide`: row `(c, j)`, column
/// `(yp, ox)` holds `x[c, yp - pad_top, ox * stride + j - pad_left]`. Only positions inside the
/// image are written; the others must hold zero already (they are the same for every image).
fn widen(g: &Geometry, image: &[f32], wide: &mut [f32]) {
    let ow = g.out[1];
    let plane = g.height * g.width;
    for (row, dst) in wide.chunks_exact_mut(wide_columns(g)).enumerate() {
        let (c, j) = (row / g.kernel[1], row % g.kernel[1]);
        let channel = &image[c * plane..][..plane];
        for (y, src) in channel.chunks_exact(g.width).enumerate() {
            let out = &mut dst[(y + g.pad[0]) * ow..][..ow];
            if g.stride[1] == 1 {
                let (lo, hi) = g.valid_columns(j);
                let start = lo + j - g.pad[1];
                out[lo..hi].copy_from_slice(&src[start..start + hi - lo]);
            } else {
                for (ox, v) in out.iter_mut().enumerate() {
                    if let Some(x) = g.input_column(ox, j) {
                        *v = src[x];
                    }
                }
            }
        }
    }
}

/// Adds the widened gradient `wide` back onto the image gradient `image`: the adjoint of
/// [`widen`].
fn narrow(g: &Geometry, wide: &[f32], image: &mut [f32]) {
    let ow = g.out[1];
    let plane = g.height * g.width;
    for (row, src) in wide.chunks_exact(wide_columns(g)).enumerate() {
        let (c, j) = (row / g.kernel[1], row % g.kernel[1]);
        let channel = &mut image[c * plane..][..plane];
        for (y, dst) in channel.chunks_exact_mut(g.width).enumerate() {
            let cols = &src[(y + g.pad[0]) * ow..][..ow];
            if g.stride[1] == 1 {
                let (lo, hi) = g.valid_columns(j);
                let start = lo + j - g.pad[1];
                let dst = &mut dst[start..start + hi - lo];
                dst.iter_mut().zip(&cols[lo..hi]).for_each(|(d, s)| *d += s);
            } else {
                for (ox, s) in cols.iter().enumerate() {
                    if let Some(x) = g.input_column(ox, j) {
                        dst[x] += s;
                    }
                }
            }
        }
    }
}

/// The weights `[filters, channels, kh, kw]` regrouped by kernel row: `[kh, channels, kw,
/// filters]`, so that each row's `[channels x kw, filters]` matrix is contiguous, filters
/// fastest (the GEMM runs fastest with the filters as its vector dimension).
fn by_kernel_row(g: &Geometry, weight: &[f32]) -> Vec<f32> {
    let [kh, kw] = g.kernel;
    let mut out = vec![0.0; weight.len()];
    for (fc, taps) in weight.chunks_exact(kh * kw).enumerate() {
        let (f, c) = (fc / g.channels, fc % g.channels);
        for (t, w) in taps.iter().enumerate() {
            let (i, j) = (t / kw, t % kw);
            out[((i * g.channels + c) * kw + j) * g.filters + f] = *w;
        }
    }
    out
}

/// The inverse of [`by_kernel_row`].
fn from_kernel_row(g: &Geometry, rows: &[f32]) -> Vec<f32> {
    let [kh, kw] = g.kernel;
    let mut out = vec![0.0; rows.len()];
    for (fc, taps) in out.chunks_exact_mut(kh * kw).enumerate() {
        let (f, c) = (fc / g.channels, fc % g.channels);
        for (t, w) in taps.iter_mut().enumerate() {
            let (i, j) = (t / kw, t % kw);
            *w = rows[((i * g.channels + c) * kw + j) * g.filters + f];
        }
    }
    out
}

/// Kernel row `i`'s patches in `wide`: `[channels x kw, pixels]`, a view starting `i` padded
/// rows down.
fn patches<'a>(g: &Geometry, wide: &'a [f32], i: usize) -> View<'a> {
    View {
        data: &wide[i * g.out[1]..],
        row_stride: wide_columns(g),
        col_stride: 1,
    }
}

/// The convolution of `x` with `weight`, plus `bias`; as [`super::forward`].
pub fn forward(g: &Geometry, x: &[f32], weight: &[f32], bias: Option<&[f32]>) -> Vec<f32> {
    let rows = by_kernel_row(g, weight);
    let (k, pixels, filters) = (wide_rows(g), g.pixels(), g.filters);
    let threads = g.gemm_threads();
    let mut out = vec![0.0; g.batch * g.output_len()];
    // Each image's output is computed pixel-major (`[pixels, filters]`, the GEMM's fastest
    // layout), then transposed into place with the bias.
    let task = |(wide, by_pixel): &mut (Vec<f32>, Vec<f32>), (y, image): (&mut [f32], &[f32])| {
        widen(g, image, wide);
        for (i, w) in rows.chunks_exact(k * filters).enumerate() {
            let (lhs, rhs) = (View::transposed(w, filters), patches(g, wide, i));
            matmul(
                by_pixel,
                [1, filters],
                [filters, pixels, k],
                lhs,
                rhs,
                i > 0,
                threads,
            );
        }
        transpose_into(by_pixel, filters, bias, y);
    };
    let buffers = || (vec![0.0; k * wide_columns(g)], vec![0.0; pixels * filters]);
    let images = x.par_chunks(g.image_len());
    out.par_chunks_mut(g.output_len())
        .zip(images)
        .for_each_init(buffers, task);
    out
}

/// Writes `by_pixel` (`[pixels, filters]`) into `y` (`[filters, pixels]`), plus `bias`, a
/// block of pixels at a time: the block's rows of `by_pixel` stay in L1 while every filter
/// reads from them, where a plain column walk took a cache miss per value.
fn transpose_into(by_pixel: &[f32], filters: usize, bias: Option<&[f32]>, y: &mut [f32]) {
    const BLOCK: usize = 16;
    let pixels = y.len() / filters;
    for p0 in (0..pixels).step_by(BLOCK) {
        let block = &by_pixel[p0 * filters..][..BLOCK.min(pixels - p0) * filters];
        for (f, row) in y.chunks_exact_mut(pixels).enumerate() {
            let b = bias.map_or(0.0, |bias| bias[f]);
            let dst = &mut row[p0..][..block.len() / filters];
            for (d, src) in dst.iter_mut().zip(block.chunks_exact(filters)) {
                *d = src[f] + b;
            }
        }
    }
}

/// One task's widened input (for the weight gradient) and widened input gradient.
struct Wide {
    input: Vec<f32>,
    grad: Vec<f32>,
}

impl Wide {
    fn new(g: &Geometry, wanted: Wanted) -> Self {
        let len = |on: bool| {
            if on {
                wide_rows(g) * wide_columns(g)
            } else {
                0
            }
        };
        Wide {
            input: vec![0.0; len(wanted.weight)],
            grad: vec![0.0; len(wanted.x)],
        }
    }
}

/// The gradients of a convolution given the gradient `grad` of its output; as
/// [`super::backward`].
pub fn backward(
    g: &Geometry,
    x: &[f32],
    weight: &[f32],
    grad: &[f32],
    wanted: Wanted,
) -> Gradients {
    let rows = wanted.x.then(|| by_kernel_row(g, weight));
    let work = || Wide::new(g, wanted);
    let (dx, sums) = by_groups(g, wanted, 1, work, |sums, b, dx| {
        let image = &x[b * g.image_len()..][..g.image_len()];
        let grad = &grad[b * g.output_len()..][..g.output_len()];
        image_backward(g, image, rows.as_deref(), grad, sums, dx);
    });
    Gradients {
        x: dx,
        weight: wanted.weight.then(|| from_kernel_row(g, &sums.weight)),
        bias: wanted.bias.then_some(sums.bias),
    }
}

/// One image's share: weight and bias gradients into `sums`, its input gradient into `dx`
/// (which `rows`, the row-grouped weights, is given for).
fn image_backward(
    g: &Geometry,
    image: &[f32],
    rows: Option<&[f32]>,
    grad: &[f32],
    sums: &mut Sums<Wide>,
    dx: Option<&mut [f32]>,
) {
    let (k, pixels, threads) = (wide_rows(g), g.pixels(), g.gemm_threads());
    for (s, row) in sums.bias.iter_mut().zip(grad.chunks_exact(pixels)) {
        *s += row.iter().sum::<f32>();
    }
    if !sums.weight.is_empty() {
        widen(g, image, &mut sums.work.input);
        for (i, dw) in sums.weight.chunks_exact_mut(g.filters * k).enumerate() {
            let rhs = patches(g, &sums.work.input, i);
            let rhs = View {
                row_stride: rhs.col_stride,
                col_stride: rhs.row_stride,
                ..rhs
            };
            let lhs = View::rows(grad, pixels);
            let dst = [1, g.filters];
            matmul(dw, dst, [g.filters, k, pixels], lhs, rhs, true, threads);
        }
    }
    if let (Some(rows), Some(dx)) = (rows, dx) {
        // Kernel row 0 writes the first `pixels` columns of every widened row; the rest of
        // each row only ever receives sums, so it starts from zero.
        let wide = &mut sums.work.grad;
        for row in wide.chunks_exact_mut(wide_columns(g)) {
            row[pixels..].fill(0.0);
        }
        for (i, w) in rows.chunks_exact(g.filters * k).enumerate() {
            let (lhs, rhs) = (View::rows(w, g.filters), View::rows(grad, pixels));
            let dst = &mut wide[i * g.out[1]..];
            let dims = [k, pixels, g.filters];
            matmul(dst, [wide_columns(g), 1], dims, lhs, rhs, i > 0, threads);
        }
        narrow(g, wide, dx);
    }
}
