cnn::cnn_from_json!("huge_integer.json");

fn main() {}
