cnn::cnn_from_json!("dropout_out_of_range.json", input = [1, 28, 28], classes = 10);

fn main() {}
