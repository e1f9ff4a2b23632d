//! Bitmap plots of a training run: loss and error-rate curves, and a confusion-matrix
//! heat map. Text uses Noto Sans embedded in the binary, so no system fonts are needed.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::eval::metrics::ConfusionMatrix;
use crate::report::history::EpochMetrics;

/// Pixel size of [`plot_training_curves`]'s image.
pub const CURVES_SIZE: (u32, u32) = (1000, 450);

/// Font family name under which the embedded font is registered with plotters.
pub const FONT: &str = "sans-serif";
/// matplotlib's first two default colours, as in the original TensorFlow figures.
const TRAIN_COLOR: RGBColor = RGBColor(0x1f, 0x77, 0xb4);
const VALID_COLOR: RGBColor = RGBColor(0xff, 0x7f, 0x0e);

/// A plot could not be drawn or written.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    /// The history has no epochs.
    #[error("nothing to plot: the training history is empty")]
    EmptyHistory,
    /// The number of class names differs from the number of classes.
    #[error("{got} class names given for {expected} classes")]
    ClassNameCount { expected: usize, got: usize },
    /// The embedded font could not be registered.
    #[error("the embedded font could not be loaded")]
    Font,
    /// plotters failed to draw or to write the file.
    #[error("cannot draw {}: {message}", path.display())]
    Draw { path: PathBuf, message: String },
}

/// Draws "Losses" and "training error rate" panels side by side (train and, where present,
/// validation values per epoch) into an image of [`CURVES_SIZE`]. The image format follows
/// the extension of `path` (`.png`, `.jpg`, `.bmp`). Non-finite values are left out.
pub fn plot_training_curves(
    history: &[EpochMetrics],
    path: impl AsRef<Path>,
) -> Result<(), PlotError> {
    let path = path.as_ref();
    if history.is_empty() {
        return Err(PlotError::EmptyHistory);
    }
    register_font()?;
    let err = |e: &dyn std::error::Error| draw_error(path, e);
    let root = BitMapBackend::new(path, CURVES_SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let panels = root.split_evenly((1, 2));
    let series = |train: fn(&EpochMetrics) -> f64, valid: fn(&EpochMetrics) -> Option<f64>| {
        let train: Vec<_> = history.iter().map(|m| (m.epoch, train(m))).collect();
        let valid: Vec<_> = history
            .iter()
            .filter_map(|m| Some((m.epoch, valid(m)?)))
            .collect();
        [
            ("train", train, TRAIN_COLOR),
            ("validation", valid, VALID_COLOR),
        ]
    };
    draw_curves(
        &panels[0],
        "Losses",
        "loss",
        &series(|m| m.train_loss, |m| m.valid_loss),
    )
    .map_err(|e| err(&*e))?;
    draw_curves(
        &panels[1],
        "training error rate",
        "error rate",
        &series(|m| m.train_error, |m| m.valid_error),
    )
    .map_err(|e| err(&*e))?;
    root.present().map_err(|e| err(&e))
}

type Series = (&'static str, Vec<(usize, f64)>, RGBColor);
type DrawResult = Result<(), Box<dyn std::error::Error>>;

/// One panel: a line with a marker per point for each non-empty series, and a legend.
fn draw_curves(
    area: &DrawingArea<BitMapBackend<'_>, Shift>,
    title: &str,
    y_desc: &str,
    series: &[Series],
) -> DrawResult {
    let finite = |pts: &Vec<(usize, f64)>| -> Vec<(i64, f64)> {
        pts.iter()
            .filter(|(_, v)| v.is_finite())
            .map(|&(e, v)| (e as i64, v))
            .collect()
    };
    let series: Vec<_> = series
        .iter()
        .map(|(name, pts, color)| (*name, finite(pts), *color))
        .filter(|(_, pts, _)| !pts.is_empty())
        .collect();
    let all = series.iter().flat_map(|(_, pts, _)| pts);
    let (mut x_min, mut x_max) = all.clone().fold((i64::MAX, i64::MIN), |(lo, hi), &(x, _)| {
        (lo.min(x), hi.max(x))
    });
    if x_min > x_max {
        (x_min, x_max) = (1, 1); // every value was non-finite: draw empty axes
    }
    if x_min == x_max {
        // A single epoch: widen the axis so the point sits in the middle.
        (x_min, x_max) = (x_min - 1, x_max + 1);
    }
    let (y_lo, y_hi) = all.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &(_, y)| {
        (lo.min(y), hi.max(y))
    });
    // Start at 0 like an error rate naturally does; negative losses are kept visible.
    let y_min = y_lo.min(0.0);
    let y_max = if y_hi > y_min {
        y_hi + 0.08 * (y_hi - y_min)
    } else {
        y_min + 1.0
    };

    let mut chart = ChartBuilder::on(area)
        .caption(title, (FONT, 22))
        .margin(12)
        .x_label_area_size(48)
        .y_label_area_size(64)
        .build_cartesian_2d(x_min..x_max, y_min..y_max)?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .y_desc(y_desc)
        .x_labels(((x_max - x_min + 1) as usize).min(10))
        .label_style((FONT, 16))
        .axis_desc_style((FONT, 17))
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    for (name, pts, color) in series {
        let style = color.stroke_width(2);
        chart
            .draw_series(LineSeries::new(pts.iter().copied(), style))?
            .label(name)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 24, y)], style));
        chart.draw_series(pts.iter().map(|&p| Circle::new(p, 4, color.filled())))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .label_font((FONT, 16))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .draw()?;
    Ok(())
}

