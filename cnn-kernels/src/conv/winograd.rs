//! Winograd's minimal filtering algorithms F(MxM, RxR) for stride-1 convolutions (Lavin and
//! Gray, 2015): each MxM block of output pixels from a TxT tile of input, T = M + R - 1, with
//! T^2 multiplications per channel where a direct convolution takes (MR)^2. The input and the
//! weights are transformed into T^2 matrices each, one GEMM per matrix (`[filters, channels] x
//! [channels, blocks]`) multiplies them, and the inverse transform turns the T^2 products into
//! output blocks. The GEMMs pace the seed's convolutions on the CPU, and these do fewer:
//! F(2x2, 3x3) 2.25x fewer than kernel rows or im2col, F(2x2, 5x5) 2.78x. The weight gradient
//! is the adjoint of the same computation ([`weight_gradient`]); the input gradient is a forward
//! convolution (`kernels::backward`).
//!
//! A group of images at a time (rayon across groups, a single-threaded GEMM inside), as im2col.
//! The transforms work on [`LANES`] blocks side by side, so that every step is one vector
//! operation.

use std::cell::RefCell;
use std::marker::PhantomData;
use std::ops::{Add, Deref, DerefMut, Mul, Sub};

use rayon::prelude::*;

use super::{Geometry, View, add, matmul};

/// Blocks a transform works on at once: one AVX2 register of `f32`. (16 left more than half of
/// them empty on the seed's 14x14 maps, 7 blocks across, and made its conv4 about 20% slower.)
const LANES: usize = 8;

/// GEMM columns (blocks of output pixels) a group aims for: few, so that a group's T^2
/// transformed matrices stay near the core (for the seed's conv4, two images: 3.6 MB of
/// transformed input; at eight, the transforms took as long as the GEMMs).
const COLUMNS: usize = 96;

/// Whether one of these algorithms computes `g`: a 3x3 or 5x5 convolution of stride 1, padded
/// by less than a kernel.
pub fn takes(g: &Geometry) -> bool {
    match g.kernel {
        [3, 3] => F2x3::takes(g),
        [5, 5] => F2x5::takes(g),
        _ => false,
    }
}

/// Whether it is the faster choice for `g`: where the transforms cost less than the
/// multiplications they save: 8 channels or more (the seed's first layer has one) and maps of
/// 128 pixels or more (measured on a 2-core Zen 4: the seed's conv2, conv3 and conv4, forward,
/// as input gradients and for their weight gradients; not conv5's 5x5 maps).
pub fn suits(g: &Geometry) -> bool {
    takes(g) && g.channels >= 8 && g.pixels() >= 128
}

/// The convolution of `x` with `weight`, plus `bias`; as [`super::forward`], for the
/// geometries it [`takes`].
pub fn forward(g: &Geometry, x: &[f32], weight: &[f32], bias: Option<&[f32]>) -> Vec<f32> {
    match g.kernel {
        [3, 3] => F2x3::forward(g, x, weight, bias),
        [5, 5] => F2x5::forward(g, x, weight, bias),
        _ => unreachable!("winograd::forward on a geometry it does not take: {g:?}"),
    }
}

/// The gradient of the convolution's weights given the gradient `grad` of its output, for the
/// geometries it [`takes`]: the adjoint of [`forward`], `G^T (sum over blocks of (A dY A^T)
/// (B^T d B)^T) G`, one GEMM per transformed position as deep as the batch has blocks.
pub fn weight_gradient(g: &Geometry, x: &[f32], grad: &[f32]) -> Vec<f32> {
    match g.kernel {
        [3, 3] => F2x3::weight_gradient(g, x, grad),
        [5, 5] => F2x5::weight_gradient(g, x, grad),
        _ => unreachable!("winograd::weight_gradient on a geometry it does not take: {g:?}"),
    }
}

thread_local! {
    /// Buffers [`Scratch`] keeps for the thread's next convolution.
    static POOL: RefCell<Vec<Vec<f32>>> = const { RefCell::new(Vec::new()) };
}

/// Work space of at least the length asked for, with no values promised, kept by the thread
/// from one convolution to the next: a fresh buffer of a few megabytes per task came from the
/// operating system each time, and its page faults and zeroing took 6% of a training step.
struct Scratch {
    buffer: Vec<f32>,
    len: usize,
}

