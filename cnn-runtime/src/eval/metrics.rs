//! Classification metrics: a confusion matrix and a per-class report that prints and
//! computes exactly like scikit-learn's `classification_report` with
//! `labels=range(num_classes)`, `digits=2` and `zero_division=0`.

use std::fmt;

use serde::Serialize;

/// Invalid input to a metric.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetricsError {
    /// `y_true` and `y_pred` have different lengths.
    #[error("y_true has {y_true} labels but y_pred has {y_pred}")]
    LengthMismatch { y_true: usize, y_pred: usize },
    /// A label is not below `num_classes`.
    #[error("{which}[{index}] = {label} is not a class index below {num_classes}")]
    LabelOutOfRange {
        which: &'static str,
        index: usize,
        label: usize,
        num_classes: usize,
    },
    /// `num_classes` is zero.
    #[error("num_classes must be at least 1")]
    NoClasses,
    /// The number of class names differs from the number of classes.
    #[error("{got} class names given for {expected} classes")]
    ClassNameCount { expected: usize, got: usize },
}

/// Counts of (true class, predicted class) pairs; rows are true classes, columns predictions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConfusionMatrix {
    class_names: Vec<String>,
    /// Row-major `num_classes x num_classes`.
    counts: Vec<u64>,
}

impl ConfusionMatrix {
    /// Counts the pairs `(y_true[i], y_pred[i])`. Classes are named `"0"`, `"1"`, ... until
    /// [`with_class_names`](Self::with_class_names) renames them.
    pub fn new(
        y_true: &[usize],
        y_pred: &[usize],
        num_classes: usize,
    ) -> Result<Self, MetricsError> {
        if num_classes == 0 {
            return Err(MetricsError::NoClasses);
        }
        if y_true.len() != y_pred.len() {
            return Err(MetricsError::LengthMismatch {
                y_true: y_true.len(),
                y_pred: y_pred.len(),
            });
        }
        check_labels("y_true", y_true, num_classes)?;
        check_labels("y_pred", y_pred, num_classes)?;
        let mut counts = vec![0; num_classes * num_classes];
        for (&t, &p) in y_true.iter().zip(y_pred) {
            counts[t * num_classes + p] += 1;
        }
        let class_names = (0..num_classes).map(|c| c.to_string()).collect();
        Ok(Self {
            class_names,
            counts,
        })
    }

    /// Replaces the class names; there must be exactly one per class.
    pub fn with_class_names<S: Into<String>>(
        mut self,
        names: impl IntoIterator<Item = S>,
    ) -> Result<Self, MetricsError> {
        let names: Vec<String> = names.into_iter().map(Into::into).collect();
        if names.len() != self.num_classes() {
            return Err(MetricsError::ClassNameCount {
                expected: self.num_classes(),
                got: names.len(),
            });
        }
        self.class_names = names;
        Ok(self)
    }

    /// Number of classes.
    pub fn num_classes(&self) -> usize {
        self.class_names.len()
    }

    /// Class names, indexed by class.
    pub fn class_names(&self) -> &[String] {
        &self.class_names
    }

    /// How many samples of class `true_class` were predicted as `predicted_class`.
    ///
    /// # Panics
    /// If either index is not below [`num_classes`](Self::num_classes).
    pub fn count(&self, true_class: usize, predicted_class: usize) -> u64 {
        assert!(
            predicted_class < self.num_classes(),
            "class index out of range"
        );
        self.row(true_class)[predicted_class]
    }

    /// The counts for one true class, indexed by predicted class.
    ///
    /// # Panics
    /// If `true_class` is not below [`num_classes`](Self::num_classes).
    pub fn row(&self, true_class: usize) -> &[u64] {
        let n = self.num_classes();
        &self.counts[true_class * n..(true_class + 1) * n]
    }

    /// All rows, one per true class.
    pub fn rows(&self) -> impl Iterator<Item = &[u64]> {
        self.counts.chunks(self.num_classes())
    }

    /// The counts as nested vectors (`[true][predicted]`), like sklearn's `confusion_matrix`.
    pub fn to_vecs(&self) -> Vec<Vec<u64>> {
        self.rows().map(<[u64]>::to_vec).collect()
    }

    /// The largest count (0 for no samples).
    pub fn max_count(&self) -> u64 {
        self.counts.iter().copied().max().unwrap_or(0)
    }

