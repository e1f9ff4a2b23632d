cnn::cnn_from_json!("spatial_size_collapses.json");

fn main() {}
