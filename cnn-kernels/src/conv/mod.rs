//! Convolution by GEMM on `f32` slices in NCHW layout: [`forward`] and [`backward`] pick, per
//! geometry, Winograd's F(2x2, 3x3) and F(2x2, 5x5) (module `winograd`, stride-1 3x3 and 5x5
//! convolutions of 8 channels or more on maps of 128 pixels or more), kernel rows (module
//! `rows`, for other feature maps of 128 pixels or more) or im2col (below), and run the input
//! gradient of a stride-1 convolution as a forward convolution (`transposed`).
//!
//! im2col: a task takes a group of images (rayon across groups, a single-threaded GEMM inside), their
//! patches side by side, so that every GEMM is wide: `[filters, patch] x [patch, columns]`
//! forward, `[patch, filters] x [filters, columns]` for the input gradient and
//! `[filters, columns] x [columns, patch]` for the weight gradient, with `columns` = images x
//! output pixels, about 1,000. burn-flex 0.22 computes the weight gradient as a convolution
//! whose "kernel" is the whole output gradient, a GEMM with as few columns as the kernel has
//! taps (9 for 3x3), which runs at a third of the speed.

use gemm::Parallelism;
use rayon::prelude::*;

mod rows;
mod winograd;

/// GEMM columns a task aims for: below a few hundred, packing the weights costs as much as
/// multiplying them.
const COLUMNS: usize = 1024;

/// Most patch values a group holds (4 MiB): larger groups spill the patches out of cache
/// between im2col and the GEMM, which costs more than the wider GEMM saves.
const PATCH_VALUES: usize = 1 << 20;

/// Sizes of one 2-D convolution: input `[batch, channels, height, width]`, weights
/// `[filters, channels, kernel[0], kernel[1]]`, output `[batch, filters, out[0], out[1]]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Geometry {
    pub batch: usize,
    pub channels: usize,
    pub height: usize,
    pub width: usize,
    pub filters: usize,
    pub kernel: [usize; 2],
    pub stride: [usize; 2],
    /// Zero rows above and columns left of the input; those below and right follow from `out`.
    pub pad: [usize; 2],
    pub out: [usize; 2],
}

impl Geometry {
    /// Elements of one image.
    pub fn image_len(&self) -> usize {
        self.channels * self.height * self.width
    }

    /// Rows of the im2col matrix: channels x kernel taps.
    pub fn patch_len(&self) -> usize {
        self.channels * self.kernel[0] * self.kernel[1]
    }

    /// Output pixels of one feature map.
    pub fn pixels(&self) -> usize {
        self.out[0] * self.out[1]
    }

    /// Elements of one image's output.
    pub fn output_len(&self) -> usize {
        self.filters * self.pixels()
    }

    /// Parallel over groups unless there are fewer images than threads; then the GEMM itself
    /// takes the threads.
    pub(super) fn gemm_threads(&self) -> Parallelism {
        if self.batch >= rayon::current_num_threads() {
            Parallelism::None
        } else {
            Parallelism::Rayon(0)
        }
    }

    /// Images per task: enough for about `COLUMNS` GEMM columns, but a group per thread
    /// and patches that stay in cache (`PATCH_VALUES`).
    pub fn group(&self) -> usize {
        let wanted = COLUMNS.div_ceil(self.pixels().max(1));
        let per_thread = self.batch.div_ceil(rayon::current_num_threads());
        let in_cache = PATCH_VALUES / (self.patch_len() * self.pixels()).max(1);
        wanted.min(per_thread).min(in_cache).max(1)
    }

    /// The valid output columns `[lo, hi)` for kernel column `j` (stride 1): those reading
    /// inside the row.
    pub(super) fn valid_columns(&self, j: usize) -> (usize, usize) {
        let [_, pl] = self.pad;
        let ow = self.out[1];
        let lo = pl.saturating_sub(j).min(ow);
        let hi = (self.width + pl).saturating_sub(j).min(ow).max(lo);
        (lo, hi)
    }

    /// The input row read by output row `oy` at kernel row `i`, if inside the image.
    fn input_row(&self, oy: usize, i: usize) -> Option<usize> {
        (oy * self.stride[0] + i)
            .checked_sub(self.pad[0])
            .filter(|&y| y < self.height)
    }

