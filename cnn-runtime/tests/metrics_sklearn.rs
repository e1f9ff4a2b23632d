//! `ConfusionMatrix` and `ClassificationReport` against scikit-learn 1.9.1.
//!
//! Every expected value below is a literal copied from the output of
//! `tests/sklearn_expected.py` (`classification_report(..., labels=range(n), digits=2,
//! zero_division=0)`, `precision_recall_fscore_support` and `confusion_matrix`); these tests
//! do not run Python.

use cnn_runtime::eval::metrics::{ClassificationReport, ConfusionMatrix, MetricsError};

struct Case {
    y_true: &'static [usize],
    y_pred: &'static [usize],
    num_classes: usize,
    names: &'static [&'static str],
    report: &'static str,
    precision: &'static [f64],
    recall: &'static [f64],
    f1: &'static [f64],
    support: &'static [u64],
    /// precision, recall, f1
    macro_avg: [f64; 3],
    weighted_avg: [f64; 3],
    accuracy: f64,
    confusion: &'static [&'static [u64]],
}

/// Three named classes; the precision of "cat" is 5/8, a rounding tie (0.625 -> "0.62").
const BASIC: Case = Case {
    y_true: &[0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2],
    y_pred: &[0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 2, 2, 2, 0, 1, 2],
    num_classes: 3,
    names: &["cat", "dog", "bird"],
    report: "              precision    recall  f1-score   support\n\n         cat       0.62      0.83      0.71         6\n         dog       0.50      0.50      0.50         4\n        bird       1.00      0.67      0.80         6\n\n    accuracy                           0.69        16\n   macro avg       0.71      0.67      0.67        16\nweighted avg       0.73      0.69      0.69        16\n",
    precision: &[0.625, 0.5, 1.0],
    recall: &[0.8333333333333334, 0.5, 0.6666666666666666],
    f1: &[0.7142857142857143, 0.5, 0.8],
    support: &[6, 4, 6],
    macro_avg: [0.7083333333333334, 0.6666666666666666, 0.6714285714285714],
    weighted_avg: [0.734375, 0.6875, 0.6928571428571428],
    accuracy: 0.6875,
    confusion: &[&[5, 1, 0], &[2, 2, 0], &[1, 1, 4]],
};

/// "truck" occurs but is never predicted: precision 0 by zero_division=0.
const NEVER_PREDICTED: Case = Case {
    y_true: &[0, 1, 2, 3, 3, 0, 1, 2, 0, 1, 3, 2],
    y_pred: &[0, 1, 2, 0, 1, 0, 2, 2, 0, 1, 2, 2],
    num_classes: 4,
    names: &["airplane", "automobile", "ship", "truck"],
    report: "              precision    recall  f1-score   support\n\n    airplane       0.75      1.00      0.86         3\n  automobile       0.67      0.67      0.67         3\n        ship       0.60      1.00      0.75         3\n       truck       0.00      0.00      0.00         3\n\n    accuracy                           0.67        12\n   macro avg       0.50      0.67      0.57        12\nweighted avg       0.50      0.67      0.57        12\n",
    precision: &[0.75, 0.6666666666666666, 0.6, 0.0],
    recall: &[1.0, 0.6666666666666666, 1.0, 0.0],
    f1: &[0.8571428571428571, 0.6666666666666666, 0.75, 0.0],
    support: &[3, 3, 3, 3],
    macro_avg: [0.5041666666666667, 0.6666666666666666, 0.5684523809523809],
    weighted_avg: [0.5041666666666667, 0.6666666666666666, 0.5684523809523809],
    accuracy: 0.6666666666666666,
    confusion: &[&[3, 0, 0, 0], &[0, 2, 1, 0], &[0, 0, 3, 0], &[1, 1, 1, 0]],
};

/// Class 2 is predicted but never occurs; class 3 occurs nowhere. Default (numeric) names.
const ABSENT_FROM_TRUE: Case = Case {
    y_true: &[0, 0, 1, 1, 1, 0, 1, 0],
    y_pred: &[0, 2, 1, 1, 2, 0, 0, 0],
    num_classes: 4,
    names: &[],
    report: "              precision    recall  f1-score   support\n\n           0       0.75      0.75      0.75         4\n           1       1.00      0.50      0.67         4\n           2       0.00      0.00      0.00         0\n           3       0.00      0.00      0.00         0\n\n    accuracy                           0.62         8\n   macro avg       0.44      0.31      0.35         8\nweighted avg       0.88      0.62      0.71         8\n",
    precision: &[0.75, 1.0, 0.0, 0.0],
    recall: &[0.75, 0.5, 0.0, 0.0],
    f1: &[0.75, 0.6666666666666666, 0.0, 0.0],
    support: &[4, 4, 0, 0],
    macro_avg: [0.4375, 0.3125, 0.35416666666666663],
    weighted_avg: [0.875, 0.625, 0.7083333333333333],
    accuracy: 0.625,
    confusion: &[&[3, 0, 1, 0], &[1, 2, 1, 0], &[0, 0, 0, 0], &[0, 0, 0, 0]],
};

