//! Which random transforms training images get: a crop of the zero-padded image, and for
//! datasets whose classes are mirror-symmetric, a horizontal flip.

use std::fmt;
use std::str::FromStr;

/// A random crop after `pad` pixels of zero padding on each side (a shift of up to `pad`
/// pixels each way), then a horizontal flip with probability 1/2 where `flip` is set.
///
/// Written `crop-flip`, `crop`, or with the padding, `crop-flip:4`, `crop:2`. Digits must not
/// be flipped (`crop`); clothes and CIFAR's objects may (`crop-flip`).
///
/// ```
/// use cnn_runtime::data::Augment;
/// let digits: Augment = "crop:2".parse().unwrap();
/// assert_eq!(digits, Augment { pad: 2, flip: false });
/// assert_eq!("crop-flip".parse::<Augment>().unwrap(), Augment::CROP_FLIP);
/// assert!("flip".parse::<Augment>().unwrap_err().contains("crop-flip"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Augment {
    pub pad: usize,
    pub flip: bool,
}

impl Augment {
    /// The CIFAR recipe: 4 pixels of padding, flips.
    pub const CROP_FLIP: Augment = Augment {
        pad: Self::DEFAULT_PAD,
        flip: true,
    };
    /// The padding when a description leaves it out.
    pub const DEFAULT_PAD: usize = 4;
    /// The most padding a description may ask for: beyond it most crops are mostly black.
    pub const MAX_PAD: usize = 16;
}

impl FromStr for Augment {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (kind, pad) = match s.split_once(':') {
            Some((kind, pad)) => (kind, Some(pad)),
            None => (s, None),
        };
        let flip = match kind {
            "crop-flip" => true,
            "crop" => false,
            _ => {
                return Err(format!(
                    "unknown augmentation `{s}`; expected `crop-flip`, `crop`, or either with \
                     the padding, as in `crop:2`"
                ));
            }
        };
        let pad = match pad {
            None => Self::DEFAULT_PAD,
            Some(text) => text
                .parse()
                .ok()
                .filter(|p| (1..=Self::MAX_PAD).contains(p))
                .ok_or_else(|| {
                    format!(
                        "the padding `{text}` in augmentation `{s}` is not a whole number \
                         from 1 to {}",
                        Self::MAX_PAD
                    )
                })?,
        };
        Ok(Augment { pad, flip })
    }
}

impl fmt::Display for Augment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.flip { "crop-flip" } else { "crop" };
        write!(f, "{kind}:{}", self.pad)
    }
}

/// Serde for an `Option<Augment>` as its description (`"crop:2"`) or `null`; a run saved
/// before augmentations had settings stored `true` (CIFAR's recipe) or `false`, and still
/// reads.
pub mod compat {
    use super::Augment;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &Option<Augment>, s: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(augment) => s.collect_str(augment),
            None => s.serialize_none(),
        }
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Stored {
        Flag(bool),
        Text(String),
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Augment>, D::Error> {
        match Option::<Stored>::deserialize(d)? {
            None | Some(Stored::Flag(false)) => Ok(None),
            Some(Stored::Flag(true)) => Ok(Some(Augment::CROP_FLIP)),
            Some(Stored::Text(text)) => text.parse().map(Some).map_err(serde::de::Error::custom),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
    struct Saved {
        #[serde(with = "compat", default)]
        augment: Option<Augment>,
    }

    #[test]
    fn descriptions_round_trip() {
        for text in ["crop-flip:4", "crop:2", "crop:16"] {
            assert_eq!(text.parse::<Augment>().unwrap().to_string(), text);
        }
        assert_eq!("crop".parse::<Augment>().unwrap().pad, Augment::DEFAULT_PAD);
        for bad in ["crop:0", "crop:17", "crop:x", "crop-flip:", "shift"] {
            assert!(bad.parse::<Augment>().is_err(), "{bad}");
        }
    }

    #[test]
    fn saved_runs_read_old_and_new_forms() {
        let read = |json: &str| serde_json::from_str::<Saved>(json).unwrap().augment;
        assert_eq!(read(r#"{"augment": true}"#), Some(Augment::CROP_FLIP));
        assert_eq!(read(r#"{"augment": false}"#), None);
        assert_eq!(read(r#"{"augment": null}"#), None);
        assert_eq!(
            read(r#"{"augment": "crop:2"}"#),
            Some(Augment {
                pad: 2,
                flip: false
            })
        );
        let saved = Saved {
            augment: Some(Augment { pad: 3, flip: true }),
        };
        let json = serde_json::to_string(&saved).unwrap();
        assert_eq!(json, r#"{"augment":"crop-flip:3"}"#);
        assert!(serde_json::from_str::<Saved>(r#"{"augment": "crop:99"}"#).is_err());
    }
}