    /// The input column read by output column `ox` at kernel column `j`, if inside the image.
    pub(super) fn input_column(&self, ox: usize, j: usize) -> Option<usize> {
        (ox * self.stride[1] + j)
            .checked_sub(self.pad[1])
            .filter(|&x| x < self.width)
    }
}

/// Writes the patches of one image into `cols`: row `r` of its `[patch_len, pixels]` patch
/// matrix at `cols[r * row_stride..][..pixels]`.
pub fn im2col(g: &Geometry, image: &[f32], cols: &mut [f32], row_stride: usize) {
    let [kh, kw] = g.kernel;
    let [oh, ow] = g.out;
    let plane = g.height * g.width;
    for row in 0..g.patch_len() {
        let dst = &mut cols[row * row_stride..][..oh * ow];
        let (c, i, j) = (row / (kh * kw), row / kw % kh, row % kw);
        let channel = &image[c * plane..][..plane];
        for (oy, out) in dst.chunks_exact_mut(ow).enumerate() {
            let Some(y) = g.input_row(oy, i) else {
                out.fill(0.0);
                continue;
            };
            let src = &channel[y * g.width..][..g.width];
            if g.stride[1] == 1 {
                let (lo, hi) = g.valid_columns(j);
                let start = lo + j - g.pad[1];
                out[..lo].fill(0.0);
                out[lo..hi].copy_from_slice(&src[start..start + hi - lo]);
                out[hi..].fill(0.0);
            } else {
                for (ox, v) in out.iter_mut().enumerate() {
                    *v = g.input_column(ox, j).map_or(0.0, |x| src[x]);
                }
            }
        }
    }
}

/// Adds the patch gradients in `cols` (laid out as [`im2col`] writes them) back onto the
/// image gradient `image`: the adjoint of [`im2col`].
pub fn col2im(g: &Geometry, cols: &[f32], row_stride: usize, image: &mut [f32]) {
    let [kh, kw] = g.kernel;
    let [oh, ow] = g.out;
    let plane = g.height * g.width;
    for row in 0..g.patch_len() {
        let src = &cols[row * row_stride..][..oh * ow];
        let (c, i, j) = (row / (kh * kw), row / kw % kh, row % kw);
        let channel = &mut image[c * plane..][..plane];
        for (oy, cols_row) in src.chunks_exact(ow).enumerate() {
            let Some(y) = g.input_row(oy, i) else {
                continue;
            };
            let dst = &mut channel[y * g.width..][..g.width];
            if g.stride[1] == 1 {
                let (lo, hi) = g.valid_columns(j);
                let start = lo + j - g.pad[1];
                for (d, s) in dst[start..start + hi - lo]
                    .iter_mut()
                    .zip(&cols_row[lo..hi])
                {
                    *d += s;
                }
            } else {
                for (ox, s) in cols_row.iter().enumerate() {
                    if let Some(x) = g.input_column(ox, j) {
                        dst[x] += s;
                    }
                }
            }
        }
    }
}

/// A row-major matrix view for [`matmul`]: `data[row * row_stride + col * col_stride]`.
pub(super) struct View<'a> {
    pub data: &'a [f32],
    pub row_stride: usize,
    pub col_stride: usize,
}

impl<'a> View<'a> {
    pub fn rows(data: &'a [f32], cols: usize) -> Self {
        View {
            data,
            row_stride: cols,
            col_stride: 1,
        }
    }

    /// The transpose of a row-major `[rows, cols]` matrix stored in `data`.
    pub fn transposed(data: &'a [f32], cols: usize) -> Self {
        View {
            data,
            row_stride: 1,
            col_stride: cols,
        }
    }
}

/// `dst[m, n] (+)= lhs[m, k] x rhs[k, n]`, `dst[r, c]` at `dst[r * row + c * col]` for
/// `dst_strides` `[row, col]`; accumulates when `accumulate`.
pub(super) fn matmul(
    dst: &mut [f32],
    [dst_row, dst_col]: [usize; 2],
    [m, n, k]: [usize; 3],
    lhs: View,
    rhs: View,
    accumulate: bool,
    threads: Parallelism,
) {
    assert!(dst.len() >= max_index([m, n], [dst_row, dst_col]));
    assert!(lhs.data.len() >= max_index([m, k], [lhs.row_stride, lhs.col_stride]));
    assert!(rhs.data.len() >= max_index([k, n], [rhs.row_stride, rhs.col_stride]));
    // SAFETY: the asserts above keep every index the strides reach inside the slices.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            dst_col as isize,
            dst_row as isize,
            accumulate,
            lhs.data.as_ptr(),
            lhs.col_stride as isize,
            lhs.row_stride as isize,
            rhs.data.as_ptr(),
            rhs.col_stride as isize,
            rhs.row_stride as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            threads,
        )
    }
}