    /// Number of samples.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Number of correctly classified samples (the diagonal).
    pub fn correct(&self) -> u64 {
        (0..self.num_classes()).map(|c| self.count(c, c)).sum()
    }

    /// Samples whose true class is `class` (the row sum).
    pub fn support(&self, class: usize) -> u64 {
        self.row(class).iter().sum()
    }

    /// Samples predicted as `class` (the column sum).
    pub fn predicted(&self, class: usize) -> u64 {
        self.rows().map(|row| row[class]).sum()
    }

    /// `tp / predicted`, 0 when the class is never predicted.
    pub fn precision(&self, class: usize) -> f64 {
        ratio(self.count(class, class), self.predicted(class))
    }

    /// `tp / support`, 0 when the class never occurs.
    pub fn recall(&self, class: usize) -> f64 {
        ratio(self.count(class, class), self.support(class))
    }

    /// F1 score, computed as sklearn does (`2 tp / (support + predicted)`), 0 when undefined.
    pub fn f1(&self, class: usize) -> f64 {
        ratio(
            2 * self.count(class, class),
            self.support(class) + self.predicted(class),
        )
    }

    /// Fraction of samples classified correctly (0 for no samples).
    pub fn accuracy(&self) -> f64 {
        ratio(self.correct(), self.total())
    }

    /// `1 - accuracy` (0 for no samples).
    pub fn error_rate(&self) -> f64 {
        ratio(self.total() - self.correct(), self.total())
    }

    /// The per-class report for these counts.
    pub fn report(&self) -> ClassificationReport {
        ClassificationReport::from_confusion_matrix(self)
    }

    /// A Markdown table, rows true classes and columns predicted classes.
    pub fn to_markdown(&self) -> String {
        let mut out = String::from("| true \\ predicted |");
        for name in &self.class_names {
            out.push_str(&format!(" {} |", escape_markdown(name)));
        }
        out.push_str("\n|---|");
        out.push_str(&"--:|".repeat(self.num_classes()));
        out.push('\n');
        for (name, row) in self.class_names.iter().zip(self.rows()) {
            out.push_str(&format!("| **{}** |", escape_markdown(name)));
            for count in row {
                out.push_str(&format!(" {count} |"));
            }
            out.push('\n');
        }
        out
    }
}

impl fmt::Display for ConfusionMatrix {
    /// A right-aligned text table; rows are true classes, columns predicted classes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const CORNER: &str = "true \\ predicted";
        let name_width = self
            .class_names
            .iter()
            .map(|n| n.chars().count())
            .chain([CORNER.len()])
            .max()
            .unwrap_or(0);
        let count_width = self.max_count().to_string().len();
        let widths: Vec<usize> = self
            .class_names
            .iter()
            .map(|n| n.chars().count().max(count_width))
            .collect();
        write!(f, "{CORNER:>name_width$}")?;
        for (name, w) in self.class_names.iter().zip(&widths) {
            write!(f, "  {name:>w$}")?;
        }
        writeln!(f)?;
        for (name, row) in self.class_names.iter().zip(self.rows()) {
            write!(f, "{name:>name_width$}")?;
            for (count, w) in row.iter().zip(&widths) {
                write!(f, "  {count:>w$}")?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}

/// Precision, recall, F1 and support of one class or one average.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassMetrics {
    /// Class name, or `"macro avg"` / `"weighted avg"`.
    pub name: String,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// Number of samples of this class (for averages: all samples).
    pub support: u64,
}

/// Per-class precision, recall, F1 and support, with accuracy and macro/weighted averages,
/// matching scikit-learn's `classification_report(..., labels=range(num_classes),
/// zero_division=0)`. Classes that never occur are included with support 0.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassificationReport {
    classes: Vec<ClassMetrics>,
    accuracy: f64,
    error_rate: f64,
    macro_avg: ClassMetrics,
    weighted_avg: ClassMetrics,
}

impl ClassificationReport {
    /// Builds the report from labels. `class_names` must hold one name per class, or be
    /// empty to name the classes `"0"`, `"1"`, ...
    pub fn new<S: AsRef<str>>(
        y_true: &[usize],
        y_pred: &[usize],
        num_classes: usize,
        class_names: &[S],
    ) -> Result<Self, MetricsError> {
        let mut cm = ConfusionMatrix::new(y_true, y_pred, num_classes)?;
        if !class_names.is_empty() {
            cm = cm.with_class_names(class_names.iter().map(|s| s.as_ref()))?;
        }
        Ok(Self::from_confusion_matrix(&cm))
    }

