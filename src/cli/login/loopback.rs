//! The loopback redirect of a native application (RFC 8252 7.3): a listener on 127.0.0.1 on a
//! port of the system's choosing, waiting for the browser to come back with the code.

use std::time::Duration;

use anyhow::Context as _;
use tokio::{
    io::{AsyncReadExt as _, AsyncWriteExt as _},
    net::{TcpListener, TcpStream},
};
use wuye::connect::oidc::Callback;

/// The longest request head read from the browser.
const MAX_HEAD: usize = 16 * 1024;
/// How long one connection may take to send its request.
const READ_TIMEOUT: Duration = Duration::from_secs(10);

pub(crate) struct Loopback {
    listener: TcpListener,
}

impl Loopback {
    pub(crate) async fn bind() -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .context("无法在 127.0.0.1 上监听登录回调")?;
        Ok(Self { listener })
    }

    /// `http://127.0.0.1:<port>/callback`.
    pub(crate) fn redirect_uri(&self) -> anyhow::Result<String> {
        let port = self.listener.local_addr()?.port();
        Ok(format!("http://127.0.0.1:{port}/callback"))
    }

    /// Waits up to `timeout` for the browser's `GET /callback?…`, answers it with the outcome
    /// of `check` (a page saying whether the sign-in went through) and returns that outcome.
    /// Other requests (a favicon) are answered 404 and the wait goes on.
    pub(crate) async fn wait<T>(
        &self,
        timeout: Duration,
        check: impl Fn(&Callback) -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        let wait = async {
            loop {
                let (mut stream, _) = self.listener.accept().await?;
                let Ok(Some(target)) = read_target(&mut stream).await else {
                    let _ = respond(&mut stream, "404 Not Found", "not found").await;
                    continue;
                };
                let Some(query) = callback_query(&target) else {
                    let _ = respond(&mut stream, "404 Not Found", "not found").await;
                    continue;
                };
                let outcome = check(&parse_callback(query));
                let page = match &outcome {
                    Ok(_) => "wuye 登录完成，可以关闭此页面，回到终端。".to_owned(),
                    Err(e) => format!("wuye 登录未完成：{e:#}"),
                };
                let _ = respond(&mut stream, "200 OK", &page).await;
                return outcome;
            }
        };
        tokio::time::timeout(timeout, wait).await.with_context(|| {
            format!(
                "{} 分钟内没有完成登录：请重新运行 wuye login",
                timeout.as_secs() / 60
            )
        })?
    }
}

/// The request target of a GET (`/callback?code=…`), or none for anything else.
async fn read_target(stream: &mut TcpStream) -> anyhow::Result<Option<String>> {
    let mut head = Vec::new();
    let mut buffer = [0u8; 2048];
    let read = async {
        while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < MAX_HEAD {
            let n = stream.read(&mut buffer).await?;
            if n == 0 {
                break;
            }
            head.extend_from_slice(&buffer[..n]);
        }
        anyhow::Ok(())
    };
    tokio::time::timeout(READ_TIMEOUT, read).await??;
    let head = String::from_utf8_lossy(&head);
    let mut words = head.lines().next().unwrap_or("").split(' ');
    match (words.next(), words.next()) {
        (Some("GET"), Some(target)) => Ok(Some(target.to_owned())),
        _ => Ok(None),
    }
}

/// The query of a request target `/callback?…`.
fn callback_query(target: &str) -> Option<&str> {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    (path == "/callback").then_some(query)
}

fn parse_callback(query: &str) -> Callback {
    let mut callback = Callback::default();
    for (key, value) in oauth2::url::form_urlencoded::parse(query.as_bytes()) {
        let value = Some(value.into_owned());
        match key.as_ref() {
            "code" => callback.code = value,
            "state" => callback.state = value,
            "iss" => callback.iss = value,
            "error" => callback.error = value,
            "error_description" => callback.error_description = value,
            _ => {}
        }
    }
    callback
}

async fn respond(stream: &mut TcpStream, status: &str, text: &str) -> std::io::Result<()> {
    let body = format!(
        "<!doctype html><html lang=\"zh-CN\"><meta charset=\"utf-8\"><title>wuye</title>\
         <p>{}</p></html>",
        escape(text)
    );
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_callback_is_read_from_the_redirect() {
        assert_eq!(
            callback_query("/callback?code=a&state=b"),
            Some("code=a&state=b")
        );
        assert_eq!(callback_query("/callback"), Some(""));
        assert_eq!(callback_query("/favicon.ico"), None);
        let callback = parse_callback("code=c%2B1&state=s&iss=http%3A%2F%2F127.0.0.1%3A1");
        assert_eq!(callback.code.as_deref(), Some("c+1"));
        assert_eq!(callback.state.as_deref(), Some("s"));
        assert_eq!(callback.iss.as_deref(), Some("http://127.0.0.1:1"));
        let refused = parse_callback("error=access_denied&error_description=no&state=s");
        assert_eq!(refused.error.as_deref(), Some("access_denied"));
        assert!(refused.code.is_none());
    }

    #[tokio::test]
    async fn the_loopback_answers_the_browser_and_ignores_other_requests() {
        let loopback = Loopback::bind().await.unwrap();
        let uri = loopback.redirect_uri().unwrap();
        let port: u16 = uri
            .trim_start_matches("http://127.0.0.1:")
            .trim_end_matches("/callback")
            .parse()
            .unwrap();
        let browser = tokio::spawn(async move {
            let get = |target: &'static str| async move {
                let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
                let request = format!("GET {target} HTTP/1.1\r\nHost: x\r\n\r\n");
                s.write_all(request.as_bytes()).await.unwrap();
                let mut answer = String::new();
                s.read_to_string(&mut answer).await.unwrap();
                answer
            };
            let favicon = get("/favicon.ico").await;
            let callback = get("/callback?code=xyz&state=s1").await;
            (favicon, callback)
        });
        let code = loopback
            .wait(Duration::from_secs(10), |c| {
                anyhow::ensure!(c.state.as_deref() == Some("s1"), "state");
                Ok(c.code.clone().unwrap())
            })
            .await
            .unwrap();
        assert_eq!(code, "xyz");
        let (favicon, callback) = browser.await.unwrap();
        assert!(favicon.starts_with("HTTP/1.1 404"), "{favicon}");
        assert!(callback.starts_with("HTTP/1.1 200"), "{callback}");
        assert!(callback.contains("登录完成"), "{callback}");
    }
}
