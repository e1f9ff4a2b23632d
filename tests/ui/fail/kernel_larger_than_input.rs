cnn::cnn_from_json!("kernel_larger_than_input.json", input = [1, 28, 28], classes = 10);

fn main() {}