/// One past the largest index a `[rows, cols]` matrix with `[row, col]` strides reaches (0
/// when empty).
fn max_index([rows, cols]: [usize; 2], [row, col]: [usize; 2]) -> usize {
    if rows == 0 || cols == 0 {
        0
    } else {
        (rows - 1) * row + (cols - 1) * col + 1
    }
}

/// The convolution of `x` (`[batch, channels, height, width]`) with `weight`, plus `bias`, by
/// Winograd's algorithms for 3x3 and 5x5 stride-1 convolutions (module `winograd`) where they
/// suit `g`, else by kernel rows (module `rows`) where that suits `g`, else by im2col.
pub fn forward(g: &Geometry, x: &[f32], weight: &[f32], bias: Option<&[f32]>) -> Vec<f32> {
    if winograd::suits(g) {
        winograd::forward(g, x, weight, bias)
    } else if rows::suits(g) {
        rows::forward(g, x, weight, bias)
    } else {
        im2col_forward(g, x, weight, bias)
    }
}

/// [`forward`] by im2col.
fn im2col_forward(g: &Geometry, x: &[f32], weight: &[f32], bias: Option<&[f32]>) -> Vec<f32> {
    let (patch, group) = (g.patch_len(), g.group());
    let mut out = vec![0.0; g.batch * g.output_len()];
    let threads = g.gemm_threads();
    let buffers = || Buffers::new(g, group);
    let task = |b: &mut Buffers, (out, xs): (&mut [f32], &[f32])| {
        let width = b.patches(g, xs);
        // One image: straight into the output; several: through `b.rows`, then in place.
        let single = width == g.pixels();
        let y = if single {
            &mut *out
        } else {
            &mut b.rows[..g.filters * width]
        };
        if let Some(bias) = bias {
            for (row, v) in y.chunks_exact_mut(width).zip(bias) {
                row.fill(*v);
            }
        }
        let cols = View::rows(&b.cols, width);
        let dims = [g.filters, width, patch];
        matmul(
            y,
            [width, 1],
            dims,
            View::rows(weight, patch),
            cols,
            bias.is_some(),
            threads,
        );
        if !single {
            scatter(g, &b.rows, width, out);
        }
    };
    let chunks = out.par_chunks_mut(group * g.output_len());
    chunks
        .zip(x.par_chunks(group * g.image_len()))
        .for_each_init(buffers, task);
    out
}

/// One task's work space: the patches of its images side by side, and the output rows of its
/// images side by side.
struct Buffers {
    cols: Vec<f32>,
    rows: Vec<f32>,
}

impl Buffers {
    fn new(g: &Geometry, group: usize) -> Self {
        let columns = group * g.pixels();
        Buffers {
            cols: vec![0.0; g.patch_len() * columns],
            rows: vec![0.0; g.filters * columns],
        }
    }

    /// im2col of each image in `images` into `cols`, side by side; returns the columns used.
    fn patches(&mut self, g: &Geometry, images: &[f32]) -> usize {
        let width = images.len() / g.image_len() * g.pixels();
        for (i, image) in images.chunks_exact(g.image_len()).enumerate() {
            im2col(g, image, &mut self.cols[i * g.pixels()..], width);
        }
        width
    }

    /// The output gradients of `grad`'s images side by side in `rows`.
    fn gather(&mut self, g: &Geometry, grad: &[f32]) {
        let width = grad.len() / g.output_len() * g.pixels();
        for (i, image) in grad.chunks_exact(g.output_len()).enumerate() {
            for (f, src) in image.chunks_exact(g.pixels()).enumerate() {
                self.rows[f * width + i * g.pixels()..][..g.pixels()].copy_from_slice(src);
            }
        }
    }
}

