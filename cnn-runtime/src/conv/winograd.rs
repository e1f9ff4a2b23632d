//! Winograd's F(2x2, 3x3) for 3x3 stride-1 convolutions (Lavin and Gray, 2015): each 2x2 block
//! of output pixels from a 4x4 block of input, with 16 multiplications per channel where a
//! direct convolution takes 36. The input and the weights are transformed into 16 matrices each,
//! one GEMM per matrix (`[filters, channels] x [channels, blocks]`) multiplies them, and the
//! inverse transform turns the 16 products into output blocks: 2.25x fewer multiplications than
//! the GEMMs of kernel rows or im2col, which pace the seed's 3x3 convolutions on the CPU.
//!
//! A group of images at a time (rayon across groups, a single-threaded GEMM inside), as im2col.

use rayon::prelude::*;

use super::kernels::{Geometry, View, matmul};

/// Positions in a transformed 4x4 block: one GEMM each.
const POSITIONS: usize = 16;

/// Most blocks across a map (plus one) that [`row_times_b`] takes: maps up to 254 pixels wide.
const MAX_RUN: usize = 128;

/// GEMM columns (blocks of output pixels) a group aims for.
const COLUMNS: usize = 384;

/// Whether this algorithm computes `g`: a 3x3 convolution of stride 1, padded by less than a
/// kernel, on maps up to 254 pixels wide.
pub fn takes(g: &Geometry) -> bool {
    let shape = g.kernel == [3, 3] && g.stride == [1, 1] && g.pad.iter().all(|&p| p < 3);
    shape && g.out[1] <= 2 * (MAX_RUN - 1)
}

/// Whether it is the faster choice for `g`: where the transforms cost less than the
/// multiplications they save: 8 channels or more (the seed's first layer has one), more
/// filters than channels (the transforms' cost follows the channels and the filters, the
/// GEMMs' their product) and maps of 128 pixels or more (`examples/layer_times.rs` on a 2-core
/// Zen 4: the seed's conv2 and conv3 forward passes, not their input gradients nor conv5).
pub fn suits(g: &Geometry) -> bool {
    takes(g) && g.channels >= 8 && g.filters > g.channels && g.pixels() >= 128
}

/// Blocks of 2x2 output pixels down and across one feature map.
fn blocks(g: &Geometry) -> [usize; 2] {
    [g.out[0].div_ceil(2), g.out[1].div_ceil(2)]
}

/// The distance between two of the 16 matrices, `len` values each: one cache line more than
/// `len`, so that the 16 values of a block, one per matrix, never share a cache set (with `len`
/// a multiple of 4 KiB, as for the seed's conv3, they all did).
fn stride(len: usize) -> usize {
    len.next_multiple_of(16) + 16
}

/// Images per group: about `COLUMNS` blocks, but a group per thread.
fn group(g: &Geometry) -> usize {
    let [bh, bw] = blocks(g);
    let wanted = COLUMNS.div_ceil(bh * bw);
    let per_thread = g.batch.div_ceil(rayon::current_num_threads());
    wanted.min(per_thread).max(1)
}

/// `G w G^T` for every filter and channel, as 16 matrices `[filters, channels]`.
fn transform_weights(g: &Geometry, weight: &[f32]) -> Vec<f32> {
    let plane = g.filters * g.channels;
    let mut out = vec![0.0; POSITIONS * plane];
    for (fc, w) in weight.chunks_exact(9).enumerate() {
        let down: [[f32; 4]; 3] = std::array::from_fn(|j| g_times([w[j], w[3 + j], w[6 + j]]));
        for r in 0..4 {
            let both = g_times([down[0][r], down[1][r], down[2][r]]);
            for (s, v) in both.iter().enumerate() {
                out[(4 * r + s) * plane + fc] = *v;
            }
        }
    }
    out
}

/// `G v` for a column of 3: `[v0, (v0 + v1 + v2) / 2, (v0 - v1 + v2) / 2, v2]`.
fn g_times(v: [f32; 3]) -> [f32; 4] {
    let half = |x: f32| 0.5 * x;
    [
        v[0],
        half(v[0] + v[1] + v[2]),
        half(v[0] - v[1] + v[2]),
        v[2],
    ]
}

