cnn::cnn_from_json!("terminal_activation.json", input = [1, 28, 28], classes = 10);

fn main() {}
