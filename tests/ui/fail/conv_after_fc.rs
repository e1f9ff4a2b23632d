cnn::cnn_from_json!("conv_after_fc.json", input = [1, 28, 28], classes = 10);

fn main() {}