/// Copies rows laid out `[filters, images x pixels]` to `out`, `[images, filters, pixels]`.
fn scatter(g: &Geometry, rows: &[f32], width: usize, out: &mut [f32]) {
    for (i, image) in out.chunks_exact_mut(g.output_len()).enumerate() {
        for (f, dst) in image.chunks_exact_mut(g.pixels()).enumerate() {
            dst.copy_from_slice(&rows[f * width + i * g.pixels()..][..g.pixels()]);
        }
    }
}

/// Which gradients [`backward`] computes.
#[derive(Clone, Copy, Debug)]
pub struct Wanted {
    pub x: bool,
    pub weight: bool,
    pub bias: bool,
}

/// Gradients of a convolution; `None` where not wanted.
#[derive(Debug, Default)]
pub struct Gradients {
    pub x: Option<Vec<f32>>,
    pub weight: Option<Vec<f32>>,
    pub bias: Option<Vec<f32>>,
}

/// One task's running sums of the weight and bias gradients, and its work space.
pub(super) struct Sums<W> {
    pub weight: Vec<f32>,
    pub bias: Vec<f32>,
    pub work: W,
}

impl<W> Sums<W> {
    fn new(g: &Geometry, wanted: Wanted, work: W) -> Self {
        let len = |on: bool, n: usize| if on { n } else { 0 };
        Sums {
            weight: vec![0.0; len(wanted.weight, g.filters * g.patch_len())],
            bias: vec![0.0; len(wanted.bias, g.filters)],
            work,
        }
    }

    fn merge(mut self, other: Self) -> Self {
        add(&mut self.weight, &other.weight);
        add(&mut self.bias, &other.bias);
        self
    }
}

/// Runs `task` over the batch `group` images at a time, in parallel. Each call gets its task's
/// sums (with work space from `work`), the index of its first image and its slice of the input
/// gradient when that is wanted. Returns the input gradient and the tasks' sums added up.
pub(super) fn by_groups<W: Send>(
    g: &Geometry,
    wanted: Wanted,
    group: usize,
    work: impl Fn() -> W + Sync + Send,
    task: impl Fn(&mut Sums<W>, usize, Option<&mut [f32]>) + Sync + Send,
) -> (Option<Vec<f32>>, Sums<W>) {
    let mut dx = wanted.x.then(|| vec![0.0; g.batch * g.image_len()]);
    let slices: Vec<Option<&mut [f32]>> = match dx.as_mut() {
        Some(dx) => dx.chunks_mut(group * g.image_len()).map(Some).collect(),
        None => (0..g.batch.div_ceil(group)).map(|_| None).collect(),
    };
    let new = || Sums::new(g, wanted, work());
    // A fixed run of groups per thread, their sums added up in order: a rayon fold would add
    // them in an order that depends on work stealing, and runs with one seed would drift apart.
    let mut tasks: Vec<_> = slices.into_iter().enumerate().collect();
    let per_thread = tasks.len().div_ceil(rayon::current_num_threads()).max(1);
    let partial: Vec<Sums<W>> = tasks
        .par_chunks_mut(per_thread)
        .map(|run| {
            let mut sums = new();
            for (k, dx) in run {
                task(&mut sums, *k * group, dx.take());
            }
            sums
        })
        .collect();
    let sums = partial.into_iter().reduce(Sums::merge).unwrap_or_else(new);
    (dx, sums)
}

/// Adds `other` into `sum`, value by value.
pub(super) fn add(sum: &mut [f32], other: &[f32]) {
    sum.iter_mut().zip(other).for_each(|(s, o)| *s += o);
}

