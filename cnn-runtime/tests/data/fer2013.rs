use cnn_runtime::data::{Fer2013Mode, Split, fer2013};

use crate::{TempDir, gzip};

const USAGES: [&str; 3] = ["Training", "PublicTest", "PrivateTest"];

/// Pixels of row `i`: `(i * 7 + j) % 256`.
fn pixels(i: usize) -> Vec<u8> {
    (0..48 * 48).map(|j| ((i * 7 + j) % 256) as u8).collect()
}

/// A `fer2013.csv` in Kaggle's format: 21 rows, row `i` has emotion `i % 7` and Usage
/// `USAGES[i % 3]`, so every split has each emotion once.
pub fn csv() -> String {
    let mut text = String::from("emotion,pixels,Usage\n");
    for i in 0..21 {
        let p: Vec<String> = pixels(i).iter().map(u8::to_string).collect();
        text += &format!("{},{},{}\n", i % 7, p.join(" "), USAGES[i % 3]);
    }
    text
}

#[test]
fn seven_class_splits_by_usage() {
    let dir = TempDir::new("fer-seven");
    std::fs::write(dir.join("fer2013.csv"), csv()).unwrap();
    let d = fer2013::load(dir.path(), Fer2013Mode::SevenClass).unwrap();
    assert_eq!((d.name.as_str(), d.shape), ("FER2013", [1, 48, 48]));
    assert_eq!(
        d.class_names,
        [
            "Angry", "Disgust", "Fear", "Happy", "Sad", "Surprise", "Neutral"
        ]
    );
    let validation = d.split(Split::Validation).unwrap();
    for (set, usage) in [(&d.train, 0), (validation, 1), (&d.test, 2)] {
        assert_eq!(set.label_histogram(), [1; 7]);
        // Rows i with i % 3 == usage, in file order.
        let rows: Vec<usize> = (0..21).filter(|i| i % 3 == usage).collect();
        for (k, &i) in rows.iter().enumerate() {
            assert_eq!(usize::from(set.labels()[k]), i % 7);
            assert_eq!(set.image(k), pixels(i));
        }
    }
}

#[test]
fn binary_mode_keeps_angry_and_happy_relabelled_and_reads_gzip() {
    let dir = TempDir::new("fer-binary");
    let path = dir.join("fer2013.csv.gz");
    std::fs::write(&path, gzip(csv().as_bytes())).unwrap();
    for source in [path.as_path(), dir.path()] {
        let d = fer2013::load(source, Fer2013Mode::Binary).unwrap();
        assert_eq!(d.class_names, ["Angry", "Happy"]);
        // Training rows are 0, 3, ..., 18; Angry is row 0 (emotion 0) and Happy row 3.
        assert_eq!(d.train.labels(), [0, 1]);
        assert_eq!(d.train.image(0), pixels(0));
        assert_eq!(d.train.image(1), pixels(3));
        assert_eq!(d.test.label_histogram(), [1, 1]);
        assert_eq!(d.validation.unwrap().label_histogram(), [1, 1]);
    }
}