/// Layout of a confusion-matrix image, all in pixels.
struct MatrixLayout {
    cell: u32,
    label_font: u32,
    /// Width of the widest class name at `label_font`.
    label_len: u32,
    /// Column labels are drawn vertically when they do not fit a cell.
    vertical_columns: bool,
}

const MARGIN: u32 = 20;
const TITLE_FONT: u32 = 20;
const TITLE_BAND: u32 = TITLE_FONT + 16;
const LABEL_GAP: u32 = 8;

impl MatrixLayout {
    fn new<S: AsRef<str>>(class_names: &[S]) -> Result<Self, PlotError> {
        register_font()?;
        let n = class_names.len().max(1) as u32;
        // 64 px per cell for 10 classes, 16 px for 100; the image grows with n. Labels
        // stay at 12 px or more so that they remain readable for 100 classes.
        let cell = (1000 / n).clamp(16, 64);
        let label_font = (cell * 3 / 4).clamp(12, 16);
        let font = FontDesc::new(
            FontFamily::Name(FONT),
            f64::from(label_font),
            FontStyle::Normal,
        );
        let label_len = class_names
            .iter()
            .map(|s| font.box_size(s.as_ref()).map(|(w, _)| w))
            .try_fold(0, |acc, w| w.map(|w| acc.max(w)))
            .map_err(|_| PlotError::Font)?;
        Ok(Self {
            cell,
            label_font,
            label_len,
            vertical_columns: label_len + 4 > cell,
        })
    }

    /// Left edge and top edge of the grid.
    fn grid_origin(&self) -> (u32, u32) {
        (MARGIN + TITLE_BAND + self.label_len + LABEL_GAP, MARGIN)
    }

    /// Height of the column labels under the grid.
    fn column_label_height(&self) -> u32 {
        if self.vertical_columns {
            self.label_len
        } else {
            self.label_font + 4
        }
    }

    fn size(&self, n: u32) -> (u32, u32) {
        let (x0, y0) = self.grid_origin();
        let grid = self.cell * n;
        let width = x0 + grid + MARGIN;
        let height = y0 + grid + LABEL_GAP + self.column_label_height() + TITLE_BAND + MARGIN;
        // Keep room for the axis titles even for a single class.
        (width.max(x0 + 120), height)
    }
}

/// Pixel size of [`plot_confusion_matrix`]'s image for these class names: it grows with the
/// number of classes and the length of the longest name.
pub fn confusion_matrix_size<S: AsRef<str>>(class_names: &[S]) -> Result<(u32, u32), PlotError> {
    Ok(MatrixLayout::new(class_names)?.size(class_names.len() as u32))
}

/// Draws `cm` as a heat map (rows true classes, columns predicted classes) with the class
/// names on both axes and the counts in the cells when they fit. `class_names` must hold one
/// name per class, or be empty to use `cm`'s names. The size is
/// [`confusion_matrix_size`]; the format follows the extension of `path`.
pub fn plot_confusion_matrix<S: AsRef<str>>(
    cm: &ConfusionMatrix,
    class_names: &[S],
    path: impl AsRef<Path>,
) -> Result<(), PlotError> {
    let path = path.as_ref();
    let n = cm.num_classes();
    let names: Vec<&str> = if class_names.is_empty() {
        cm.class_names().iter().map(String::as_str).collect()
    } else if class_names.len() == n {
        class_names.iter().map(AsRef::as_ref).collect()
    } else {
        return Err(PlotError::ClassNameCount {
            expected: n,
            got: class_names.len(),
        });
    };
    let layout = MatrixLayout::new(&names)?;
    let size = layout.size(n as u32);
    let root = BitMapBackend::new(path, size).into_drawing_area();
    draw_matrix(&root, cm, &names, &layout, size)
        .and_then(|()| Ok(root.present()?))
        .map_err(|e| draw_error(path, &*e))
}