/// Ten classes, one name longer than "weighted avg" (it sets the name column's width).
const TEN_CLASSES_LONG_NAME: Case = Case {
    y_true: &[
        9, 6, 6, 8, 5, 7, 8, 2, 0, 3, 2, 8, 9, 0, 4, 8, 1, 7, 1, 4, 8, 3, 3, 2, 7, 2, 9, 4, 4, 5,
        5, 5, 5, 9, 8, 7, 7, 6, 3, 9, 4, 2, 8, 1, 8, 6, 1, 0, 4, 0, 1, 5, 9, 4, 8, 9, 8, 6, 4, 5,
    ],
    y_pred: &[
        9, 6, 6, 8, 5, 7, 8, 2, 4, 3, 2, 7, 9, 0, 7, 3, 1, 7, 1, 1, 8, 3, 3, 2, 7, 2, 0, 4, 4, 5,
        6, 3, 0, 9, 8, 7, 7, 6, 9, 9, 5, 2, 7, 9, 8, 1, 4, 9, 4, 0, 1, 7, 9, 4, 6, 1, 8, 6, 4, 5,
    ],
    num_classes: 10,
    names: &[
        "zero",
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "a_very_long_class_name",
    ],
    report: "                        precision    recall  f1-score   support\n\n                  zero       0.50      0.50      0.50         4\n                   one       0.50      0.60      0.55         5\n                   two       1.00      1.00      1.00         5\n                 three       0.60      0.75      0.67         4\n                  four       0.71      0.62      0.67         8\n                  five       0.75      0.43      0.55         7\n                   six       0.67      0.80      0.73         5\n                 seven       0.56      1.00      0.71         5\n                 eight       1.00      0.60      0.75        10\na_very_long_class_name       0.62      0.71      0.67         7\n\n              accuracy                           0.68        60\n             macro avg       0.69      0.70      0.68        60\n          weighted avg       0.72      0.68      0.68        60\n",
    precision: &[
        0.5,
        0.5,
        1.0,
        0.6,
        0.7142857142857143,
        0.75,
        0.6666666666666666,
        0.5555555555555556,
        1.0,
        0.625,
    ],
    recall: &[
        0.5,
        0.6,
        1.0,
        0.75,
        0.625,
        0.42857142857142855,
        0.8,
        1.0,
        0.6,
        0.7142857142857143,
    ],
    f1: &[
        0.5,
        0.5454545454545454,
        1.0,
        0.6666666666666666,
        0.6666666666666666,
        0.5454545454545454,
        0.7272727272727273,
        0.7142857142857143,
        0.75,
        0.6666666666666666,
    ],
    support: &[4, 5, 5, 4, 8, 7, 5, 5, 10, 7],
    macro_avg: [0.6911507936507937, 0.7017857142857143, 0.6782467532467533],
    weighted_avg: [0.7225066137566138, 0.6833333333333333, 0.6819985569985569],
    accuracy: 0.6833333333333333,
    confusion: &[
        &[2, 0, 0, 0, 1, 0, 0, 0, 0, 1],
        &[0, 3, 0, 0, 1, 0, 0, 0, 0, 1],
        &[0, 0, 5, 0, 0, 0, 0, 0, 0, 0],
        &[0, 0, 0, 3, 0, 0, 0, 0, 0, 1],
        &[0, 1, 0, 0, 5, 1, 0, 1, 0, 0],
        &[1, 0, 0, 1, 0, 3, 1, 1, 0, 0],
        &[0, 1, 0, 0, 0, 0, 4, 0, 0, 0],
        &[0, 0, 0, 0, 0, 0, 0, 5, 0, 0],
        &[0, 0, 0, 1, 0, 0, 1, 2, 6, 0],
        &[1, 1, 0, 0, 0, 0, 0, 0, 0, 5],
    ],
};

const CASES: [(&str, Case); 4] = [
    ("basic", BASIC),
    ("never_predicted", NEVER_PREDICTED),
    ("absent_from_true", ABSENT_FROM_TRUE),
    ("ten_classes_long_name", TEN_CLASSES_LONG_NAME),
];

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12
}

fn assert_all_close(what: &str, got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(close(*g, *w), "{what}[{i}]: got {g}, sklearn {w}");
    }
}

fn report(case: &Case) -> ClassificationReport {
    ClassificationReport::new(case.y_true, case.y_pred, case.num_classes, case.names).unwrap()
}

#[test]
fn report_text_is_sklearns_byte_for_byte() {
    for (name, case) in &CASES {
        assert_eq!(report(case).to_string(), case.report, "case {name}");
    }
}