impl Scratch {
    fn new(len: usize) -> Self {
        let mut buffer = POOL.with_borrow_mut(Vec::pop).unwrap_or_default();
        if buffer.len() < len {
            buffer.resize(len, 0.0);
        }
        Scratch { buffer, len }
    }
}

/// Most buffers a thread keeps: as many as a task uses at once (the weight gradient's
/// transformed input, output gradient and sum, and the transformed weights). A thread that
/// frees buffers others took, as the one adding up the weight gradient's sums, would otherwise
/// keep more at every call.
const KEPT: usize = 4;

impl Drop for Scratch {
    fn drop(&mut self) {
        let buffer = std::mem::take(&mut self.buffer);
        POOL.with_borrow_mut(|pool| {
            if pool.len() < KEPT {
                pool.push(buffer);
            }
        });
    }
}

impl Deref for Scratch {
    type Target = [f32];
    fn deref(&self) -> &[f32] {
        &self.buffer[..self.len]
    }
}

impl DerefMut for Scratch {
    fn deref_mut(&mut self) -> &mut [f32] {
        &mut self.buffer[..self.len]
    }
}

/// [`LANES`] values, one per block (or kernel), that the transforms add and scale as one.
#[derive(Clone, Copy, Default)]
struct Lanes([f32; LANES]);

impl Lanes {
    /// The first [`LANES`] values of `s`, zero past its end.
    #[inline(always)]
    fn load(s: &[f32]) -> Self {
        match s.first_chunk() {
            Some(full) => Lanes(*full),
            None => {
                let mut a = [0.0; LANES];
                a[..s.len()].copy_from_slice(s);
                Lanes(a)
            }
        }
    }

    /// Writes all [`LANES`] values to the start of `d`, which must hold them.
    #[inline(always)]
    fn store(self, d: &mut [f32]) {
        *d.first_chunk_mut().expect("room for a whole run of lanes") = self.0;
    }
}

impl Add for Lanes {
    type Output = Self;
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        Lanes(build(|i| self.0[i] + o.0[i]))
    }
}

impl Sub for Lanes {
    type Output = Self;
    #[inline(always)]
    fn sub(self, o: Self) -> Self {
        Lanes(build(|i| self.0[i] - o.0[i]))
    }
}

impl Mul<f32> for Lanes {
    type Output = Self;
    #[inline(always)]
    fn mul(self, k: f32) -> Self {
        Lanes(build(|i| self.0[i] * k))
    }
}

/// `std::array::from_fn`, inlined into its caller. std's builds the array in a function of
/// its own that calls the closure through an adapter (`core::ops::try_trait::Wrapped`); that
/// function is not inlined into the AVX-512 and AVX2 builds of the transforms ([`dispatched`])
/// and, compiled for plain x86-64, ran a third of the seed network's transform time in SSE
/// registers (docs/performance.md). Here the loop, and with it the closure, stays in the caller.
#[inline(always)]
fn build<E: Zero, const N: usize>(mut f: impl FnMut(usize) -> E) -> [E; N] {
    let mut out = [E::ZERO; N];
    for (i, e) in out.iter_mut().enumerate() {
        *e = f(i);
    }
    out
}

/// [`build`] without a closure, for the transforms' larger bodies, which LLVM would otherwise
/// keep as functions of their own, compiled for plain x86-64 (SSE) whatever their caller's
/// target features: `grid!(|i| f(i))` is `[f(0), f(1), ...]`, its length inferred.
macro_rules! grid {
    (|$i:ident| $e:expr) => {{
        let mut out = [Zero::ZERO; _];
        #[allow(clippy::needless_range_loop)]
        for $i in 0..out.len() {
            out[$i] = $e;
        }
        out
    }};
}

/// What [`build`] fills an array with before it writes each element.
trait Zero: Copy {
    const ZERO: Self;
}

impl Zero for f32 {
    const ZERO: Self = 0.0;
}

impl Zero for Lanes {
    const ZERO: Self = Lanes([0.0; LANES]);
}

impl<E: Zero, const N: usize> Zero for [E; N] {
    const ZERO: Self = [E::ZERO; N];
}