/// The gradients of a convolution given the gradient `grad` of its output: the weight gradient
/// by Winograd's algorithms where they suit `g`; the rest by kernel rows where that suits `g`,
/// else by im2col; for stride 1 and maps large enough for kernel rows or Winograd's
/// algorithms, the input gradient as the forward convolution of `grad` that `transposed`
/// describes.
pub fn backward(
    g: &Geometry,
    x: &[f32],
    weight: &[f32],
    grad: &[f32],
    wanted: Wanted,
) -> Gradients {
    let as_forward = transposed(g).filter(|t| wanted.x && (rows::suits(t) || winograd::suits(t)));
    let by_winograd = wanted.weight && winograd::suits(g);
    let rest = Wanted {
        x: wanted.x && as_forward.is_none(),
        weight: wanted.weight && !by_winograd,
        ..wanted
    };
    let mut grads = if rows::suits(g) {
        rows::backward(g, x, weight, grad, rest)
    } else {
        im2col_backward(g, x, weight, grad, rest)
    };
    if let Some(t) = as_forward {
        grads.x = Some(forward(&t, grad, &rotated(g, weight), None));
    }
    if by_winograd {
        grads.weight = Some(winograd::weight_gradient(g, x, grad));
    }
    grads
}

/// For stride 1, the input gradient of `g` is a convolution of the output gradient with the
/// weights turned half a turn and their channel axes swapped ([`rotated`]), with the padding
/// each side becomes `kernel - 1 - padding`: this is its geometry. Running it forward keeps
/// the input gradient a GEMM as deep as the forward pass (`filters x kernel` deep rather than
/// `filters`) and adds nothing back patch by patch. `None` for other strides, or padding that
/// covers a whole kernel.
fn transposed(g: &Geometry) -> Option<Geometry> {
    let [kh, kw] = g.kernel;
    let after = |i: usize, size: usize| (g.out[i] + g.kernel[i]).checked_sub(1 + g.pad[i] + size);
    let fits = |pad: usize, k: usize| pad < k;
    let (bottom, right) = (after(0, g.height)?, after(1, g.width)?);
    let ok = g.stride == [1, 1] && fits(g.pad[0], kh) && fits(g.pad[1], kw);
    (ok && fits(bottom, kh) && fits(right, kw)).then(|| Geometry {
        batch: g.batch,
        channels: g.filters,
        height: g.out[0],
        width: g.out[1],
        filters: g.channels,
        kernel: g.kernel,
        stride: [1, 1],
        pad: [kh - 1 - g.pad[0], kw - 1 - g.pad[1]],
        out: [g.height, g.width],
    })
}

/// `weight` (`[filters, channels, kh, kw]`) as `[channels, filters, kh, kw]`, each kernel
/// turned half a turn: the weights of [`transposed`].
fn rotated(g: &Geometry, weight: &[f32]) -> Vec<f32> {
    let taps = g.kernel[0] * g.kernel[1];
    let mut out = vec![0.0; weight.len()];
    for (fc, kernel) in weight.chunks_exact(taps).enumerate() {
        let (f, c) = (fc / g.channels, fc % g.channels);
        let dst = &mut out[(c * g.filters + f) * taps..][..taps];
        dst.iter_mut()
            .zip(kernel.iter().rev())
            .for_each(|(d, w)| *d = *w);
    }
    out
}

/// [`backward`] by im2col.
fn im2col_backward(
    g: &Geometry,
    x: &[f32],
    weight: &[f32],
    grad: &[f32],
    wanted: Wanted,
) -> Gradients {
    let (threads, group) = (g.gemm_threads(), g.group());
    let work = || Buffers::new(g, group);
    let (dx, sums) = by_groups(g, wanted, group, work, |sums, first, dx| {
        let n = group.min(g.batch - first);
        let images = &x[first * g.image_len()..][..n * g.image_len()];
        let grad = &grad[first * g.output_len()..][..n * g.output_len()];
        group_backward(g, images, weight, grad, sums, dx, threads);
    });
    Gradients {
        x: dx,
        weight: wanted.weight.then_some(sums.weight),
        bias: wanted.bias.then_some(sums.bias),
    }
}

