//! The float type convolutions multiply in (`--conv-precision`): `f32` (the default), or a
//! half-precision type for mixed precision as in PyTorch's autocast. Weights, optimizer state,
//! activations between layers and the loss stay `f32`; each convolution casts its input,
//! weights and bias to the half type, multiplies there (with `f32` accumulation in burn's
//! matmuls) and casts its output back, and the gradients take the same casts in reverse.
//!
//! Why: on GPUs the half types are what reaches the tensor cores (NVIDIA's Vulkan driver has
//! cooperative matrices for `f16` and `bf16` inputs, none for `f32`). `bf16` keeps `f32`'s
//! range; `f16` has three more bits of precision but flushes values under 6e-8 to zero and
//! keeps only a few bits under 6e-5, which small gradients reach, so the backward pass scales
//! gradients into the half type's range first (`conv::mixed`, for both types). On the CPU both
//! are slower than `f32`.

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU8, Ordering};

use burn::tensor::{DType, Device};

/// The float type convolutions multiply in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConvPrecision {
    /// Full precision (the default).
    #[default]
    F32,
    /// bfloat16: `f32`'s range, 8 significant bits.
    Bf16,
    /// IEEE half: 11 significant bits, range 6e-8 to 65504.
    F16,
}

/// A precision this device cannot compute in, or an unknown name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrecisionError {
    #[error(
        "this device cannot compute in {0} (its driver lacks the type); use --conv-precision f32{1}"
    )]
    Unsupported(ConvPrecision, &'static str),
    #[error("unknown convolution precision `{0}`; expected f32, bf16 or f16")]
    Unknown(String),
}

impl ConvPrecision {
    pub const ALL: [ConvPrecision; 3] =
        [ConvPrecision::F32, ConvPrecision::Bf16, ConvPrecision::F16];

    pub fn name(self) -> &'static str {
        match self {
            ConvPrecision::F32 => "f32",
            ConvPrecision::Bf16 => "bf16",
            ConvPrecision::F16 => "f16",
        }
    }

    /// The tensor element type convolutions compute in.
    pub fn dtype(self) -> DType {
        match self {
            ConvPrecision::F32 => DType::F32,
            ConvPrecision::Bf16 => DType::BF16,
            ConvPrecision::F16 => DType::F16,
        }
    }

    /// Whether `device` computes in this type: checked before training, because burn computes
    /// garbage in a type the device lacks instead of failing.
    pub fn check(self, device: &Device) -> Result<(), PrecisionError> {
        if device.supports_dtype(self.dtype()) {
            return Ok(());
        }
        let other = match self {
            ConvPrecision::Bf16 if device.supports_dtype(DType::F16) => " or f16",
            ConvPrecision::F16 if device.supports_dtype(DType::BF16) => " or bf16",
            _ => "",
        };
        Err(PrecisionError::Unsupported(self, other))
    }

    /// [`check`](Self::check)s `device`, then makes this the precision of every convolution
    /// generated networks run ([`set_conv_precision`]).
    pub fn select(self, device: &Device) -> Result<(), PrecisionError> {
        self.check(device)?;
        set_conv_precision(self);
        Ok(())
    }
}

impl fmt::Display for ConvPrecision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ConvPrecision {
    type Err = PrecisionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| PrecisionError::Unknown(s.to_owned()))
    }
}

/// The process-wide setting, read by every generated network's convolutions (which take no
/// options of their own), as PyTorch's `torch.backends.cudnn.allow_tf32` is.
static CONV_PRECISION: AtomicU8 = AtomicU8::new(0);

/// Sets the precision of every convolution that generated networks run from now on.
pub fn set_conv_precision(precision: ConvPrecision) {
    // `ALL` lists the variants in declaration order, so a variant's discriminant indexes it.
    CONV_PRECISION.store(precision as u8, Ordering::Relaxed);
}

/// The precision set by [`set_conv_precision`] (`f32` until then).
pub fn conv_precision() -> ConvPrecision {
    ConvPrecision::ALL[CONV_PRECISION.load(Ordering::Relaxed) as usize]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the process-wide setting relies on to store a precision as a number.
    #[test]
    fn variants_index_all_by_their_discriminant() {
        for (i, p) in ConvPrecision::ALL.into_iter().enumerate() {
            assert_eq!(p as usize, i, "{p}");
        }
    }

    #[test]
    fn names_round_trip_and_unknown_names_are_explained() {
        for p in ConvPrecision::ALL {
            assert_eq!(p.name().parse::<ConvPrecision>(), Ok(p));
        }
        assert_eq!("BF16".parse::<ConvPrecision>(), Ok(ConvPrecision::Bf16));
        let err = "fp8".parse::<ConvPrecision>().unwrap_err();
        assert!(err.to_string().contains("f32, bf16 or f16"), "{err}");
    }

    #[cfg(feature = "flex")]
    #[test]
    fn the_cpu_computes_in_every_precision() {
        for p in ConvPrecision::ALL {
            assert_eq!(p.check(&Device::flex()), Ok(()));
        }
    }
}
