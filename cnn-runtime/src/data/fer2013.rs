//! FER2013 facial expressions: Kaggle's `fer2013.csv` (`emotion,pixels,Usage`, 48x48 grey),
//! gzip'd or not. Training is the train split, PublicTest the validation split and
//! PrivateTest the test split.

/// The folder its files go in under the data root ([`super::data_root`]), as its publisher
/// names it.
pub const FOLDER: &str = "fer2013";

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

use super::files::{self, Source};
use super::{DataError, Dataset, ImageSet};

const SHAPE: [usize; 3] = [1, 48, 48];
const PIXELS: usize = 48 * 48;
const HEADER: [&str; 3] = ["emotion", "pixels", "Usage"];
const EMOTIONS: [&str; 7] = [
    "Angry", "Disgust", "Fear", "Happy", "Sad", "Surprise", "Neutral",
];

const SOURCE: Source = Source {
    dataset: "FER2013",
    url: "https://www.kaggle.com/c/challenges-in-representation-learning-facial-expression-recognition-challenge/data",
    files: &["fer2013.csv"],
    gz_ok: true,
};

/// Which classes to learn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fer2013Mode {
    /// The 7 emotions, labels 0-6 as in the file.
    SevenClass,
    /// Angry (0) against Happy (file label 3, relabelled 1); other rows are dropped.
    Binary,
}

impl Fer2013Mode {
    fn class_names(self) -> Vec<String> {
        let names: &[&str] = match self {
            Fer2013Mode::SevenClass => &EMOTIONS,
            Fer2013Mode::Binary => &["Angry", "Happy"],
        };
        names.iter().map(|&n| n.to_owned()).collect()
    }

    /// The label of a row with `emotion`, or `None` when this mode drops it.
    fn relabel(self, emotion: u16) -> Option<u16> {
        match (self, emotion) {
            (Fer2013Mode::SevenClass, e) => Some(e),
            (Fer2013Mode::Binary, 0) => Some(0),
            (Fer2013Mode::Binary, 3) => Some(1),
            (Fer2013Mode::Binary, _) => None,
        }
    }
}

/// FER2013 from `fer2013.csv[.gz]` itself or from the directory holding it.
pub fn load(path_or_dir: &Path, mode: Fer2013Mode) -> Result<Dataset, DataError> {
    let path = if path_or_dir.is_dir() {
        SOURCE.locate_one(path_or_dir, "fer2013.csv")?
    } else if path_or_dir.is_file() {
        path_or_dir.to_path_buf()
    } else {
        return Err(DataError::MissingFile {
            dataset: SOURCE.dataset,
            path: path_or_dir.to_path_buf(),
            expected: vec!["fer2013.csv[.gz] (or a directory holding it)".into()],
            url: SOURCE.url,
        });
    };
    let [train, validation, test] = read_csv(&path, mode)?;
    Ok(Dataset {
        name: match mode {
            Fer2013Mode::SevenClass => "FER2013".into(),
            Fer2013Mode::Binary => "FER2013 (Angry vs Happy)".into(),
        },
        class_names: mode.class_names(),
        shape: SHAPE,
        train,
        test,
        validation: Some(validation),
    })
}

/// Images for each Usage, in the order Training, PublicTest, PrivateTest.
fn read_csv(path: &Path, mode: Fer2013Mode) -> Result<[ImageSet; 3], DataError> {
    let mut reader = csv::ReaderBuilder::new().from_reader(open(path)?);
    let csv_error = |e: csv::Error| csv_error(path, e);
    let header = reader.headers().map_err(csv_error)?;
    if header.iter().map(str::trim).ne(HEADER) {
        return Err(DataError::Csv {
            path: path.to_path_buf(),
            line: 1,
            message: format!(
                "header is `{}`, expected `emotion,pixels,Usage`",
                header.as_slice()
            ),
        });
    }
    let mut splits: [(Vec<u8>, Vec<u16>); 3] = Default::default();
    let mut record = csv::ByteRecord::new();
    while reader.read_byte_record(&mut record).map_err(csv_error)? {
        let line = record.position().map_or(0, csv::Position::line);
        let row = Row { path, line };
        let emotion = row.emotion(&record[0])?;
        let split = row.usage(&record[2])?;
        let (pixels, labels) = &mut splits[split];
        let start = pixels.len();
        // Parse even rows the mode drops: a bad row is an error in every mode.
        row.pixels(&record[1], pixels)?;
        match mode.relabel(emotion) {
            Some(label) => labels.push(label),
            None => pixels.truncate(start),
        }
    }
    let classes = mode.class_names().len();
    let [a, b, c] = splits.map(|(pixels, labels)| ImageSet::new(pixels, labels, SHAPE, classes));
    Ok([a?, b?, c?])
}

/// The file's text, inflated on the fly when it is gzip'd (the full CSV is ~300 MB).
fn open(path: &Path) -> Result<Box<dyn Read>, DataError> {
    let file = File::open(path).map_err(|e| files::io_error(path, e))?;
    let mut reader = BufReader::new(file);
    let gzip = reader
        .fill_buf()
        .map_err(|e| files::io_error(path, e))?
        .starts_with(&[0x1f, 0x8b]);
    Ok(if gzip {
        Box::new(MultiGzDecoder::new(reader))
    } else {
        Box::new(reader)
    })
}

fn csv_error(path: &Path, e: csv::Error) -> DataError {
    let line = e.position().map_or(0, csv::Position::line);
    DataError::Csv {
        path: path.to_path_buf(),
        line,
        message: e.to_string(),
    }
}

/// Where a row's fields come from, for error messages.
struct Row<'a> {
    path: &'a Path,
    line: u64,
}

impl Row<'_> {
    fn error(&self, message: String) -> DataError {
        DataError::Csv {
            path: self.path.to_path_buf(),
            line: self.line,
            message,
        }
    }

    fn emotion(&self, field: &[u8]) -> Result<u16, DataError> {
        let text = String::from_utf8_lossy(field);
        match text.trim().parse::<u16>() {
            Ok(e) if usize::from(e) < EMOTIONS.len() => Ok(e),
            _ => Err(self.error(format!("emotion `{text}` is not a label 0-6"))),
        }
    }

    /// 0 for Training, 1 for PublicTest, 2 for PrivateTest.
    fn usage(&self, field: &[u8]) -> Result<usize, DataError> {
        match field.trim_ascii() {
            b"Training" => Ok(0),
            b"PublicTest" => Ok(1),
            b"PrivateTest" => Ok(2),
            other => Err(DataError::BadUsage {
                path: PathBuf::from(self.path),
                line: self.line,
                value: String::from_utf8_lossy(other).into_owned(),
            }),
        }
    }

    /// Appends the 2304 space-separated pixels of `field` to `out`.
    fn pixels(&self, field: &[u8], out: &mut Vec<u8>) -> Result<(), DataError> {
        let start = out.len();
        for value in field.split(|&b| b == b' ').filter(|v| !v.is_empty()) {
            let pixel = std::str::from_utf8(value)
                .ok()
                .and_then(|v| v.parse::<u8>().ok())
                .ok_or_else(|| {
                    let text = String::from_utf8_lossy(value);
                    self.error(format!("pixel `{text}` is not an integer 0-255"))
                })?;
            out.push(pixel);
        }
        let found = out.len() - start;
        if found != PIXELS {
            return Err(DataError::PixelCount {
                path: self.path.to_path_buf(),
                line: self.line,
                found,
                expected: PIXELS,
            });
        }
        Ok(())
    }
}
