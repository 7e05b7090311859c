//! `echo-server` mode of `rmq-loadgen`: the null server a produce run is compared with.
//!
//! It accepts remoting connections and answers every request with a SEND_OK-shaped response:
//! the header fields of our broker's SEND_MESSAGE_V2 response in its order (`MSG_REGION`,
//! `TRACE_ON`, `msgId`, `queueId`, `queueOffset`, `transactionId` = the request's `UNIQ_KEY`),
//! the request's opaque and header encoding, no body. It does no other work: no route, no topic
//! check, no store, no task hand-off. A connection is one task that decodes every whole frame a
//! read brought and sends all their answers with one write. A produce run against it therefore
//! shows what the same client reaches over loopback when the server costs next to nothing (the
//! "null echo server" figure of issue 12, against which the broker's produce TPS is judged).

use bytes::BytesMut;
use rocketmq_rs::remoting::{ExtFields, RemotingCommand, ResponseCode, frame};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Room reserved in the read buffer before each read (one read can bring many frames).
const READ_CHUNK: usize = 64 * 1024;

/// `echo-server` options.
#[derive(Debug, clap::Args)]
pub(crate) struct EchoArgs {
    /// Port to listen on.
    #[arg(long)]
    port: u16,
    /// Address to bind.
    #[arg(long, default_value = "127.0.0.1")]
    bind: String,
}

/// Serves until the process is killed.
pub(crate) async fn serve(a: EchoArgs) -> Result<(), String> {
    let listener = TcpListener::bind((a.bind.as_str(), a.port))
        .await
        .map_err(|e| format!("bind {}:{}: {e}", a.bind, a.port))?;
    println!("echo-server listening on {}:{}", a.bind, a.port);
    loop {
        let (stream, peer) = listener.accept().await.map_err(|e| e.to_string())?;
        let port = a.port;
        drop(tokio::spawn(async move {
            if let Err(e) = connection(stream, port).await {
                eprintln!("echo-server: {peer}: {e}");
            }
        }));
    }
}

/// Answers the requests of one connection until the peer closes it.
async fn connection(mut stream: TcpStream, port: u16) -> Result<(), String> {
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    let mut inbound = BytesMut::with_capacity(READ_CHUNK);
    let mut out = BytesMut::with_capacity(READ_CHUNK);
    let mut next_offset = 0i64;
    loop {
        inbound.reserve(READ_CHUNK);
        if stream
            .read_buf(&mut inbound)
            .await
            .map_err(|e| e.to_string())?
            == 0
        {
            return Ok(());
        }
        while let Some(total) = frame::check(&inbound).map_err(|e| e.to_string())? {
            let mut whole = inbound.split_to(total);
            let request = frame::decode(whole.split_off(frame::LENGTH_PREFIX_BYTES).freeze())
                .map_err(|e| e.to_string())?;
            if request.is_oneway() || request.is_response() {
                continue;
            }
            let response = send_ok(&request, port, next_offset);
            next_offset += 1;
            frame::encode(&response, &mut out).map_err(|e| e.to_string())?;
        }
        if !out.is_empty() {
            stream.write_all(&out).await.map_err(|e| e.to_string())?;
            out.clear();
        }
    }
}

/// The SEND_OK a broker would send for `request`, with a made-up offset.
fn send_ok(request: &RemotingCommand, port: u16, offset: i64) -> RemotingCommand {
    let mut ext = ExtFields::new();
    ext.insert_static("MSG_REGION", "DefaultRegion");
    ext.insert_static("TRACE_ON", "true");
    // An offset message id: IPv4 address, port and physical offset in hex (32 characters).
    ext.insert_static(
        "msgId",
        format!("7F000001{:08X}{:016X}", u32::from(port), offset * 1_100),
    );
    let queue = request
        .ext("e")
        .or_else(|| request.ext("queueId"))
        .unwrap_or("0");
    ext.insert_static("queueId", queue.to_owned());
    ext.insert_static("queueOffset", offset.to_string());
    let properties = request.ext("i").or_else(|| request.ext("properties"));
    if let Some(uniq) = properties.and_then(uniq_key) {
        ext.insert_static("transactionId", uniq.to_owned());
    }
    RemotingCommand::response(ResponseCode::SUCCESS, None)
        .with_ext_fields(ext)
        .answering(request)
}

/// The `UNIQ_KEY` value of a properties string (`key\u{1}value\u{2}…`).
fn uniq_key(properties: &str) -> Option<&str> {
    let start = properties.find("UNIQ_KEY\u{1}")? + "UNIQ_KEY\u{1}".len();
    let rest = properties.get(start..)?;
    Some(rest.split('\u{2}').next().unwrap_or(rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniq_key_is_found_among_properties() {
        assert_eq!(
            uniq_key("WAIT\u{1}true\u{2}UNIQ_KEY\u{1}ABC\u{2}"),
            Some("ABC")
        );
        assert_eq!(uniq_key("UNIQ_KEY\u{1}XYZ"), Some("XYZ"));
        assert_eq!(uniq_key("WAIT\u{1}true\u{2}"), None);
    }

    #[test]
    fn the_answer_has_the_send_ok_fields_and_the_request_opaque() {
        let mut request = super::super::send_request("T", 3, &bytes::Bytes::from_static(b"x"), 7);
        request.opaque = 42;
        let r = send_ok(&request, 10911, 5);
        assert_eq!(r.opaque, 42);
        assert!(r.is_response());
        assert_eq!(r.code, 0);
        let keys: Vec<&str> = r
            .ext_fields
            .iter()
            .flat_map(|e| e.iter().map(|(k, _)| k))
            .collect();
        assert_eq!(
            keys,
            [
                "MSG_REGION",
                "TRACE_ON",
                "msgId",
                "queueId",
                "queueOffset",
                "transactionId"
            ]
        );
        assert_eq!(r.ext("queueId"), Some("3"));
        assert_eq!(r.ext("queueOffset"), Some("5"));
        assert_eq!(r.ext("msgId").map(str::len), Some(32));
        assert_eq!(r.ext("transactionId"), Some(format!("{:032X}", 7).as_str()));
    }
}
