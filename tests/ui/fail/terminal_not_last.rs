cnn::cnn_from_json!("terminal_not_last.json", input = [1, 28, 28], classes = 10);

fn main() {}
