cnn::cnn_from_json!("bad_macro_arguments.json", inputs = [1, 28, 28], classes = 0);

fn main() {}
