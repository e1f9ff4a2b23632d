cnn::cnn_from_json!("every_problem_at_once.json");

fn main() {}