/// The three 1-D transforms of F(M, R), T = M + R - 1, applied along both axes of a tile, to
/// [`LANES`] tiles or kernels at once.
trait Transforms<const T: usize, const R: usize, const M: usize> {
    /// `B^T d`: a row or column of an input tile.
    fn input(d: [Lanes; T]) -> [Lanes; T];
    /// `G w`: a row or column of a kernel.
    fn kernel(w: [Lanes; R]) -> [Lanes; T];
    /// `A^T m`: a row or column of a product, back to output pixels.
    fn output(m: [Lanes; T]) -> [Lanes; M];
    /// `A y`, the adjoint of [`Self::output`]: a row or column of an output gradient's block.
    fn output_adjoint(y: [Lanes; M]) -> [Lanes; T];
    /// `G^T u`, the adjoint of [`Self::kernel`]: back to a row or column of a kernel.
    fn kernel_adjoint(u: [Lanes; T]) -> [Lanes; R];
}

/// F(2, 3) at the points 0, 1, -1 and infinity.
struct Points2x3;

impl Transforms<4, 3, 2> for Points2x3 {
    #[inline(always)]
    fn input([d0, d1, d2, d3]: [Lanes; 4]) -> [Lanes; 4] {
        [d0 - d2, d1 + d2, d2 - d1, d1 - d3]
    }

    #[inline(always)]
    fn kernel([w0, w1, w2]: [Lanes; 3]) -> [Lanes; 4] {
        let (even, odd) = (w0 + w2, w1);
        [w0, (even + odd) * 0.5, (even - odd) * 0.5, w2]
    }

    #[inline(always)]
    fn output([m0, m1, m2, m3]: [Lanes; 4]) -> [Lanes; 2] {
        [m0 + m1 + m2, m1 - m2 - m3]
    }

    #[inline(always)]
    fn output_adjoint([y0, y1]: [Lanes; 2]) -> [Lanes; 4] {
        [y0, y0 + y1, y0 - y1, Lanes::default() - y1]
    }

    #[inline(always)]
    fn kernel_adjoint([u0, u1, u2, u3]: [Lanes; 4]) -> [Lanes; 3] {
        let (p, q) = ((u1 + u2) * 0.5, (u1 - u2) * 0.5);
        [u0 + p, q, p + u3]
    }
}

/// F(2, 5) at the points 0, 1, -1, 2, -2 and infinity (derived as Lavin's `wincnn` does;
/// checked against the definition by the tests in `kernels`).
struct Points2x5;

impl Transforms<6, 5, 2> for Points2x5 {
    #[inline(always)]
    fn input([d0, d1, d2, d3, d4, d5]: [Lanes; 6]) -> [Lanes; 6] {
        let (a, b) = (d4 - d2 * 4.0, d3 - d1 * 4.0);
        let (c, e) = (d4 - d2, (d3 - d1) * 2.0);
        [
            d0 * 4.0 - d2 * 5.0 + d4,
            a + b,
            a - b,
            c + e,
            c - e,
            d1 * 4.0 - d3 * 5.0 + d5,
        ]
    }

    #[inline(always)]
    fn kernel([w0, w1, w2, w3, w4]: [Lanes; 5]) -> [Lanes; 6] {
        let (even, odd) = (w0 + w2 + w4, w1 + w3);
        let (even4, odd4) = (w0 + w2 * 4.0 + w4 * 16.0, w1 * 2.0 + w3 * 8.0);
        [
            w0 * 0.25,
            (even + odd) * (-1.0 / 6.0),
            (even - odd) * (-1.0 / 6.0),
            (even4 + odd4) * (1.0 / 24.0),
            (even4 - odd4) * (1.0 / 24.0),
            w4,
        ]
    }

    #[inline(always)]
    fn output([m0, m1, m2, m3, m4, m5]: [Lanes; 6]) -> [Lanes; 2] {
        [m0 + m1 + m2 + m3 + m4, m1 - m2 + (m3 - m4) * 2.0 + m5]
    }

    #[inline(always)]
    fn output_adjoint([y0, y1]: [Lanes; 2]) -> [Lanes; 6] {
        let twice = y1 * 2.0;
        [y0, y0 + y1, y0 - y1, y0 + twice, y0 - twice, y1]
    }

    #[inline(always)]
    fn kernel_adjoint([u0, u1, u2, u3, u4, u5]: [Lanes; 6]) -> [Lanes; 5] {
        let (p, q) = ((u1 + u2) * (-1.0 / 6.0), (u1 - u2) * (-1.0 / 6.0));
        let (big, small) = (u3 + u4, u3 - u4);
        [
            u0 * 0.25 + p + big * (1.0 / 24.0),
            q + small * (1.0 / 12.0),
            p + big * (1.0 / 6.0),
            q + small * (1.0 / 3.0),
            p + big * (2.0 / 3.0) + u5,
        ]
    }
}

