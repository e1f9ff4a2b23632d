cnn::cnn_from_json!("no_such_arch.json", input = [1, 28, 28], classes = 10);

fn main() {}
