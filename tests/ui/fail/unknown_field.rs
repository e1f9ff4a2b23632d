cnn::cnn_from_json!("unknown_field.json", input = [1, 28, 28], classes = 10);

fn main() {}
