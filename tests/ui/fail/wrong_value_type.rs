cnn::cnn_from_json!("wrong_value_type.json", input = [1, 28, 28], classes = 10);

fn main() {}