type F2x3 = Winograd<Points2x3, 4, 3, 2>;
type F2x5 = Winograd<Points2x5, 6, 5, 2>;

/// Defines `$name`, which runs `$any` compiled for AVX-512 (as `$avx512`) or else AVX2 (as
/// `$avx2`) where the processor has them: the crate is built for any x86-64, and the
/// transforms' arrays of [`Lanes`] spill out of the SSE registers. (On a Zen 4, AVX-512's 32
/// registers made the seed's conv4 about 10% faster than AVX2.)
macro_rules! dispatched {
    ($name:ident, [$avx512:ident, $avx2:ident], $any:ident,
        ($($arg:ident: $ty:ty),*) $(-> $ret:ty)?) => {
        fn $name($($arg: $ty),*) $(-> $ret)? {
            #[cfg(target_arch = "x86_64")]
            {
                use std::arch::is_x86_feature_detected as has;
                if has!("avx512f") && has!("avx512vl") {
                    // SAFETY: the processor has all the features `$avx512` is compiled for.
                    return unsafe { Self::$avx512($($arg),*) };
                }
                if has!("avx2") {
                    // SAFETY: as above, for `$avx2`.
                    return unsafe { Self::$avx2($($arg),*) };
                }
            }
            Self::$any($($arg),*)
        }

        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx512f,avx512vl")]
        fn $avx512($($arg: $ty),*) $(-> $ret)? {
            Self::$any($($arg),*)
        }

        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx2")]
        fn $avx2($($arg: $ty),*) $(-> $ret)? {
            Self::$any($($arg),*)
        }
    };
}

/// The 2-D algorithm built from the 1-D transforms `W`.
struct Winograd<W, const T: usize, const R: usize, const M: usize>(PhantomData<W>);

impl<W: Transforms<T, R, M>, const T: usize, const R: usize, const M: usize> Winograd<W, T, R, M> {
    /// Values of one phase of a padded input row that a tile reads past its block.
    const OVERHANG: usize = (T - 1) / M;

    fn takes(g: &Geometry) -> bool {
        g.kernel == [R, R] && g.stride == [1, 1] && g.pad.iter().all(|&p| p < R)
    }

    /// Blocks of MxM output pixels down and across one feature map.
    fn blocks(g: &Geometry) -> [usize; 2] {
        [g.out[0].div_ceil(M), g.out[1].div_ceil(M)]
    }

    /// Images per group: about `COLUMNS` blocks, but a group per thread.
    fn group(g: &Geometry) -> usize {
        let [bh, bw] = Self::blocks(g);
        let wanted = COLUMNS.div_ceil(bh * bw);
        let per_thread = g.batch.div_ceil(rayon::current_num_threads());
        wanted.min(per_thread).max(1)
    }

    fn forward(g: &Geometry, x: &[f32], weight: &[f32], bias: Option<&[f32]>) -> Vec<f32> {
        debug_assert!(Self::takes(g));
        let plane = stride(g.filters * g.channels);
        let mut u = Scratch::new(T * T * plane);
        Self::transform_weights(g, weight, &mut u);
        let group = Self::group(g);
        let [bh, bw] = Self::blocks(g);
        let threads = g.gemm_threads();
        let mut out = vec![0.0; g.batch * g.output_len()];
        let buffers = || {
            let width = group * bh * bw;
            (
                Scratch::new(T * T * stride(g.channels * width)),
                Scratch::new(T * T * stride(g.filters * width)),
            )
        };
        let task = |(v, m): &mut (Scratch, Scratch), (out, xs): (&mut [f32], &[f32])| {
            let width = xs.len() / g.image_len() * bh * bw;
            Self::transform_input(g, xs, v, width);
            let (vs, ms) = (stride(g.channels * width), stride(g.filters * width));
            for e in 0..T * T {
                let lhs = View::rows(&u[e * plane..], g.channels);
                let rhs = View::rows(&v[e * vs..], width);
                let dims = [g.filters, width, g.channels];
                matmul(&mut m[e * ms..], [width, 1], dims, lhs, rhs, false, threads);
            }
            Self::transform_output(g, m, width, bias, out);
        };
        out.par_chunks_mut(group * g.output_len())
            .zip(x.par_chunks(group * g.image_len()))
            .for_each_init(buffers, task);
        out
    }

