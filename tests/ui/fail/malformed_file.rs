cnn::cnn_from_json!("malformed_file.json", input = [1, 28, 28], classes = 10);

fn main() {}
