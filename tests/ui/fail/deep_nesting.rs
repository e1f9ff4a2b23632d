cnn::cnn_from_json!("deep_nesting.json");

fn main() {}