/// Writes `B^T d B` of every 4x4 input block of `images` (a group) into `v`: 16 matrices
/// `[channels, blocks]`, `width` blocks wide. Blocks start every 2 pixels from the top-left
/// padding; pixels outside the image are zero. A row of blocks at a time, as whole runs: the
/// four input rows padded and split into even and odd columns (block `bx` reads columns `2bx`
/// to `2bx + 3`: even and odd `bx` and `bx + 1`), so that every step below is one operation
/// over all the row's blocks, which the compiler vectorizes.
fn transform_input(g: &Geometry, images: &[f32], v: &mut [f32], width: usize) {
    let [bh, bw] = blocks(g);
    let plane = g.height * g.width;
    let matrix = stride(g.channels * width);
    let padded = 2 * bw + 2;
    let mut rows = vec![0.0; 4 * padded];
    let mut across = vec![0.0; POSITIONS * bw];
    for (n, image) in images.chunks_exact(g.image_len()).enumerate() {
        for (c, channel) in image.chunks_exact(plane).enumerate() {
            for by in 0..bh {
                pad_rows(g, channel, 2 * by, &mut rows, padded);
                for (row, out) in rows
                    .chunks_exact(padded)
                    .zip(across.chunks_exact_mut(4 * bw))
                {
                    row_times_b(row, out, bw);
                }
                let column = c * width + (n * bh + by) * bw;
                let t = |r: usize, s: usize| &across[(4 * r + s) * bw..][..bw];
                for s in 0..4 {
                    let (r0, r1, r2, r3) = (t(0, s), t(1, s), t(2, s), t(3, s));
                    // B^T down the rows: position (q, s) of every block.
                    let terms = [
                        (r0, r2, -1.0),
                        (r1, r2, 1.0),
                        (r2, r1, -1.0),
                        (r1, r3, -1.0),
                    ];
                    for (q, (a, b, sign)) in terms.into_iter().enumerate() {
                        let dst = &mut v[(4 * q + s) * matrix + column..][..bw];
                        for ((d, x), y) in dst.iter_mut().zip(a).zip(b) {
                            *d = x + sign * y;
                        }
                    }
                }
            }
        }
    }
}

/// `d B` for every block of one padded input row: `out` gets 4 runs of `bw`, position `s`'s
/// values of every block.
fn row_times_b(row: &[f32], out: &mut [f32], bw: usize) {
    let (mut even, mut odd) = ([0.0; MAX_RUN], [0.0; MAX_RUN]);
    for (k, pair) in row.chunks_exact(2).enumerate() {
        (even[k], odd[k]) = (pair[0], pair[1]);
    }
    let (e0, e1, o0, o1) = (&even[..bw], &even[1..=bw], &odd[..bw], &odd[1..=bw]);
    let (s0, rest) = out.split_at_mut(bw);
    let (s1, rest) = rest.split_at_mut(bw);
    let (s2, s3) = rest.split_at_mut(bw);
    for bx in 0..bw {
        s0[bx] = e0[bx] - e1[bx];
        s1[bx] = o0[bx] + e1[bx];
        s2[bx] = e1[bx] - o0[bx];
        s3[bx] = o0[bx] - o1[bx];
    }
}

/// Copies the four input rows from `top` (an output row; the padding above is subtracted) into
/// `rows`, `padded` values each, zero outside the image.
fn pad_rows(g: &Geometry, channel: &[f32], top: usize, rows: &mut [f32], padded: usize) {
    for (r, dst) in rows.chunks_exact_mut(padded).enumerate() {
        dst.fill(0.0);
        let Some(y) = (top + r).checked_sub(g.pad[0]).filter(|&y| y < g.height) else {
            continue;
        };
        let src = &channel[y * g.width..][..g.width];
        // Column x of the image lands at x + pad, as far as the blocks reach.
        let room = (padded - g.pad[1]).min(g.width);
        dst[g.pad[1]..][..room].copy_from_slice(&src[..room]);
    }
}

