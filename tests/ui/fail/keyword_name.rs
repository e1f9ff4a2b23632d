cnn::cnn_from_json!("keyword_name.json");

fn main() {}
