//! The study's plots: the best reward so far against trials and hours (one line per study
//! when several are compared), and validation accuracy against multiply-adds with the
//! Pareto front.

use std::path::{Path, PathBuf};

use cnn_runtime::report::plots::{FONT, PlotError, draw_error, register_font};
use plotters::prelude::*;

use super::StudyTrials;
use crate::study::{Trial, TrialState};

const SIZE: (u32, u32) = (1100, 450);
const COLORS: [RGBColor; 4] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0xff, 0x7f, 0x0e),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0xd6, 0x27, 0x28),
];

type DrawResult = Result<(), Box<dyn std::error::Error>>;
/// `(trials, hours, best reward so far)` points of one study.
type Progression = Vec<(f64, f64, f64)>;

/// `(trial index, hours since the study began, best reward so far)` at each finished trial.
fn best_so_far(study: &StudyTrials) -> Progression {
    let mut finished: Vec<&Trial> = study
        .trials
        .iter()
        .filter(|t| t.state.is_final() && t.state != TrialState::Invalid)
        .collect();
    finished.sort_by(|a, b| {
        a.finished
            .unwrap_or(0.0)
            .total_cmp(&b.finished.unwrap_or(0.0))
    });
    let mut best = f64::NEG_INFINITY;
    finished
        .iter()
        .enumerate()
        .map(|(i, t)| {
            best = best.max(t.reward.unwrap_or(f64::NEG_INFINITY));
            let hours = (t.finished.unwrap_or(study.created) - study.created) / 3600.0;
            ((i + 1) as f64, hours, best)
        })
        .filter(|p| p.2.is_finite())
        .collect()
}

/// Two panels: best reward so far against trials, and against hours.
pub fn best_so_far_plot(studies: &[&StudyTrials], path: &Path) -> Result<PathBuf, PlotError> {
    register_font()?;
    let series: Vec<(String, Progression)> = studies
        .iter()
        .map(|s| (s.label.clone(), best_so_far(s)))
        .collect();
    let root = BitMapBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(|e| draw_error(path, &e))?;
    let panels = root.split_evenly((1, 2));
    let by_trials: Vec<_> = series
        .iter()
        .map(|(l, p)| (l, p.iter().map(|p| (p.0, p.2)).collect::<Vec<_>>()))
        .collect();
    // Short studies read better in minutes.
    let longest = series
        .iter()
        .flat_map(|(_, p)| p.iter().map(|p| p.1))
        .fold(0.0, f64::max);
    let (unit, scale) = if longest < 2.0 {
        ("minutes", 60.0)
    } else {
        ("hours", 1.0)
    };
    let by_time: Vec<_> = series
        .iter()
        .map(|(l, p)| (l, p.iter().map(|p| (p.1 * scale, p.2)).collect::<Vec<_>>()))
        .collect();
    lines(&panels[0], "best reward so far", "trials", &by_trials)
        .map_err(|e| draw_error(path, &*e))?;
    lines(&panels[1], "best reward so far", unit, &by_time).map_err(|e| draw_error(path, &*e))?;
    root.present().map_err(|e| draw_error(path, &e))?;
    Ok(path.into())
}

fn lines<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    title: &str,
    x_label: &str,
    series: &[(&String, Vec<(f64, f64)>)],
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let points = series.iter().flat_map(|s| s.1.iter());
    let (x_max, (y_min, y_max)) = points.fold(
        (1e-9f64, (f64::INFINITY, f64::NEG_INFINITY)),
        |(x, (lo, hi)), p| (x.max(p.0), (lo.min(p.1), hi.max(p.1))),
    );
    let (y_min, y_max) = if y_min.is_finite() {
        (y_min, y_max.max(y_min + 0.01))
    } else {
        (0.0, 1.0)
    };
    let pad = (y_max - y_min) * 0.05;
    let mut chart = ChartBuilder::on(area)
        .caption(title, (FONT, 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..x_max * 1.02, (y_min - pad)..(y_max + pad))?;
    chart
        .configure_mesh()
        .x_desc(x_label)
        .y_desc("reward")
        .y_label_formatter(&|y| format!("{y:.3}"))
        .label_style((FONT, 14))
        .draw()?;
    for (i, (label, points)) in series.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        chart
            .draw_series(LineSeries::new(
                points.iter().copied(),
                color.stroke_width(2),
            ))?
            .label(label.as_str())
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], color.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .label_font((FONT, 14))
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}

/// The trained trials that no other beats in both accuracy and multiply-adds, by cost.
pub fn pareto_front(trials: &[Trial]) -> Vec<(f64, f64)> {
    let mut points: Vec<(f64, f64)> = trials
        .iter()
        .filter_map(|t| Some((t.macs? as f64, t.accuracy?)))
        .collect();
    points.sort_by(|a, b| a.0.total_cmp(&b.0).then(b.1.total_cmp(&a.1)));
    let mut front: Vec<(f64, f64)> = Vec::new();
    for p in points {
        if front.last().is_none_or(|last| p.1 > last.1) {
            front.push(p);
        }
    }
    front
}

/// Validation accuracy against multiply-adds per image (log scale), the front as a line.
pub fn pareto(trials: &[Trial], path: &Path) -> Result<PathBuf, PlotError> {
    register_font()?;
    let root = BitMapBackend::new(path, (800, 550)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| draw_error(path, &e))?;
    scatter(&root, trials).map_err(|e| draw_error(path, &*e))?;
    root.present().map_err(|e| draw_error(path, &e))?;
    Ok(path.into())
}

fn scatter<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    trials: &[Trial],
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let points: Vec<(f64, f64)> = trials
        .iter()
        .filter_map(|t| Some((t.macs?.max(1) as f64, t.accuracy?)))
        .collect();
    let x = points.iter().fold((f64::INFINITY, 1.0f64), |(lo, hi), p| {
        (lo.min(p.0), hi.max(p.0))
    });
    let x = if x.0.is_finite() {
        (x.0 / 1.5, x.1 * 1.5)
    } else {
        (1.0, 10.0)
    };
    let y_min = points.iter().map(|p| p.1).fold(1.0f64, f64::min);
    let mut chart = ChartBuilder::on(area)
        .caption("validation accuracy against multiply-adds", (FONT, 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d((x.0..x.1).log_scale(), (y_min - 0.02).max(0.0)..1.0)?;
    chart
        .configure_mesh()
        .x_desc("multiply-adds per image")
        .x_label_formatter(&|x| short(*x))
        .y_desc("accuracy")
        .label_style((FONT, 14))
        .draw()?;
    chart.draw_series(
        points
            .iter()
            .map(|&p| Circle::new(p, 3, COLORS[0].mix(0.6).filled())),
    )?;
    let front = pareto_front(trials);
    chart.draw_series(LineSeries::new(
        front.iter().copied(),
        COLORS[3].stroke_width(2),
    ))?;
    chart.draw_series(front.iter().map(|&p| Circle::new(p, 4, COLORS[3].filled())))?;
    Ok(())
}

/// `1.2M`, `350k`: a count short enough for an axis label.
fn short(x: f64) -> String {
    match x {
        x if x >= 1e9 => format!("{:.1}G", x / 1e9),
        x if x >= 1e6 => format!("{:.1}M", x / 1e6),
        x if x >= 1e3 => format!("{:.0}k", x / 1e3),
        x => format!("{x:.0}"),
    }
}
