//! Max pooling on `f32` slices in NCHW layout, one feature map (plane) per step, in parallel
//! over planes. The forward pass records which input each output came from; the backward
//! pass sends each output gradient there.

use rayon::prelude::*;

/// Planes per rayon task: a plane of the seed network is at most 28x28.
const PLANES_PER_TASK: usize = 32;

/// Sizes of one max pooling over `planes` feature maps of `height x width`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Geometry {
    pub planes: usize,
    pub height: usize,
    pub width: usize,
    pub kernel: [usize; 2],
    pub stride: [usize; 2],
    /// Padding rows above and columns left; padded positions never win (they count as -inf).
    pub pad: [usize; 2],
    pub out: [usize; 2],
}

impl Geometry {
    fn plane(&self) -> usize {
        self.height * self.width
    }

    fn out_plane(&self) -> usize {
        self.out[0] * self.out[1]
    }

    /// The input range `[start, end)` along one axis of the window at output `o`.
    fn window(o: usize, stride: usize, pad: usize, kernel: usize, size: usize) -> (usize, usize) {
        let start = (o * stride).saturating_sub(pad);
        let end = (o * stride + kernel).saturating_sub(pad).min(size);
        (start, end.max(start))
    }
}

/// The pooled values and, when `keep_from` (for a backward pass), the index within its plane
/// of the input each came from. NaN wins, as in burn and PyTorch.
pub fn forward(g: &Geometry, x: &[f32], keep_from: bool) -> (Vec<f32>, Option<Vec<u32>>) {
    let mut out = vec![0.0; g.planes * g.out_plane()];
    let mut from = keep_from.then(|| vec![0u32; out.len()]);
    let from_planes: Vec<Option<&mut [u32]>> = match from.as_mut() {
        Some(from) => from.chunks_mut(g.out_plane()).map(Some).collect(),
        None => (0..g.planes).map(|_| None).collect(),
    };
    out.par_chunks_mut(g.out_plane())
        .zip(from_planes)
        .zip(x.par_chunks(g.plane()))
        .with_min_len(PLANES_PER_TASK)
        .for_each_init(
            || Columns::new(g.width),
            |columns, ((out, from), plane)| pool_plane(g, plane, out, from, columns),
        );
    (out, from)
}

/// For one row of windows: each input column's largest value over the window's rows, and the
/// row it is in.
struct Columns {
    best: Vec<f32>,
    row: Vec<u32>,
}

impl Columns {
    fn new(width: usize) -> Self {
        Columns {
            best: vec![0.0; width],
            row: vec![0; width],
        }
    }
}

/// Whether `v` replaces `best` as the maximum: larger, or the first NaN. Written without
/// short-circuits, so that loops over it compile to vector compares and blends.
#[inline(always)]
fn wins(v: f32, best: f32) -> bool {
    (v > best) | (v.is_nan() & !best.is_nan())
}

/// The larger of `a` and `b`, NaN if either is; branch-free, so that it vectorizes.
#[inline(always)]
fn max(a: f32, b: f32) -> f32 {
    if a.is_nan() | b.is_nan() {
        a + b
    } else {
        a.max(b)
    }
}

/// Pools one plane in two passes per row of windows: down the window's rows, every column at
/// once (branch-free, so it vectorizes), then across each window's columns. Ties go to the
/// leftmost column, then the topmost row.
fn pool_plane(
    g: &Geometry,
    plane: &[f32],
    out: &mut [f32],
    mut from: Option<&mut [u32]>,
    columns: &mut Columns,
) {
    let [kh, kw] = g.kernel;
    let [sh, sw] = g.stride;
    let [pt, pl] = g.pad;
    let ow = g.out[1];
    let Columns { best, row } = columns;
    for (oy, out) in out.chunks_exact_mut(ow).enumerate() {
        let (y0, y1) = Geometry::window(oy, sh, pt, kh, g.height);
        best.fill(f32::NEG_INFINITY);
        if from.is_some() {
            row.fill(y0 as u32);
        }
        for y in y0..y1 {
            let input = &plane[y * g.width..][..g.width];
            if from.is_some() {
                for ((b, r), &v) in best.iter_mut().zip(row.iter_mut()).zip(input) {
                    let take = wins(v, *b);
                    *b = if take { v } else { *b };
                    *r = if take { y as u32 } else { *r };
                }
            } else {
                best.iter_mut()
                    .zip(input)
                    .for_each(|(b, &v)| *b = max(*b, v));
            }
        }
        for (ox, value) in out.iter_mut().enumerate() {
            let (x0, x1) = Geometry::window(ox, sw, pl, kw, g.width);
            let mut at = x0;
            for x in x0..x1 {
                if wins(best[x], best[at]) {
                    at = x;
                }
            }
            *value = best.get(at).copied().unwrap_or(f32::NEG_INFINITY);
            if let Some(from) = from.as_deref_mut() {
                let y = row.get(at).copied().unwrap_or(y0 as u32) as usize;
                from[oy * ow + ox] = (y * g.width + at) as u32;
            }
        }
    }
}