/// One group's share: weight and bias gradients into `sums`, its input gradients into `dx`.
fn group_backward(
    g: &Geometry,
    images: &[f32],
    weight: &[f32],
    grad: &[f32],
    sums: &mut Sums<Buffers>,
    dx: Option<&mut [f32]>,
    threads: Parallelism,
) {
    let patch = g.patch_len();
    let b = &mut sums.work;
    // One image's output gradient is already `[filters, pixels]`; several are gathered.
    let width = grad.len() / g.output_len() * g.pixels();
    let rows = if width == g.pixels() {
        grad
    } else {
        b.gather(g, grad);
        &b.rows[..g.filters * width]
    };
    if !sums.bias.is_empty() {
        for (s, row) in sums.bias.iter_mut().zip(rows.chunks_exact(width)) {
            *s += row.iter().sum::<f32>();
        }
    }
    if !sums.weight.is_empty() {
        for (i, image) in images.chunks_exact(g.image_len()).enumerate() {
            im2col(g, image, &mut b.cols[i * g.pixels()..], width);
        }
        let (lhs, rhs) = (View::rows(rows, width), View::transposed(&b.cols, width));
        matmul(
            &mut sums.weight,
            [patch, 1],
            [g.filters, patch, width],
            lhs,
            rhs,
            true,
            threads,
        );
    }
    if let Some(dx) = dx {
        let (lhs, rhs) = (View::transposed(weight, patch), View::rows(rows, width));
        matmul(
            &mut b.cols,
            [width, 1],
            [patch, width, g.filters],
            lhs,
            rhs,
            false,
            threads,
        );
        for (i, dx) in dx.chunks_exact_mut(g.image_len()).enumerate() {
            col2im(g, &b.cols[i * g.pixels()..], width, dx);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The definition, one multiply-add at a time.
    fn naive(g: &Geometry, x: &[f32], w: &[f32], bias: &[f32]) -> Vec<f32> {
        let [kh, kw] = g.kernel;
        let [oh, ow] = g.out;
        let mut out = vec![0.0; g.batch * g.output_len()];
        for b in 0..g.batch {
            for f in 0..g.filters {
                for oy in 0..oh {
                    for ox in 0..ow {
                        let mut sum = bias[f];
                        for c in 0..g.channels {
                            for i in 0..kh {
                                for j in 0..kw {
                                    let (Some(y), Some(xx)) =
                                        (g.input_row(oy, i), g.input_column(ox, j))
                                    else {
                                        continue;
                                    };
                                    let xv =
                                        x[((b * g.channels + c) * g.height + y) * g.width + xx];
                                    sum += xv * w[((f * g.channels + c) * kh + i) * kw + j];
                                }
                            }
                        }
                        out[((b * g.filters + f) * oh + oy) * ow + ox] = sum;
                    }
                }
            }
        }
        out
    }

    fn values(n: usize, seed: u32) -> Vec<f32> {
        let mut state = seed.wrapping_mul(2_654_435_761).max(1);
        (0..n)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                (state % 2001) as f32 / 1000.0 - 1.0
            })
            .collect()
    }

    fn geometries() -> Vec<Geometry> {
        let g = |batch, channels, size: [usize; 2], filters, kernel, stride, pad, out| Geometry {
            batch,
            channels,
            height: size[0],
            width: size[1],
            filters,
            kernel,
            stride,
            pad,
            out,
        };
        vec![
            g(3, 2, [7, 6], 4, [3, 3], [1, 1], [1, 1], [7, 6]),
            g(2, 3, [6, 6], 5, [4, 2], [2, 1], [1, 0], [3, 6]), // SAME with even kernels
            g(2, 2, [8, 7], 3, [3, 3], [3, 2], [0, 1], [3, 4]),
            g(1, 1, [5, 5], 2, [5, 5], [1, 1], [0, 0], [1, 1]), // valid
            g(4, 3, [5, 5], 2, [1, 1], [1, 1], [0, 0], [5, 5]),
            g(2, 3, [6, 7], 2, [3, 2], [1, 2], [1, 0], [6, 4]), // strided across only
            g(2, 2, [6, 6], 3, [5, 5], [1, 1], [2, 2], [6, 6]), // the seed's conv4, smaller
            g(2, 3, [5, 4], 2, [3, 3], [1, 1], [0, 0], [3, 2]), // valid, odd blocks
            g(3, 2, [5, 5], 4, [3, 3], [1, 1], [1, 1], [5, 5]), // the seed's conv5, smaller
        ]
    }

    fn close(a: &[f32], b: &[f32]) {
        assert_eq!(a.len(), b.len());
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            assert!(
                (x - y).abs() <= 1e-4 * (1.0 + y.abs()),
                "at {i}: {x} vs {y}"
            );
        }
    }

    type Forward = fn(&Geometry, &[f32], &[f32], Option<&[f32]>) -> Vec<f32>;
    type Backward = fn(&Geometry, &[f32], &[f32], &[f32], Wanted) -> Gradients;

    /// Both algorithms, each on the geometries it takes (kernel rows: stride 1 down), and the
    /// choice between them (with the input gradient run forward where the stride is 1).
    fn algorithms() -> Vec<(Forward, Backward, Geometry)> {
        let mut all = Vec::new();
        for g in geometries() {
            all.push((forward as Forward, backward as Backward, g));
            all.push((im2col_forward as Forward, im2col_backward as Backward, g));
            if g.stride[0] == 1 {
                all.push((rows::forward as Forward, rows::backward as Backward, g));
            }
            if winograd::takes(&g) {
                all.push((
                    winograd::forward as Forward,
                    winograd_backward as Backward,
                    g,
                ));
            }
        }
        all
    }

    /// [`backward`], with the weight gradient by Winograd's algorithms.
    fn winograd_backward(
        g: &Geometry,
        x: &[f32],
        w: &[f32],
        grad: &[f32],
        wanted: Wanted,
    ) -> Gradients {
        let rest = Wanted {
            weight: false,
            ..wanted
        };
        let weight = wanted.weight.then(|| winograd::weight_gradient(g, x, grad));
        Gradients {
            weight,
            ..backward(g, x, w, grad, rest)
        }
    }

    /// A `k`x`k` stride-1 convolution padded by `k / 2` (SAME), `[channels, height, width]`
    /// to `filters`.
    fn same(
        k: usize,
        batch: usize,
        [channels, height, width]: [usize; 3],
        filters: usize,
    ) -> Geometry {
        Geometry {
            batch,
            channels,
            height,
            width,
            filters,
            kernel: [k, k],
            stride: [1, 1],
            pad: [k / 2, k / 2],
            out: [height, width],
        }
    }

    /// `forward` on `g` against the definition, with a bias.
    fn assert_defined(forward: Forward, g: &Geometry, seed: u32) {
        let x = values(g.batch * g.image_len(), seed);
        let w = values(g.filters * g.patch_len(), seed + 1);
        let bias = values(g.filters, seed + 2);
        close(&forward(g, &x, &w, Some(&bias)), &naive(g, &x, &w, &bias));
    }

    /// Where Winograd's algorithms suit a geometry (the geometries above are too small), its
    /// forward pass matches the definition, and so do the gradients [`backward`] takes through
    /// them: the input gradient, run forward, and the weight gradient.
    #[test]
    fn winograd_where_it_suits_matches_the_definition() {
        for k in [3, 5] {
            let g = same(k, 2, [8, 12, 11], 9);
            let t = transposed(&g).unwrap();
            assert!(winograd::suits(&g) && winograd::suits(&t), "{k}x{k}");
            assert_defined(forward, &g, 13);
            let (x, w) = (
                values(g.batch * g.image_len(), 14),
                values(g.filters * g.patch_len(), 15),
            );
            let grad = values(g.batch * g.output_len(), 16);
            let all = Wanted {
                x: true,
                weight: true,
                bias: true,
            };
            let (got, im2col) = (
                backward(&g, &x, &w, &grad, all),
                im2col_backward(&g, &x, &w, &grad, all),
            );
            // im2col's gradients are checked against the definition above.
            close(got.x.as_deref().unwrap(), im2col.x.as_deref().unwrap());
            close(
                got.weight.as_deref().unwrap(),
                im2col.weight.as_deref().unwrap(),
            );
            close(
                got.bias.as_deref().unwrap(),
                im2col.bias.as_deref().unwrap(),
            );
        }
        assert!(!winograd::suits(&same(3, 3, [7, 12, 11], 8)));
        assert!(!winograd::suits(&same(5, 3, [8, 11, 11], 8)));
    }

    /// Wide maps: many runs of lanes across, the last block cut.
    #[test]
    fn winograd_takes_maps_of_any_width() {
        for k in [3, 5] {
            let g = same(k, 1, [2, 3, 301], 2);
            assert!(winograd::takes(&g));
            assert_defined(winograd::forward, &g, 16);
        }
    }

    #[test]
    fn forward_matches_the_definition() {
        for (forward, _, g) in algorithms() {
            let x = values(g.batch * g.image_len(), 1);
            let w = values(g.filters * g.patch_len(), 2);
            let bias = values(g.filters, 3);
            close(&forward(&g, &x, &w, Some(&bias)), &naive(&g, &x, &w, &bias));
            let zero = vec![0.0; g.filters];
            close(&forward(&g, &x, &w, None), &naive(&g, &x, &w, &zero));
        }
    }

    /// Each gradient is the derivative of `sum(out * grad)`, checked entry by entry through
    /// the linearity of the convolution.
    #[test]
    fn gradients_are_derivatives_of_the_forward() {
        for (_, backward, g) in algorithms() {
            let x = values(g.batch * g.image_len(), 4);
            let w = values(g.filters * g.patch_len(), 5);
            let grad = values(g.batch * g.output_len(), 6);
            let all = Wanted {
                x: true,
                weight: true,
                bias: true,
            };
            let got = backward(&g, &x, &w, &grad, all);
            let zero = vec![0.0; g.filters];
            let dot = |out: Vec<f32>| out.iter().zip(&grad).map(|(o, d)| o * d).sum::<f32>();
            let unit = |n, i| (0..n).map(|k| f32::from(k == i)).collect::<Vec<_>>();
            let dx: Vec<f32> = (0..x.len())
                .map(|i| dot(naive(&g, &unit(x.len(), i), &w, &zero)))
                .collect();
            let dw: Vec<f32> = (0..w.len())
                .map(|i| dot(naive(&g, &x, &unit(w.len(), i), &zero)))
                .collect();
            let db: Vec<f32> = (0..g.filters)
                .map(|f| dot(naive(&g, &x, &vec![0.0; w.len()], &unit(g.filters, f))))
                .collect();
            close(got.x.as_deref().unwrap(), &dx);
            close(got.weight.as_deref().unwrap(), &dw);
            close(got.bias.as_deref().unwrap(), &db);
        }
    }

    #[test]
    fn only_the_wanted_gradients_are_computed() {
        let wanted = |x, weight, bias| Wanted { x, weight, bias };
        for (_, backward, g) in algorithms() {
            let x = values(g.batch * g.image_len(), 7);
            let w = values(g.filters * g.patch_len(), 8);
            let grad = values(g.batch * g.output_len(), 9);
            let all = backward(&g, &x, &w, &grad, wanted(true, true, true));
            let weight = backward(&g, &x, &w, &grad, wanted(false, true, false));
            assert!(weight.x.is_none() && weight.bias.is_none());
            close(
                weight.weight.as_deref().unwrap(),
                all.weight.as_deref().unwrap(),
            );
            let input = backward(&g, &x, &w, &grad, wanted(true, false, false));
            assert!(input.weight.is_none() && input.bias.is_none());
            close(input.x.as_deref().unwrap(), all.x.as_deref().unwrap());
        }
    }

    /// With the same inputs and number of threads, bit-identical weight and bias gradients
    /// however rayon's threads steal the work (with a fold they differed in the last bits now
    /// and then, and training runs with one seed drifted apart).
    #[test]
    fn gradients_do_not_depend_on_thread_timing() {
        let small = Geometry {
            batch: 24,
            ..geometries()[0]
        };
        // One that Winograd's algorithm suits, with more groups than threads.
        let large = same(3, 24, [8, 12, 11], 9);
        for g in [small, large] {
            same_gradients_however_threads_steal(&g);
        }
    }

    fn same_gradients_however_threads_steal(g: &Geometry) {
        let x = values(g.batch * g.image_len(), 10);
        let w = values(g.filters * g.patch_len(), 11);
        let grad = values(g.batch * g.output_len(), 12);
        let all = Wanted {
            x: true,
            weight: true,
            bias: true,
        };
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(4)
            .build()
            .unwrap();
        for backward in [backward as Backward, im2col_backward, rows::backward] {
            let first = pool.install(|| backward(g, &x, &w, &grad, all));
            // Several at once on the same threads, so that each one's tasks get stolen
            // differently.
            let runs: Vec<Gradients> = pool.install(|| {
                (0..32)
                    .into_par_iter()
                    .map(|_| backward(g, &x, &w, &grad, all))
                    .collect()
            });
            for again in runs {
                assert_eq!(again.weight, first.weight);
                assert_eq!(again.bias, first.bias);
            }
        }
    }
}
