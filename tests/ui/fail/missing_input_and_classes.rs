cnn::cnn_from_json!("missing_input_and_classes.json");

fn main() {}