    fn weight_gradient(g: &Geometry, x: &[f32], grad: &[f32]) -> Vec<f32> {
        debug_assert!(Self::takes(g));
        let group = Self::group(g);
        let [bh, bw] = Self::blocks(g);
        let plane = stride(g.filters * g.channels);
        let threads = g.gemm_threads();
        let groups = g.batch.div_ceil(group);
        let per_thread = groups.div_ceil(rayon::current_num_threads());
        // A fixed run of groups per thread, their sums added in order (as `kernels::by_groups`),
        // so that runs with one seed give the same gradients.
        let run = |first: usize| {
            let most = group * bh * bw;
            let mut v = Scratch::new(T * T * stride(g.channels * most));
            let mut z = Scratch::new(T * T * stride(g.filters * most));
            let mut sum = Scratch::new(T * T * plane);
            sum.fill(0.0);
            for k in first..(first + per_thread).min(groups) {
                let images = k * group..((k + 1) * group).min(g.batch);
                let width = images.len() * bh * bw;
                let xs = &x[images.start * g.image_len()..images.end * g.image_len()];
                let ys = &grad[images.start * g.output_len()..images.end * g.output_len()];
                Self::transform_input(g, xs, &mut v, width);
                Self::transform_grad(g, ys, &mut z, width);
                let (vs, zs) = (stride(g.channels * width), stride(g.filters * width));
                for e in 0..T * T {
                    let (lhs, rhs) = (
                        View::rows(&z[e * zs..], width),
                        View::transposed(&v[e * vs..], width),
                    );
                    let dims = [g.filters, g.channels, width];
                    matmul(
                        &mut sum[e * plane..],
                        [g.channels, 1],
                        dims,
                        lhs,
                        rhs,
                        true,
                        threads,
                    );
                }
            }
            sum
        };
        let firsts: Vec<usize> = (0..groups).step_by(per_thread.max(1)).collect();
        let sums: Vec<Scratch> = firsts.into_par_iter().map(run).collect();
        let sum = sums.into_iter().reduce(|mut a, b| {
            add(&mut a, &b);
            a
        });
        match sum {
            Some(sum) => Self::weights_adjoint(g, &sum),
            None => vec![0.0; g.filters * g.patch_len()],
        }
    }

    dispatched!(transform_weights, [transform_weights_avx512, transform_weights_avx2], transform_weights_any,
        (g: &Geometry, weight: &[f32], u: &mut [f32]));
    dispatched!(transform_input, [transform_input_avx512, transform_input_avx2], transform_input_any,
        (g: &Geometry, images: &[f32], v: &mut [f32], width: usize));
    dispatched!(transform_output, [transform_output_avx512, transform_output_avx2], transform_output_any,
        (g: &Geometry, m: &[f32], width: usize, bias: Option<&[f32]>, out: &mut [f32]));
    dispatched!(transform_grad, [transform_grad_avx512, transform_grad_avx2], transform_grad_any,
        (g: &Geometry, grad: &[f32], z: &mut [f32], width: usize));
    dispatched!(weights_adjoint, [weights_adjoint_avx512, weights_adjoint_avx2], weights_adjoint_any,
        (g: &Geometry, u: &[f32]) -> Vec<f32>);

    /// `G^T u G` for the T^2 matrices `u` (`[filters, channels]`, [`stride`] apart): the
    /// weights' gradient from the gradient of their transform, `[filters, channels, R, R]`;
    /// [`LANES`] kernels at a time.
    #[inline(always)]
    fn weights_adjoint_any(g: &Geometry, u: &[f32]) -> Vec<f32> {
        let plane = g.filters * g.channels;
        let matrix = stride(plane);
        let mut out = vec![0.0; plane * R * R];
        for first in (0..plane).step_by(LANES) {
            let at = |e: usize| Lanes::load(&u[e * matrix + first..]);
            let across: [[Lanes; R]; T] = grid!(|r| W::kernel_adjoint(grid!(|s| at(T * r + s))));
            for j in 0..R {
                let down = W::kernel_adjoint(grid!(|r| across[r][j]));
                for (i, d) in down.iter().enumerate() {
                    let kernels = out[first * R * R..].chunks_exact_mut(R * R);
                    for (kernel, v) in kernels.zip(d.0) {
                        kernel[i * R + j] = v;
                    }
                }
            }
        }
        out
    }

