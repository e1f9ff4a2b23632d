// A byte-order mark and CRLF line endings, as editors on Windows save files.
cnn::cnn_from_json!("bom_and_crlf.json");

fn main() {
    assert_eq!(WindowsNet::INPUT, [1, 8, 8]);
    assert_eq!(WindowsNet::CLASSES, 3);
}
