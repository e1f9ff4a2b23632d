//! Shape inference: from an [`ArchFile`] and an input shape to a checked [`Network`] in which
//! every layer knows its input and output shape, padding, parameters and multiply-adds.

use std::fmt;

use crate::diagnostic::{Diagnostic, Diagnostics, Position};
use crate::spec::*;

/// What a layer produces: an image `[channels, height, width]` or a flat vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Image([usize; 3]),
    Flat(usize),
}

impl Shape {
    /// Number of values per example.
    pub fn len(self) -> usize {
        match self {
            Shape::Image([c, h, w]) => c * h * w,
            Shape::Flat(n) => n,
        }
    }

    pub fn is_empty(self) -> bool {
        self.len() == 0
    }

    /// Channels of an image; the length of a flat vector (what a batch norm normalises).
    pub fn channels(self) -> usize {
        match self {
            Shape::Image([c, _, _]) => c,
            Shape::Flat(n) => n,
        }
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Shape::Image([c, h, w]) => write!(f, "{c}x{h}x{w}"),
            Shape::Flat(n) => write!(f, "{n}"),
        }
    }
}

/// Values that the file may lack or that the caller overrides (the macro's `name = ...`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Overrides {
    pub name: Option<String>,
    pub input: Option<[usize; 3]>,
    pub classes: Option<usize>,
}

/// A checked network: every listed layer plus the output layer (implicit, or the final `T`),
/// with shapes.
#[derive(Debug, Clone, PartialEq)]
pub struct Network {
    pub name: String,
    pub input: [usize; 3],
    pub classes: usize,
    /// The listed layers, then the output layer to the classes (an implicit `Dense` with no
    /// activation, or the file's `T`).
    pub layers: Vec<PlannedLayer>,
}

/// One layer with everything needed to build it.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedLayer {
    /// 1-based position in the file; the output layer comes after the last listed one.
    pub index: usize,
    /// The Rust field name: `conv1`, `pool2`, `fc1`, `dropout1`, `output`.
    pub field: String,
    pub layer: Layer,
    pub input: Shape,
    pub output: Shape,
    /// Zeros added `[top, left, bottom, right]` (always zero for `FC`).
    pub pads: [usize; 4],
    pub params: usize,
    /// Multiply-adds per example.
    pub macs: u64,
}

impl PlannedLayer {
    pub fn input_channels(&self) -> usize {
        self.input.channels()
    }

    pub fn is_output(&self) -> bool {
        self.field == "output"
    }

    /// `C relu 64 3x3/1 same, dropout 8.3%`.
    pub fn description(&self) -> String {
        let mut text = match &self.layer {
            Layer::Terminal(_) => format!("{} {}", self.layer, self.output),
            _ if self.is_output() => format!("FC {}", self.output),
            _ => self.layer.to_string(),
        };
        if let Layer::Conv(Conv { padding, .. }) | Layer::Pool(Pool { padding, .. }) = &self.layer {
            text.push_str(&format!(" {padding}"));
        }
        if self.layer.batch_norm() {
            text.push_str(", batch norm");
        }
        if self.layer.drop_out() > 0.0 {
            text.push_str(&format!(", dropout {}%", self.layer.drop_out()));
        }
        text
    }
}

impl Network {
    pub fn params(&self) -> usize {
        self.layers.iter().map(|l| l.params).sum()
    }

    pub fn macs(&self) -> u64 {
        self.layers.iter().map(|l| l.macs).sum()
    }
}

/// Checks `file` with `overrides` applied, reporting every shape problem at once.
pub fn plan(file: &ArchFile, overrides: &Overrides) -> Result<Network, Diagnostics> {
    let mut errors = Diagnostics::default();
    match plan_into(file, overrides, &mut errors) {
        Some(network) => errors.into_result(network),
        None => {
            if errors.is_empty() {
                errors.push(Diagnostic::nowhere("the layer list is incomplete".into()));
            }
            errors.sort();
            Err(errors)
        }
    }
}