#[test]
fn per_class_numbers_match_sklearn() {
    for (name, case) in &CASES {
        let r = report(case);
        let col = |get: fn(&cnn_runtime::eval::metrics::ClassMetrics) -> f64| {
            r.classes().iter().map(get).collect::<Vec<_>>()
        };
        assert_all_close(
            &format!("{name} precision"),
            &col(|c| c.precision),
            case.precision,
        );
        assert_all_close(&format!("{name} recall"), &col(|c| c.recall), case.recall);
        assert_all_close(&format!("{name} f1"), &col(|c| c.f1), case.f1);
        let support: Vec<u64> = r.classes().iter().map(|c| c.support).collect();
        assert_eq!(support, case.support, "{name} support");
    }
}

#[test]
fn averages_and_accuracy_match_sklearn() {
    for (name, case) in &CASES {
        let r = report(case);
        let total = case.y_true.len() as u64;
        for (what, avg, want) in [
            ("macro", r.macro_avg(), case.macro_avg),
            ("weighted", r.weighted_avg(), case.weighted_avg),
        ] {
            assert_all_close(
                &format!("{name} {what} avg"),
                &[avg.precision, avg.recall, avg.f1],
                &want,
            );
            assert_eq!(avg.support, total);
        }
        assert!(close(r.accuracy(), case.accuracy), "{name} accuracy");
        assert!(
            close(r.error_rate(), 1.0 - case.accuracy),
            "{name} error rate"
        );
        assert_eq!(r.total(), total);
    }
}

#[test]
fn confusion_matrix_matches_sklearn() {
    for (name, case) in &CASES {
        let cm = ConfusionMatrix::new(case.y_true, case.y_pred, case.num_classes).unwrap();
        let want: Vec<Vec<u64>> = case.confusion.iter().map(|r| r.to_vec()).collect();
        assert_eq!(cm.to_vecs(), want, "case {name}");
        assert_eq!(cm.total(), case.y_true.len() as u64);
        assert!(close(cm.accuracy(), case.accuracy), "{name} accuracy");
        for c in 0..case.num_classes {
            assert_eq!(cm.support(c), case.support[c]);
            assert!(close(cm.precision(c), case.precision[c]));
            assert!(close(cm.recall(c), case.recall[c]));
            assert!(close(cm.f1(c), case.f1[c]));
        }
        // The report built from the matrix is the same as the one built from labels.
        let cm = if case.names.is_empty() {
            cm
        } else {
            cm.with_class_names(case.names.iter().copied()).unwrap()
        };
        assert_eq!(cm.report(), report(case), "case {name}");
    }
}

#[test]
fn confusion_matrix_display_and_markdown() {
    let cm = ConfusionMatrix::new(BASIC.y_true, BASIC.y_pred, 3)
        .unwrap()
        .with_class_names(BASIC.names.iter().copied())
        .unwrap();
    assert_eq!(
        cm.to_string(),
        "true \\ predicted  cat  dog  bird\n\
         \x20            cat    5    1     0\n\
         \x20            dog    2    2     0\n\
         \x20           bird    1    1     4\n"
    );
    assert_eq!(
        cm.to_markdown(),
        "| true \\ predicted | cat | dog | bird |\n\
         |---|--:|--:|--:|\n\
         | **cat** | 5 | 1 | 0 |\n\
         | **dog** | 2 | 2 | 0 |\n\
         | **bird** | 1 | 1 | 4 |\n"
    );
    assert_eq!(cm.class_names(), ["cat", "dog", "bird"]);
    assert_eq!(cm.correct(), 11);
    assert_eq!(cm.predicted(0), 8);
    assert!(close(cm.error_rate(), 5.0 / 16.0));
}

#[test]
fn invalid_input_is_an_error() {
    assert_eq!(
        ConfusionMatrix::new(&[0, 1], &[0], 2),
        Err(MetricsError::LengthMismatch {
            y_true: 2,
            y_pred: 1
        })
    );
    assert_eq!(
        ConfusionMatrix::new(&[0, 1], &[0, 2], 2),
        Err(MetricsError::LabelOutOfRange {
            which: "y_pred",
            index: 1,
            label: 2,
            num_classes: 2
        })
    );
    assert!(matches!(
        ClassificationReport::new(&[5], &[0], 3, &["a", "b", "c"]),
        Err(MetricsError::LabelOutOfRange {
            which: "y_true",
            ..
        })
    ));
    assert_eq!(
        ClassificationReport::new(&[0], &[0], 2, &["only one"]),
        Err(MetricsError::ClassNameCount {
            expected: 2,
            got: 1
        })
    );
    assert_eq!(
        ConfusionMatrix::new(&[], &[], 0),
        Err(MetricsError::NoClasses)
    );
    let err = ConfusionMatrix::new(&[0, 7], &[0, 0], 3).unwrap_err();
    assert_eq!(
        err.to_string(),
        "y_true[1] = 7 is not a class index below 3"
    );
}

#[test]
fn no_samples_gives_zeros() {
    let r = ClassificationReport::new(&[], &[], 2, &[] as &[&str]).unwrap();
    assert_eq!(r.accuracy(), 0.0);
    assert_eq!(r.error_rate(), 0.0);
    assert_eq!(r.weighted_avg().f1, 0.0);
    assert_eq!(r.total(), 0);
}
