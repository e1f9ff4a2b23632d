cnn::cnn_from_json!("zero_or_negative_size.json", input = [1, 28, 28], classes = 10);

fn main() {}