/// Like [`plan`], adding problems to `errors`; `None` when there is nothing to build.
pub(crate) fn plan_into(
    file: &ArchFile,
    overrides: &Overrides,
    errors: &mut Diagnostics,
) -> Option<Network> {
    let at = |message: String| match file.pos {
        Some(pos) => Diagnostic::at(pos, message),
        None => Diagnostic::nowhere(message),
    };
    let input = overrides.input.or(file.input);
    let classes = overrides.classes.or(file.classes);
    if input.is_none() {
        errors.push(at("missing input shape: add `\"input\": [channels, height, width]` to the file, or `input = [1, 28, 28]` to the macro call".into()));
    }
    if classes.is_none() {
        errors.push(at("missing number of classes: add `\"classes\": 10` to the file, or `classes = 10` to the macro call".into()));
    }
    let mut unusable = false;
    if let Some(0) = classes {
        errors.push(at("`classes` must be at least 1".into()));
        unusable = true;
    }
    if let Some(n) = classes.filter(|&n| n > MAX_SIZE) {
        errors.push(at(format!(
            "`classes` is {n}, above the limit of {MAX_SIZE}"
        )));
        unusable = true;
    }
    if let Some(shape) = input.filter(|s| s.contains(&0)) {
        errors.push(at(format!("input shape {shape:?} has a zero size")));
        unusable = true;
    }
    if let Some(shape) = input.filter(|s| s.iter().any(|&d| d > MAX_SIZE)) {
        errors.push(at(format!(
            "input shape {shape:?} has a size above the limit of {MAX_SIZE}"
        )));
        unusable = true;
    }
    if let Some(shape) =
        input.filter(|s| s.iter().map(|&d| d as u128).product::<u128>() > MAX_VALUES)
    {
        errors.push(at(format!(
            "input shape {shape:?} has more than {MAX_VALUES} values per image"
        )));
        unusable = true;
    }
    if file.layers.is_empty() && !file.truncated {
        errors.push(at(
            "the layer list is empty: list at least one `C`, `P` or `FC` layer".into(),
        ));
    }
    // Nothing that depends on a bad input shape or class count is computed.
    let (input, classes) = (input?, classes?);
    if unusable {
        return None;
    }
    let name = overrides.name.clone().or_else(|| file.name.clone());
    if let Some(problem) = overrides
        .name
        .as_deref()
        .and_then(crate::read::keyword_problem)
    {
        errors.push(at(format!("the name given: {problem}")));
        return None;
    }
    let layers = plan_layers(file, input, classes, errors)?;
    if file.truncated {
        // The layers after a broken one are unknown: there is no network to return.
        return None;
    }
    Some(Network {
        name: name.unwrap_or_else(|| "Cnn".into()),
        input,
        classes,
        layers,
    })
}

fn plan_layers(
    file: &ArchFile,
    input: [usize; 3],
    classes: usize,
    errors: &mut Diagnostics,
) -> Option<Vec<PlannedLayer>> {
    let mut counters = Counters::default();
    let mut shape = Shape::Image(input);
    let mut planned = Vec::new();
    let mut complete = true;
    let (mut total, mut total_macs): (u128, u128) = (0, 0);
    let last = file.layers.len();
    for (i, spec) in file.layers.iter().enumerate() {
        let label = format!("layer {} ({})", i + 1, spec.layer);
        if matches!(spec.layer, Layer::Terminal(_)) && i + 1 == last {
            // The output layer, written out: it takes the implicit one's place below.
            break;
        }
        let checked = step(&spec.layer, shape).and_then(|planned| {
            total += planned.2 as u128;
            total_macs += u128::from(planned.3);
            within_network(total, total_macs).map(|()| planned)
        });
        match checked {
            Ok((output, pads, params, macs)) => {
                planned.push(PlannedLayer {
                    index: i + 1,
                    field: counters.next(&spec.layer),
                    layer: spec.layer.clone(),
                    input: shape,
                    output,
                    pads,
                    params,
                    macs,
                });
                shape = output;
            }
            Err(message) => {
                let pos = spec.pos.unwrap_or(Position { line: 1, column: 1 });
                errors.push(Diagnostic::at(pos, message).in_layer(&label));
                complete = false;
                break;
            }
        }
    }
    let to_classes = Layer::Dense(Dense {
        num_output: classes,
        activation: Activation::None,
        drop_out: 0.0,
        batch_norm: false,
    });
    let (out_shape, pads, params, macs) = match step(&to_classes, shape).and_then(|planned| {
        let macs = total_macs + u128::from(planned.3);
        within_network(total + planned.2 as u128, macs).map(|()| planned)
    }) {
        Ok(planned) => planned,
        Err(message) => {
            let pos = file.pos.unwrap_or(Position { line: 1, column: 1 });
            errors.push(Diagnostic::at(pos, message).in_layer("the output layer"));
            return None;
        }
    };
    let (index, layer) = match file.layers.last() {
        Some(
            spec @ LayerSpec {
                layer: Layer::Terminal(_),
                ..
            },
        ) => (last, spec.layer.clone()),
        _ => (last + 1, to_classes),
    };
    planned.push(PlannedLayer {
        index,
        field: "output".into(),
        layer,
        input: shape,
        output: out_shape,
        pads,
        params,
        macs,
    });
    complete.then_some(planned)
}