    /// Builds the report from a confusion matrix, using its class names.
    pub fn from_confusion_matrix(cm: &ConfusionMatrix) -> Self {
        let classes: Vec<ClassMetrics> = (0..cm.num_classes())
            .map(|c| ClassMetrics {
                name: cm.class_names()[c].clone(),
                precision: cm.precision(c),
                recall: cm.recall(c),
                f1: cm.f1(c),
                support: cm.support(c),
            })
            .collect();
        let total = cm.total();
        let n = classes.len() as f64;
        let mean = |get: fn(&ClassMetrics) -> f64| classes.iter().map(get).sum::<f64>() / n;
        // sklearn's np.average(weights=support); all-zero weights count as 0 (zero_division=0).
        let weighted = |get: fn(&ClassMetrics) -> f64| {
            if total == 0 {
                0.0
            } else {
                let sum: f64 = classes.iter().map(|c| get(c) * c.support as f64).sum();
                sum / total as f64
            }
        };
        let average = |name: &str, avg: &dyn Fn(fn(&ClassMetrics) -> f64) -> f64| ClassMetrics {
            name: name.to_string(),
            precision: avg(|c| c.precision),
            recall: avg(|c| c.recall),
            f1: avg(|c| c.f1),
            support: total,
        };
        let macro_avg = average("macro avg", &mean);
        let weighted_avg = average("weighted avg", &weighted);
        Self {
            accuracy: cm.accuracy(),
            error_rate: cm.error_rate(),
            classes,
            macro_avg,
            weighted_avg,
        }
    }

    /// One entry per class, in class order.
    pub fn classes(&self) -> &[ClassMetrics] {
        &self.classes
    }

    /// Fraction of samples classified correctly.
    pub fn accuracy(&self) -> f64 {
        self.accuracy
    }

    /// `1 - accuracy` (0 for no samples).
    pub fn error_rate(&self) -> f64 {
        self.error_rate
    }

    /// Number of samples.
    pub fn total(&self) -> u64 {
        self.macro_avg.support
    }

    /// Unweighted mean over all classes (including those with support 0).
    pub fn macro_avg(&self) -> &ClassMetrics {
        &self.macro_avg
    }

    /// Mean over classes weighted by support.
    pub fn weighted_avg(&self) -> &ClassMetrics {
        &self.weighted_avg
    }
}

impl fmt::Display for ClassificationReport {
    /// The text of sklearn's `classification_report(..., digits=2)`, byte for byte.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Python pads by code points; so does Rust's `{:>w$}` on `str`.
        let width = self
            .classes
            .iter()
            .map(|c| c.name.chars().count())
            .chain(["weighted avg".len()])
            .max()
            .unwrap_or(0);
        let row = |f: &mut fmt::Formatter<'_>, m: &ClassMetrics| {
            writeln!(
                f,
                "{:>width$}  {:>9.2} {:>9.2} {:>9.2} {:>9}",
                m.name, m.precision, m.recall, m.f1, m.support
            )
        };
        writeln!(
            f,
            "{:>width$}  {:>9} {:>9} {:>9} {:>9}",
            "", "precision", "recall", "f1-score", "support"
        )?;
        writeln!(f)?;
        for class in &self.classes {
            row(f, class)?;
        }
        writeln!(f)?;
        writeln!(
            f,
            "{:>width$}  {:>9} {:>9} {:>9.2} {:>9}",
            "accuracy",
            "",
            "",
            self.accuracy,
            self.total()
        )?;
        row(f, &self.macro_avg)?;
        row(f, &self.weighted_avg)
    }
}

fn check_labels(
    which: &'static str,
    labels: &[usize],
    num_classes: usize,
) -> Result<(), MetricsError> {
    match labels.iter().position(|&l| l >= num_classes) {
        Some(index) => Err(MetricsError::LabelOutOfRange {
            which,
            index,
            label: labels[index],
            num_classes,
        }),
        None => Ok(()),
    }
}

/// `num / den`, 0 when `den` is 0 (sklearn's `zero_division=0`).
fn ratio(num: u64, den: u64) -> f64 {
    if den == 0 {
        0.0
    } else {
        num as f64 / den as f64
    }
}

fn escape_markdown(s: &str) -> String {
    s.replace('|', "\\|")
}