    /// Writes `A dY A^T` of every MxM block of the output gradient `grad` (a group's) into
    /// `z`: T^2 matrices `[filters, blocks]`, `width` blocks wide, [`stride`] apart, as
    /// [`Self::transform_input`] writes the input's; blocks past the map's edge read zeros.
    #[inline(always)]
    fn transform_grad_any(g: &Geometry, grad: &[f32], z: &mut [f32], width: usize) {
        let [bh, bw] = Self::blocks(g);
        let matrix = stride(g.filters * width);
        let run = bw + LANES;
        let mut phases = vec![0.0; M * bh * M * run];
        for f in 0..g.filters {
            for (n, image) in grad.chunks_exact(g.output_len()).enumerate() {
                let map = &image[f * g.pixels()..][..g.pixels()];
                Self::split(map, g.out[1], [0, 0], &mut phases, run);
                for by in 0..bh {
                    let column = f * width + (n * bh + by) * bw;
                    for first in (0..bw).step_by(LANES) {
                        let at = |a: usize, b: usize| {
                            Lanes::load(&phases[((M * by + a) * M + b) * run + first..])
                        };
                        let across: [[Lanes; T]; M] =
                            grid!(|a| W::output_adjoint(grid!(|b| at(a, b))));
                        for s in 0..T {
                            let down = W::output_adjoint(grid!(|a| across[a][s]));
                            for (r, t) in down.into_iter().enumerate() {
                                t.store(&mut z[(T * r + s) * matrix + column + first..]);
                            }
                        }
                    }
                }
            }
        }
    }

    /// Writes `G w G^T` for every filter and channel into `out`: T^2 matrices `[filters,
    /// channels]`, [`stride`] apart; [`LANES`] kernels at a time.
    #[inline(always)]
    fn transform_weights_any(g: &Geometry, weight: &[f32], out: &mut [f32]) {
        let plane = g.filters * g.channels;
        let matrix = stride(plane);
        for first in (0..plane).step_by(LANES) {
            let tap = |i: usize, j: usize| {
                let at = |l: usize| (first + l) * R * R + i * R + j;
                Lanes(grid!(|l| weight.get(at(l)).copied().unwrap_or(0.0)))
            };
            let down: [[Lanes; T]; R] = grid!(|j| W::kernel(grid!(|i| tap(i, j))));
            for r in 0..T {
                let both = W::kernel(grid!(|j| down[j][r]));
                for (s, v) in both.into_iter().enumerate() {
                    v.store(&mut out[(T * r + s) * matrix + first..]);
                }
            }
        }
    }

    /// Writes `B^T d B` of every TxT input tile of `images` (a group) into `v`: T^2 matrices
    /// `[channels, blocks]`, `width` blocks wide, [`stride`] apart. Tiles start every M pixels
    /// from the top-left padding; pixels outside the image are zero. Each channel of each
    /// image is first padded and split into M phases ([`Self::split`]), so that a tile's
    /// column `k` of [`LANES`] blocks side by side is one load; the tile is then transformed
    /// in registers. Channel by channel, so that a whole run of lanes written past a row of
    /// blocks is overwritten by the next row.
    #[inline(always)]
    fn transform_input_any(g: &Geometry, images: &[f32], v: &mut [f32], width: usize) {
        let [bh, bw] = Self::blocks(g);
        let plane = g.height * g.width;
        let matrix = stride(g.channels * width);
        let run = bw + Self::OVERHANG + LANES;
        let mut phases = vec![0.0; (M * bh + T - M) * M * run];
        for c in 0..g.channels {
            for (n, image) in images.chunks_exact(g.image_len()).enumerate() {
                Self::split(
                    &image[c * plane..][..plane],
                    g.width,
                    g.pad,
                    &mut phases,
                    run,
                );
                for by in 0..bh {
                    let column = c * width + (n * bh + by) * bw;
                    for first in (0..bw).step_by(LANES) {
                        let at = |r: usize, k: usize| {
                            let row = (M * by + r) * M + k % M;
                            Lanes::load(&phases[row * run + first + k / M..])
                        };
                        let across: [[Lanes; T]; T] = grid!(|r| W::input(grid!(|k| at(r, k))));
                        for s in 0..T {
                            let down = W::input(grid!(|r| across[r][s]));
                            for (q, t) in down.into_iter().enumerate() {
                                t.store(&mut v[(T * q + s) * matrix + column + first..]);
                            }
                        }
                    }
                }
            }
        }
    }