#[derive(Default)]
struct Counters {
    conv: usize,
    pool: usize,
    fc: usize,
    dropout: usize,
}

impl Counters {
    fn next(&mut self, layer: &Layer) -> String {
        let (prefix, counter) = match layer {
            Layer::Conv(_) => ("conv", &mut self.conv),
            Layer::Pool(_) => ("pool", &mut self.pool),
            Layer::Dense(_) => ("fc", &mut self.fc),
            Layer::DropOut(_) => ("dropout", &mut self.dropout),
            Layer::Terminal(_) => return "output".into(),
        };
        *counter += 1;
        format!("{prefix}{counter}")
    }
}

type Step = (Shape, [usize; 4], usize, u64);

/// A network's parameters and multiply-adds so far, unless they pass [`MAX_PARAMS`] or
/// [`MAX_MACS`] (so that the totals fit `usize` and `u64`).
fn within_network(params: u128, macs: u128) -> Result<(), String> {
    if params > MAX_PARAMS {
        return Err(format!(
            "the network has {params} parameters up to here, above the limit of {MAX_PARAMS}"
        ));
    }
    if macs > MAX_MACS {
        return Err(format!(
            "the network takes {macs} multiply-adds per example up to here, above the limit of {MAX_MACS}"
        ));
    }
    Ok(())
}

/// A layer's output shape, padding, parameters and multiply-adds, counted in `u128` and
/// checked against the limits before they become `usize` and `u64`.
fn checked(output: Shape, pads: [usize; 4], params: u128, macs: u128) -> Result<Step, String> {
    let values = match output {
        Shape::Image([c, h, w]) => c as u128 * h as u128 * w as u128,
        Shape::Flat(n) => n as u128,
    };
    if values > MAX_VALUES {
        return Err(format!(
            "its output would hold {values} values per example, above the limit of {MAX_VALUES}"
        ));
    }
    if params > MAX_PARAMS {
        return Err(format!(
            "it would have {params} parameters, above the limit of {MAX_PARAMS}"
        ));
    }
    if macs > MAX_MACS {
        return Err(format!(
            "it would take {macs} multiply-adds per example, above the limit of {MAX_MACS}"
        ));
    }
    Ok((output, pads, params as usize, macs as u64))
}

