//! Plain-text tables for the terminal.

/// Renders `lines` (the first is the header) as aligned columns two spaces
/// apart: the first `left` columns left-aligned, the others right-aligned
/// (numbers). A line shorter than the header — an error message in place of
/// the figures — is printed as it is and does not widen the columns.
pub fn aligned(lines: &[Vec<String>], left: usize) -> String {
    let columns = lines.first().map_or(0, Vec::len);
    let mut widths = vec![0usize; columns];
    for line in lines {
        let counted = if line.len() == columns { columns } else { left.min(line.len()) };
        for (w, cell) in widths.iter_mut().zip(&line[..counted]) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for line in lines {
        let mut text = String::new();
        for (i, cell) in line.iter().enumerate() {
            if i > 0 {
                text.push_str("  ");
            }
            let w = widths.get(i).copied().unwrap_or(0);
            if i < left || line.len() < columns {
                text.push_str(&format!("{cell:<w$}"));
            } else {
                text.push_str(&format!("{cell:>w$}"));
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owned(rows: &[&[&str]]) -> Vec<Vec<String>> {
        rows.iter().map(|r| r.iter().map(|c| c.to_string()).collect()).collect()
    }

    #[test]
    fn names_left_numbers_right_and_short_rows_as_they_are() {
        let lines = owned(&[
            &["board", "flash", "ram"],
            &["mps2", "71476", "1"],
            &["nucleo", "9", "2"],
            &["x", "build failed"],
        ]);
        assert_eq!(
            aligned(&lines, 1),
            "board   flash  ram\nmps2    71476    1\nnucleo      9    2\nx       build failed\n"
        );
    }
}
