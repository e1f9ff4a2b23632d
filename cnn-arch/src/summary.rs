//! A table like Keras' `model.summary()`: each layer's output shape, parameters and
//! multiply-adds, then the totals.

use crate::plan::Network;

impl Network {
    /// The summary table, plain ASCII so that it reads the same in a terminal and in rustdoc.
    pub fn summary(&self) -> String {
        let header = ["Layer (type)", "Output shape", "Param #", "Mult-adds"];
        let mut rows: Vec<[String; 4]> = vec![header.map(String::from)];
        for layer in &self.layers {
            rows.push([
                format!("{} ({})", layer.field, layer.description()),
                layer.output.to_string(),
                thousands(layer.params as u64),
                thousands(layer.macs),
            ]);
        }
        let widths: Vec<usize> = (0..4)
            .map(|c| rows.iter().map(|r| r[c].len()).max().unwrap_or(0))
            .collect();
        let total_width = widths.iter().sum::<usize>() + 3 * 3;
        let [c, h, w] = self.input;
        let mut out = format!(
            "Model: {} (input {c}x{h}x{w}, {} classes)\n",
            self.name, self.classes
        );
        let rule = |ch: char| ch.to_string().repeat(total_width) + "\n";
        out += &rule('-');
        for (i, row) in rows.iter().enumerate() {
            let line = format!(
                "{:<w0$}   {:<w1$}   {:>w2$}   {:>w3$}",
                row[0],
                row[1],
                row[2],
                row[3],
                w0 = widths[0],
                w1 = widths[1],
                w2 = widths[2],
                w3 = widths[3]
            );
            out += line.trim_end();
            out.push('\n');
            if i == 0 {
                out += &rule('=');
            }
        }
        out += &rule('=');
        out += &format!("Total params: {}\n", thousands(self.params() as u64));
        out += &format!(
            "Mult-adds per image: {} ({:.1} M)\n",
            thousands(self.macs()),
            self.macs() as f64 / 1e6
        );
        out += &rule('-');
        out
    }
}

/// `3157002` -> `3,157,002`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(d);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn thousands_groups_digits() {
        assert_eq!(super::thousands(0), "0");
        assert_eq!(super::thousands(999), "999");
        assert_eq!(super::thousands(1000), "1,000");
        assert_eq!(super::thousands(3157002), "3,157,002");
    }
}
