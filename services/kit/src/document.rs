//! Printable documents: self-contained HTML pages (no scripts, no external resources) that
//! print on A4, for the registers and forms the departments keep on paper.

use std::fmt::Write as _;

/// Escapes text for HTML.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A table with a header row; cells are escaped.
pub fn table<R, C>(headers: &[&str], rows: R) -> String
where
    R: IntoIterator<Item = C>,
    C: IntoIterator<Item = String>,
{
    let mut html = String::from("<table>\n<thead><tr>");
    for h in headers {
        let _ = write!(html, "<th>{}</th>", escape(h));
    }
    html.push_str("</tr></thead>\n<tbody>\n");
    for row in rows {
        html.push_str("<tr>");
        for cell in row {
            let _ = write!(html, "<td>{}</td>", escape(&cell));
        }
        html.push_str("</tr>\n");
    }
    html.push_str("</tbody>\n</table>\n");
    html
}

/// A whole page: the title, lines of facts under it (label, value), then `body` (HTML).
pub fn page(title: &str, facts: &[(&str, String)], body: &str) -> String {
    let mut html = String::new();
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n<title>{t}</title>\n<style>\n\
         @page {{ size: A4; margin: 15mm; }}\n\
         body {{ font-family: \"Noto Sans CJK SC\", \"Source Han Sans SC\", \"Microsoft YaHei\", sans-serif; font-size: 10.5pt; color: #000; }}\n\
         h1 {{ text-align: center; font-size: 16pt; margin: 0 0 8pt; }}\n\
         .facts {{ display: flex; flex-wrap: wrap; gap: 4pt 18pt; margin-bottom: 8pt; }}\n\
         table {{ width: 100%; border-collapse: collapse; }}\n\
         th, td {{ border: 0.5pt solid #000; padding: 2pt 4pt; text-align: left; vertical-align: top; }}\n\
         th {{ background: #eee; }}\n\
         tr {{ page-break-inside: avoid; }}\n\
         .signature {{ margin-top: 18pt; display: flex; gap: 48pt; }}\n\
         </style>\n</head>\n<body>\n<h1>{t}</h1>\n<div class=\"facts\">",
        t = escape(title)
    );
    for (label, value) in facts {
        let _ = write!(html, "<span>{}：{}</span>", escape(label), escape(value));
    }
    html.push_str("</div>\n");
    html.push_str(body);
    html.push_str("</body>\n</html>\n");
    html
}

/// The document message of a rendered page.
pub fn html_document(file_name: String, html: String) -> wuye_proto::common::Document {
    wuye_proto::common::Document {
        content_type: "text/html; charset=utf-8".into(),
        file_name,
        content: html.into_bytes(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_escaped() {
        let html = table(
            &["姓名"],
            [vec!["<script>alert(1)</script> & 李".to_owned()]],
        );
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; 李"));
        assert!(!html.contains("<script>"));
    }

    #[test]
    fn a_page_has_its_title_and_facts() {
        let html = page("客户联系表", &[("物业", "阳光花园".into())], "<p>x</p>");
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.contains("<h1>客户联系表</h1>"));
        assert!(html.contains("物业：阳光花园"));
    }
}
