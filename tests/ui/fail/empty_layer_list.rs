cnn::cnn_from_json!("empty_layer_list.json");

fn main() {}