/// Turns the 16 products `m` (`[filters, blocks]` each) into the group's output, `A^T m A`
/// per block, plus `bias`; a row of blocks at a time, each step one operation over the row's
/// blocks (as [`transform_input`]).
fn transform_output(g: &Geometry, m: &[f32], width: usize, bias: Option<&[f32]>, out: &mut [f32]) {
    let [bh, bw] = blocks(g);
    let [oh, ow] = g.out;
    let matrix = stride(g.filters * width);
    let mut y = vec![0.0; 4 * bw];
    for (n, image) in out.chunks_exact_mut(g.output_len()).enumerate() {
        for (f, map) in image.chunks_exact_mut(oh * ow).enumerate() {
            let b = bias.map_or(0.0, |bias| bias[f]);
            for by in 0..bh {
                let column = f * width + (n * bh + by) * bw;
                let run = |e: usize| &m[e * matrix + column..][..bw];
                let runs: [&[f32]; POSITIONS] = std::array::from_fn(run);
                blocks_times_a(&runs, &mut y, bw);
                for a in 0..2 {
                    let oy = 2 * by + a;
                    if oy >= oh {
                        continue;
                    }
                    let (left, right) = (&y[2 * a * bw..][..bw], &y[(2 * a + 1) * bw..][..bw]);
                    let dst = &mut map[oy * ow..][..ow];
                    let mut pairs = dst.chunks_exact_mut(2);
                    for ((pair, l), r) in (&mut pairs).zip(left).zip(right) {
                        (pair[0], pair[1]) = (l + b, r + b);
                    }
                    if let [last] = pairs.into_remainder() {
                        *last = left[bw - 1] + b;
                    }
                }
            }
        }
    }
}

/// `A^T m A` for a row of blocks: `runs[4r + s]` holds position `(r, s)` of every block; `y`
/// gets 4 runs, output pixels `(0, 0)`, `(0, 1)`, `(1, 0)` and `(1, 1)` of every block.
fn blocks_times_a(runs: &[&[f32]; POSITIONS], y: &mut [f32], bw: usize) {
    let (y00, rest) = y.split_at_mut(bw);
    let (y01, rest) = rest.split_at_mut(bw);
    let (y10, y11) = rest.split_at_mut(bw);
    let m = |e: usize| &runs[e][..bw];
    let [m0, m1, m2, m3] = [0, 4, 8, 12].map(|r| [m(r), m(r + 1), m(r + 2), m(r + 3)]);
    for bx in 0..bw {
        // A^T down the rows, then A along them.
        let top: [f32; 4] = std::array::from_fn(|s| m0[s][bx] + m1[s][bx] + m2[s][bx]);
        let bottom: [f32; 4] = std::array::from_fn(|s| m1[s][bx] - m2[s][bx] - m3[s][bx]);
        y00[bx] = top[0] + top[1] + top[2];
        y01[bx] = top[1] - top[2] - top[3];
        y10[bx] = bottom[0] + bottom[1] + bottom[2];
        y11[bx] = bottom[1] - bottom[2] - bottom[3];
    }
}

/// The convolution of `x` with `weight`, plus `bias`; as [`super::kernels::forward`], for the
/// geometries it [`takes`].
pub fn forward(g: &Geometry, x: &[f32], weight: &[f32], bias: Option<&[f32]>) -> Vec<f32> {
    debug_assert!(takes(g));
    let u = transform_weights(g, weight);
    let group = group(g);
    let [bh, bw] = blocks(g);
    let threads = g.gemm_threads();
    let mut out = vec![0.0; g.batch * g.output_len()];
    let buffers = || {
        let width = group * bh * bw;
        (
            vec![0.0; POSITIONS * stride(g.channels * width)],
            vec![0.0; POSITIONS * stride(g.filters * width)],
        )
    };
    let task = |(v, m): &mut (Vec<f32>, Vec<f32>), (out, xs): (&mut [f32], &[f32])| {
        let width = xs.len() / g.image_len() * bh * bw;
        transform_input(g, xs, v, width);
        let (vs, ms) = (stride(g.channels * width), stride(g.filters * width));
        for (e, u) in u.chunks_exact(g.filters * g.channels).enumerate() {
            let (lhs, rhs) = (View::rows(u, g.channels), View::rows(&v[e * vs..], width));
            let dims = [g.filters, width, g.channels];
            matmul(&mut m[e * ms..], [width, 1], dims, lhs, rhs, false, threads);
        }
        transform_output(g, m, width, bias, out);
    };
    out.par_chunks_mut(group * g.output_len())
        .zip(x.par_chunks(group * g.image_len()))
        .for_each_init(buffers, task);
    out
}