/// One layer's output shape, padding, parameters and multiply-adds, or why it cannot be built.
fn step(layer: &Layer, input: Shape) -> Result<Step, String> {
    match (layer, input) {
        (Layer::Dense(d), _) => {
            let (n, units) = (input.len() as u128, d.num_output as u128);
            let bn = if d.batch_norm { 2 * units } else { 0 };
            checked(
                Shape::Flat(d.num_output),
                [0; 4],
                n * units + units + bn,
                n * units,
            )
        }
        (Layer::Conv(c), Shape::Image([ch, h, w])) => {
            let (out_h, out_w, pads) = window(c.kernel_size, c.stride, c.padding, [h, w])?;
            let [kh, kw] = c.kernel_size.map(|k| k as u128);
            let (per_filter, filters) = (kh * kw * ch as u128, c.num_output as u128);
            let bn = if c.batch_norm { 2 * filters } else { 0 };
            let params = per_filter * filters + filters + bn;
            let macs = out_h as u128 * out_w as u128 * filters * per_filter;
            let output = Shape::Image([c.num_output, out_h, out_w]);
            checked(output, pads, params, macs)
        }
        (Layer::Pool(p), Shape::Image([ch, h, w])) => {
            let (out_h, out_w, pads) = window(p.kernel_size, p.stride, p.padding, [h, w])?;
            Ok((Shape::Image([ch, out_h, out_w]), pads, 0, 0))
        }
        (Layer::DropOut(_), _) => Ok((input, [0; 4], 0, 0)),
        (Layer::Terminal(_), _) => {
            Err("a `T` layer is the output layer to the classes: it must be the last layer".into())
        }
        (_, Shape::Flat(n)) => Err(format!(
            "a {} layer cannot follow an FC layer: its input is already flat ({n} values); put `C` and `P` layers before the first `FC`",
            layer.type_name()
        )),
    }
}

/// Output size and `[top, left, bottom, right]` padding of a sliding window.
fn window(
    kernel: [usize; 2],
    stride: [usize; 2],
    padding: Padding,
    input: [usize; 2],
) -> Result<(usize, usize, [usize; 4]), String> {
    let (pads_h, pads_w) = match padding {
        Padding::Same => (
            same_padding(input[0], kernel[0], stride[0]),
            same_padding(input[1], kernel[1], stride[1]),
        ),
        Padding::Valid => ((0, 0), (0, 0)),
        Padding::Explicit([h, w]) => ((h, h), (w, w)),
    };
    let padded = [
        input[0] + pads_h.0 + pads_h.1,
        input[1] + pads_w.0 + pads_w.1,
    ];
    if padded[0] < kernel[0] || padded[1] < kernel[1] {
        let padded_note = match padding {
            Padding::Explicit(_) => format!(" (padded to {}x{})", padded[0], padded[1]),
            _ => String::new(),
        };
        return Err(format!(
            "input {}x{}{padded_note} is smaller than the kernel {}x{} with padding {padding}; the output would be empty",
            input[0], input[1], kernel[0], kernel[1]
        ));
    }
    let out = |i: usize| (padded[i] - kernel[i]) / stride[i] + 1;
    Ok((out(0), out(1), [pads_h.0, pads_w.0, pads_h.1, pads_w.1]))
}

/// TensorFlow's `SAME`: output = ceil(input / stride), the odd extra zero at the end.
fn same_padding(input: usize, kernel: usize, stride: usize) -> (usize, usize) {
    let out = input.div_ceil(stride);
    let total = ((out - 1) * stride + kernel).saturating_sub(input);
    (total / 2, total - total / 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_padding_follows_tensorflow() {
        assert_eq!(same_padding(28, 3, 1), (1, 1));
        assert_eq!(same_padding(28, 2, 2), (0, 0));
        assert_eq!(same_padding(14, 5, 3), (1, 2));
        assert_eq!(same_padding(7, 2, 2), (0, 1));
        assert_eq!(same_padding(1, 5, 3), (2, 2));
    }

    #[test]
    fn window_sizes() {
        assert_eq!(
            window([3, 3], [1, 1], Padding::Same, [28, 28]).unwrap().0,
            28
        );
        assert_eq!(
            window([5, 5], [3, 3], Padding::Same, [14, 14]).unwrap().0,
            5
        );
        assert_eq!(
            window([5, 5], [3, 3], Padding::Valid, [14, 14]).unwrap().0,
            4
        );
        assert_eq!(
            window([3, 3], [1, 1], Padding::Explicit([1, 1]), [5, 5])
                .unwrap()
                .0,
            5
        );
        let err = window([5, 5], [3, 3], Padding::Valid, [1, 1]).unwrap_err();
        assert_eq!(
            err,
            "input 1x1 is smaller than the kernel 5x5 with padding valid; the output would be empty"
        );
    }
}