fn draw_matrix(
    root: &DrawingArea<BitMapBackend<'_>, Shift>,
    cm: &ConfusionMatrix,
    names: &[&str],
    layout: &MatrixLayout,
    (width, height): (u32, u32),
) -> DrawResult {
    root.fill(&WHITE)?;
    let cell = layout.cell as i32;
    let (x0, y0) = layout.grid_origin();
    let (x0, y0) = (x0 as i32, y0 as i32);
    let grid = cell * names.len() as i32;
    let max = cm.max_count().max(1) as f64;
    let label = |anchor| {
        (FONT, layout.label_font)
            .into_font()
            .color(&BLACK)
            .pos(anchor)
    };

    // Cells, with counts when the largest count fits at a readable size.
    let count_font = (cell * 2 / 5).clamp(8, 18) as u32;
    let count_style = (FONT, count_font).into_font();
    let widest = count_style.box_size(&cm.max_count().to_string())?.0 as i32;
    let show_counts = cell >= 24 && widest + 4 <= cell;
    for (t, row) in cm.rows().enumerate() {
        for (p, &count) in row.iter().enumerate() {
            let frac = count as f64 / max;
            let (x, y) = (x0 + p as i32 * cell, y0 + t as i32 * cell);
            root.draw(&Rectangle::new(
                [(x, y), (x + cell, y + cell)],
                blues(frac).filled(),
            ))?;
            if show_counts {
                // White text on dark cells, as sklearn's ConfusionMatrixDisplay does.
                let color = if frac > 0.5 { WHITE } else { BLACK };
                let style = count_style
                    .color(&color)
                    .pos(Pos::new(HPos::Center, VPos::Center));
                root.draw_text(&count.to_string(), &style, (x + cell / 2, y + cell / 2))?;
            }
        }
    }
    root.draw(&Rectangle::new(
        [(x0, y0), (x0 + grid, y0 + grid)],
        BLACK.mix(0.5),
    ))?;

    // Row labels (true classes), right-aligned left of the grid.
    for (i, name) in names.iter().enumerate() {
        let y = y0 + i as i32 * cell + cell / 2;
        let pos = (x0 - LABEL_GAP as i32, y);
        root.draw_text(name, &label(Pos::new(HPos::Right, VPos::Center)), pos)?;
    }
    // Column labels (predictions) under the grid, vertical when they do not fit a cell.
    let below = y0 + grid + LABEL_GAP as i32;
    for (i, name) in names.iter().enumerate() {
        let x = x0 + i as i32 * cell + cell / 2;
        if layout.vertical_columns {
            // Rotated text reads bottom-up and ends at the grid, like matplotlib's.
            let style =
                label(Pos::new(HPos::Right, VPos::Center)).transform(FontTransform::Rotate270);
            root.draw_text(name, &style, (x, below))?;
        } else {
            root.draw_text(name, &label(Pos::new(HPos::Center, VPos::Top)), (x, below))?;
        }
    }

    // Axis titles.
    let title = (FONT, TITLE_FONT).into_font().color(&BLACK);
    let bottom = height as i32 - MARGIN as i32;
    let centre_x = (x0 + grid / 2).min(width as i32 - 60);
    root.draw_text(
        "predicted",
        &title.pos(Pos::new(HPos::Center, VPos::Bottom)),
        (centre_x, bottom),
    )?;
    root.draw_text(
        "true",
        &title
            .pos(Pos::new(HPos::Center, VPos::Top))
            .transform(FontTransform::Rotate270),
        (MARGIN as i32, y0 + grid / 2),
    )?;
    Ok(())
}

/// matplotlib's "Blues" colour map (ColorBrewer's nine stops), `t` in `[0, 1]`.
fn blues(t: f64) -> RGBColor {
    const STOPS: [(u8, u8, u8); 9] = [
        (0xf7, 0xfb, 0xff),
        (0xde, 0xeb, 0xf7),
        (0xc6, 0xdb, 0xef),
        (0x9e, 0xca, 0xe1),
        (0x6b, 0xae, 0xd6),
        (0x42, 0x92, 0xc6),
        (0x21, 0x71, 0xb5),
        (0x08, 0x51, 0x9c),
        (0x08, 0x30, 0x6b),
    ];
    let x = t.clamp(0.0, 1.0) * (STOPS.len() - 1) as f64;
    let i = (x.floor() as usize).min(STOPS.len() - 2);
    let f = x - i as f64;
    let (a, b) = (STOPS[i], STOPS[i + 1]);
    let mix = |a: u8, b: u8| (f64::from(a) + (f64::from(b) - f64::from(a)) * f).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// Registers the embedded font once per process; plotters keeps fonts in a global table.
/// Registers the embedded font with plotters (once); every plot calls it before drawing text.
pub fn register_font() -> Result<(), PlotError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        plotters::style::register_font(FONT, FontStyle::Normal, ttf_noto_sans::REGULAR).is_ok()
    });
    if ok { Ok(()) } else { Err(PlotError::Font) }
}

/// A plotters error while drawing `path`.
pub fn draw_error(path: &Path, e: &dyn std::error::Error) -> PlotError {
    PlotError::Draw {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}