/// The input gradient: each output gradient added to the input it came from.
pub fn backward(g: &Geometry, from: &[u32], grad: &[f32]) -> Vec<f32> {
    let mut dx = vec![0.0; g.planes * g.plane()];
    dx.par_chunks_mut(g.plane())
        .zip(from.par_chunks(g.out_plane()))
        .zip(grad.par_chunks(g.out_plane()))
        .with_min_len(PLANES_PER_TASK)
        .for_each(|((dx, from), grad)| {
            for (&i, &d) in from.iter().zip(grad) {
                dx[i as usize] += d;
            }
        });
    dx
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The definition: the largest value of each window, padding ignored.
    fn naive(g: &Geometry, x: &[f32]) -> Vec<f32> {
        let mut out = Vec::new();
        for plane in x.chunks(g.plane()) {
            for oy in 0..g.out[0] {
                for ox in 0..g.out[1] {
                    let mut best = f32::NEG_INFINITY;
                    for i in 0..g.kernel[0] {
                        for j in 0..g.kernel[1] {
                            let y = (oy * g.stride[0] + i) as isize - g.pad[0] as isize;
                            let xx = (ox * g.stride[1] + j) as isize - g.pad[1] as isize;
                            if (0..g.height as isize).contains(&y)
                                && (0..g.width as isize).contains(&xx)
                            {
                                best = best.max(plane[y as usize * g.width + xx as usize]);
                            }
                        }
                    }
                    out.push(best);
                }
            }
        }
        out
    }

    fn geometries() -> Vec<Geometry> {
        let g = |planes, size: [usize; 2], kernel, stride, pad, out| Geometry {
            planes,
            height: size[0],
            width: size[1],
            kernel,
            stride,
            pad,
            out,
        };
        vec![
            g(70, [28, 28], [2, 2], [2, 2], [0, 0], [14, 14]),
            g(3, [14, 14], [5, 5], [3, 3], [1, 1], [5, 5]), // TF SAME: pads (1, 2)
            g(2, [7, 9], [3, 2], [2, 3], [1, 0], [4, 3]),
        ]
    }

    fn values(n: usize) -> Vec<f32> {
        // Distinct values, so that the winner of each window is unique.
        (0..n)
            .map(|i| ((i * 7919) % n) as f32 - n as f32 / 2.0)
            .collect()
    }

    #[test]
    fn forward_takes_the_window_maximum() {
        for g in geometries() {
            let x = values(g.planes * g.plane());
            let (out, from) = forward(&g, &x, true);
            let from = from.unwrap();
            assert_eq!(out, naive(&g, &x));
            assert_eq!(forward(&g, &x, false), (out.clone(), None));
            for (p, (o, f)) in out
                .chunks(g.out_plane())
                .zip(from.chunks(g.out_plane()))
                .enumerate()
            {
                for (v, &i) in o.iter().zip(f) {
                    assert_eq!(*v, x[p * g.plane() + i as usize]);
                }
            }
        }
    }

    #[test]
    fn nan_propagates() {
        let g = geometries()[0];
        let mut x = values(g.planes * g.plane());
        x[29] = f32::NAN;
        let (out, _) = forward(&g, &x, false);
        assert!(out[0].is_nan());
        assert!(!out[1].is_nan());
    }

    #[test]
    fn backward_sends_each_gradient_to_its_winner() {
        for g in geometries() {
            let x = values(g.planes * g.plane());
            let from = forward(&g, &x, true).1.unwrap();
            let grad: Vec<f32> = (0..from.len()).map(|i| i as f32 + 1.0).collect();
            let dx = backward(&g, &from, &grad);
            // The derivative of sum(out * grad) by each input, by finite differences of the
            // exact forward (values are integers, so a step of 0.5 changes no winner).
            let dot = |x: &[f32]| -> f64 {
                let out = naive(&g, x);
                out.iter()
                    .zip(&grad)
                    .map(|(o, d)| f64::from(*o) * f64::from(*d))
                    .sum()
            };
            let base = dot(&x);
            for i in (0..x.len()).step_by(53) {
                let mut bumped = x.clone();
                bumped[i] += 0.5;
                let numeric = (dot(&bumped) - base) / 0.5;
                assert!(
                    (numeric - f64::from(dx[i])).abs() < 1e-3,
                    "input {i}: {numeric} vs {}",
                    dx[i]
                );
            }
        }
    }
}