    /// Pads a feature map `width` pixels wide by `pad` (above, left) and splits its columns
    /// into M phases: padded row `y`'s pixels `M k + p` go to `phases[(M y + p) * run + k]`,
    /// zero outside the map.
    #[inline(always)]
    fn split(map: &[f32], width: usize, pad: [usize; 2], phases: &mut [f32], run: usize) {
        phases.fill(0.0);
        let reach = M * (run - LANES);
        for (y, row) in map.chunks_exact(width).enumerate() {
            let padded = &mut phases[(y + pad[0]) * M * run..][..M * run];
            for (x, v) in row.iter().enumerate().take(reach.saturating_sub(pad[1])) {
                let at = x + pad[1];
                padded[at % M * run + at / M] = *v;
            }
        }
    }

    /// Turns the T^2 products `m` (`[filters, blocks]` each, [`stride`] apart) into the
    /// group's output, `A^T m A` per tile, plus `bias`; [`LANES`] blocks of a row at a time.
    #[inline(always)]
    fn transform_output_any(
        g: &Geometry,
        m: &[f32],
        width: usize,
        bias: Option<&[f32]>,
        out: &mut [f32],
    ) {
        let [bh, bw] = Self::blocks(g);
        let [oh, ow] = g.out;
        let matrix = stride(g.filters * width);
        for (n, image) in out.chunks_exact_mut(g.output_len()).enumerate() {
            for (f, map) in image.chunks_exact_mut(oh * ow).enumerate() {
                let b = bias.map_or(0.0, |bias| bias[f]);
                for by in 0..bh {
                    let column = f * width + (n * bh + by) * bw;
                    for first in (0..bw).step_by(LANES) {
                        let at = |e: usize| Lanes::load(&m[e * matrix + column + first..]);
                        let rows: [[Lanes; M]; T] = grid!(|r| W::output(grid!(|s| at(T * r + s))));
                        let y: [[Lanes; M]; M] = grid!(|col| W::output(grid!(|r| rows[r][col])));
                        let lanes = (bw - first).min(LANES);
                        for a in (0..M).take_while(|a| M * by + a < oh) {
                            let dst = &mut map[(M * by + a) * ow + M * first..][..ow - M * first];
                            write_blocks(dst, &y, a, lanes, b);
                        }
                    }
                }
            }
        }
    }
}

/// Writes output row `a` of `lanes` blocks, `y[b][a]` holding column `b` of every block, plus
/// `bias`, to `dst`: the rest of an output row from the first block's first pixel; the row's
/// last block may be cut.
#[inline(always)]
fn write_blocks<const M: usize>(
    dst: &mut [f32],
    y: &[[Lanes; M]; M],
    a: usize,
    lanes: usize,
    bias: f32,
) {
    let mut blocks = dst.chunks_exact_mut(M);
    let mut written = 0;
    for (l, pixels) in (&mut blocks).take(lanes).enumerate() {
        for (b, p) in pixels.iter_mut().enumerate() {
            *p = y[b][a].0[l] + bias;
        }
        written += 1;
    }
    if written < lanes {
        for (b, p) in blocks.into_remainder().iter_mut().enumerate() {
            *p = y[b][a].0[written] + bias;
        }
    }
}

