//! Writes sample plots to a folder, for looking at them:
//! `cargo run -p cnn-runtime --example sample_plots -- /tmp/plots`.

use cnn_runtime::eval::metrics::{ClassificationReport, ConfusionMatrix};
use cnn_runtime::report::history::EpochMetrics;
use cnn_runtime::report::plots::{plot_confusion_matrix, plot_training_curves};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::path::PathBuf::from(std::env::args().nth(1).unwrap_or("plots".into()));
    std::fs::create_dir_all(&dir)?;

    // A made-up run: losses decay, validation levels off.
    let history: Vec<EpochMetrics> = (1..=20)
        .map(|epoch| {
            let t = epoch as f64;
            EpochMetrics {
                epoch,
                train_loss: 2.3 * (-t / 5.0).exp() + 0.1,
                train_error: 0.9 * (-t / 4.0).exp() + 0.02,
                valid_loss: Some(2.3 * (-t / 6.0).exp() + 0.35),
                valid_error: Some(0.9 * (-t / 5.0).exp() + 0.12),
                ..Default::default()
            }
        })
        .collect();
    plot_training_curves(&history, dir.join("curves.png"))?;
    plot_training_curves(&history[..1], dir.join("curves_one_epoch.png"))?;
    let no_valid: Vec<_> = history
        .iter()
        .map(|m| EpochMetrics {
            valid_loss: None,
            valid_error: None,
            ..*m
        })
        .collect();
    plot_training_curves(&no_valid, dir.join("curves_no_validation.png"))?;

    let names = [
        "airplane",
        "automobile",
        "bird",
        "cat",
        "deer",
        "dog",
        "frog",
        "horse",
        "ship",
        "truck",
    ];
    for (n, file) in [(10, "confusion_10.png"), (100, "confusion_100.png")] {
        let (y_true, y_pred) = fake_predictions(n, 50 * n);
        let mut cm = ConfusionMatrix::new(&y_true, &y_pred, n)?;
        if n == names.len() {
            cm = cm.with_class_names(names)?;
            println!("{cm}\n{}", ClassificationReport::from_confusion_matrix(&cm));
        }
        plot_confusion_matrix(&cm, &[] as &[&str], dir.join(file))?;
    }
    println!("wrote plots to {}", dir.display());
    Ok(())
}

/// Labels `i % n`, predicted right about 70% of the time, else a neighbouring class.
fn fake_predictions(n: usize, samples: usize) -> (Vec<usize>, Vec<usize>) {
    let mut state = 12345u64;
    let mut next = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) as usize
    };
    let y_true: Vec<usize> = (0..samples).map(|i| i % n).collect();
    let y_pred = y_true
        .iter()
        .map(|&t| match next() % 10 {
            0..=6 => t,
            7 | 8 => (t + 1 + next() % 2) % n,
            _ => next() % n,
        })
        .collect();
    (y_true, y_pred)
}
