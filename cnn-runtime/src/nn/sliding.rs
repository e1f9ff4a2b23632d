//! The sizes a sliding window (convolution or pooling kernel) gives over an image: the zero
//! rows and columns before it, and the output size, for the padding kinds our kernels take.

use burn::nn::PaddingConfig2d;

/// Padding `[top, left]` and output `[height, width]` of a `kernel` moved by `stride` over
/// `size`, for explicit or valid padding; `None` for other padding or a kernel larger than the
/// padded input.
pub fn window(
    padding: &PaddingConfig2d,
    size: [usize; 2],
    kernel: [usize; 2],
    stride: [usize; 2],
) -> Option<([usize; 2], [usize; 2])> {
    let (top, left, bottom, right) = match *padding {
        PaddingConfig2d::Explicit(top, left, bottom, right) => (top, left, bottom, right),
        PaddingConfig2d::Valid => (0, 0, 0, 0),
        _ => return None,
    };
    let out = |i: usize, pads: usize| {
        (size[i] + pads)
            .checked_sub(kernel[i])
            .map(|span| span / stride[i] + 1)
    };
    Some(([top, left], [out(0, top + bottom)?, out(1, left + right)?]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_follow_the_padding() {
        let same = PaddingConfig2d::Explicit(1, 1, 2, 2);
        assert_eq!(
            window(&same, [14, 14], [5, 5], [3, 3]),
            Some(([1, 1], [5, 5]))
        );
        let valid = PaddingConfig2d::Valid;
        assert_eq!(
            window(&valid, [28, 27], [2, 2], [2, 2]),
            Some(([0, 0], [14, 13]))
        );
        assert_eq!(window(&valid, [3, 3], [5, 5], [1, 1]), None);
        assert_eq!(window(&PaddingConfig2d::Same, [3, 3], [3, 3], [1, 1]), None);
    }
}
