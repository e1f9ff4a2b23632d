cnn::cnn_from_json!("missing_field.json", input = [1, 28, 28], classes = 10);

fn main() {}