/// The distance between two of the T^2 matrices of `len` values each: whole runs of lanes,
/// plus one to spare for a run written past the last row, plus a cache line so that the T^2
/// values of a tile, one per matrix, never share a cache set (with `len` a multiple of 4 KiB,
/// as for the seed's conv3, they all did).
fn stride(len: usize) -> usize {
    len.next_multiple_of(LANES) + LANES + 16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scratch_reuses_what_the_thread_freed_and_keeps_a_few() {
        let first = Scratch::new(1000);
        let at = first.buffer.as_ptr();
        drop(first);
        let again = Scratch::new(500);
        assert_eq!((again.buffer.as_ptr(), again.len()), (at, 500));
        drop(again);
        let many: Vec<Scratch> = (0..KEPT + 3).map(|_| Scratch::new(10)).collect();
        drop(many);
        assert_eq!(POOL.with_borrow(Vec::len), KEPT);
    }

    #[cfg(target_arch = "x86_64")]
    fn values(n: usize, seed: u32) -> Vec<f32> {
        (0..n as u32)
            .map(|i| ((i.wrapping_mul(2_654_435_761) ^ seed) % 1000) as f32 / 500.0 - 1.0)
            .collect()
    }

    /// Every transform of one algorithm, on one group of `g`'s whole batch, by `build`.
    #[cfg(target_arch = "x86_64")]
    fn transforms<W: Transforms<T, R, M>, const T: usize, const R: usize, const M: usize>(
        g: &Geometry,
        build: usize,
    ) -> Vec<Vec<f32>> {
        type A<W, const T: usize, const R: usize, const M: usize> = Winograd<W, T, R, M>;
        let x = values(g.batch * g.image_len(), 1);
        let (w, grad) = (
            values(g.filters * g.patch_len(), 2),
            values(g.batch * g.output_len(), 3),
        );
        let bias = values(g.filters, 4);
        let [bh, bw] = A::<W, T, R, M>::blocks(g);
        let width = g.batch * bh * bw;
        let mut v = vec![0.0; T * T * stride(g.channels * width)];
        let mut z = vec![0.0; T * T * stride(g.filters * width)];
        let mut out = vec![0.0; g.batch * g.output_len()];
        // SAFETY (AVX builds): the caller checks that the processor has their features.
        unsafe {
            let mut u = vec![0.0; T * T * stride(g.filters * g.channels)];
            match build {
                0 => A::<W, T, R, M>::transform_weights_any(g, &w, &mut u),
                1 => A::<W, T, R, M>::transform_weights_avx2(g, &w, &mut u),
                _ => A::<W, T, R, M>::transform_weights_avx512(g, &w, &mut u),
            }
            match build {
                0 => A::<W, T, R, M>::transform_input_any(g, &x, &mut v, width),
                1 => A::<W, T, R, M>::transform_input_avx2(g, &x, &mut v, width),
                _ => A::<W, T, R, M>::transform_input_avx512(g, &x, &mut v, width),
            }
            match build {
                0 => A::<W, T, R, M>::transform_grad_any(g, &grad, &mut z, width),
                1 => A::<W, T, R, M>::transform_grad_avx2(g, &grad, &mut z, width),
                _ => A::<W, T, R, M>::transform_grad_avx512(g, &grad, &mut z, width),
            }
            // The gradient's transform stands in for the products: any values will do.
            match build {
                0 => A::<W, T, R, M>::transform_output_any(g, &z, width, Some(&bias), &mut out),
                1 => A::<W, T, R, M>::transform_output_avx2(g, &z, width, Some(&bias), &mut out),
                _ => A::<W, T, R, M>::transform_output_avx512(g, &z, width, Some(&bias), &mut out),
            }
            let dw = match build {
                0 => A::<W, T, R, M>::weights_adjoint_any(g, &u),
                1 => A::<W, T, R, M>::weights_adjoint_avx2(g, &u),
                _ => A::<W, T, R, M>::weights_adjoint_avx512(g, &u),
            };
            vec![u, v, z, out, dw]
        }
    }

    /// The builds for AVX-512 and AVX2 compute what the plain one does, to the bit (the tests
    /// of `kernels` check the one this processor runs against the definition).
    #[test]
    #[cfg(target_arch = "x86_64")]
    fn every_build_of_the_transforms_agrees() {
        use std::arch::is_x86_feature_detected as has;
        let builds = [true, has!("avx2"), has!("avx512f") && has!("avx512vl")];
        for (k, filters) in [(3, 9), (5, 17)] {
            let g = Geometry {
                batch: 2,
                channels: 19,
                height: 9,
                width: 23,
                filters,
                kernel: [k, k],
                stride: [1, 1],
                pad: [k / 2, k / 2],
                out: [9, 23],
            };
            let all = |build| match k {
                3 => transforms::<Points2x3, 4, 3, 2>(&g, build),
                _ => transforms::<Points2x5, 6, 5, 2>(&g, build),
            };
            let plain = all(0);
            for build in (1..3).filter(|&b| builds[b]) {
                assert!(plain == all(build), "{k}x{k}, build {build}");
            }
        }
    }
}
