cnn::cnn_from_json!("unknown_pool.json", input = [1, 28, 28], classes = 10);

fn main() {}
