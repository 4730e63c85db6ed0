//! A minimal server-sent-events reader over reqwest, for tests that follow a live board.

use std::time::Duration;

/// One event as received.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SseEvent {
    /// `id:` field.
    pub id: Option<String>,
    /// `event:` field (`message` if absent).
    pub event: String,
    /// `data:` lines joined with newlines.
    pub data: String,
}

/// An open event stream.
pub struct SseReader {
    res: reqwest::Response,
    buf: String,
}

impl SseReader {
    /// Opens `url` with `client` (which carries the session cookie or a bearer header),
    /// optionally resuming after `last_event_id`.
    pub async fn open(
        client: &reqwest::Client,
        url: &str,
        auth: Option<&str>,
        last_event_id: Option<&str>,
    ) -> anyhow::Result<Self> {
        let mut req = client.get(url).header("accept", "text/event-stream");
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        if let Some(id) = last_event_id {
            req = req.header("last-event-id", id);
        }
        let res = req.send().await?;
        anyhow::ensure!(
            res.status() == 200,
            "event stream answered {}",
            res.status()
        );
        let ct = res
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        anyhow::ensure!(ct.starts_with("text/event-stream"), "content type {ct}");
        Ok(Self {
            res,
            buf: String::new(),
        })
    }

    /// The next event (keep-alive comments skipped), or an error after `timeout`.
    pub async fn next(&mut self, timeout: Duration) -> anyhow::Result<SseEvent> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                let mut ev = SseEvent {
                    event: "message".into(),
                    ..SseEvent::default()
                };
                let mut data = Vec::new();
                let mut any = false;
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id:") {
                        ev.id = Some(v.trim_start().to_owned());
                        any = true;
                    } else if let Some(v) = line.strip_prefix("event:") {
                        ev.event = v.trim_start().to_owned();
                        any = true;
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push(v.strip_prefix(' ').unwrap_or(v).to_owned());
                        any = true;
                    }
                }
                if any {
                    ev.data = data.join("\n");
                    return Ok(ev);
                }
                continue;
            }
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            anyhow::ensure!(!left.is_zero(), "no event within {timeout:?}");
            match tokio::time::timeout(left, self.res.chunk()).await {
                Err(_) => anyhow::bail!("no event within {timeout:?}"),
                Ok(Ok(Some(bytes))) => self.buf.push_str(&String::from_utf8_lossy(&bytes)),
                Ok(Ok(None)) => anyhow::bail!("the event stream ended"),
                Ok(Err(e)) => return Err(e.into()),
            }
        }
    }

    /// Reads events until one satisfies `pred`; returns it and the ones before it.
    pub async fn until(
        &mut self,
        timeout: Duration,
        pred: impl Fn(&SseEvent) -> bool,
    ) -> anyhow::Result<(SseEvent, Vec<SseEvent>)> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let ev = self
                .next(left)
                .await
                .map_err(|e| anyhow::anyhow!("{e}; seen: {seen:?}"))?;
            if pred(&ev) {
                return Ok((ev, seen));
            }
            seen.push(ev);
        }
    }
}
