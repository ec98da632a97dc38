//! Serving one connection on the current thread with the core's blocking
//! [`Connection`]: the default [`RequestHandler::handle`].

use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::Ordering;

use wsgiref_core::handler::{ConnError, Connection, OwnedMemory, Served};
use wsgiref_core::Application;

use super::request_handler::{ConnectionContext, RequestHandler};
use super::timed_stream::TimedStream;
use crate::clock::http_date_now;
use crate::io::StdIo;

/// Serve requests on `stream` until the client closes, a timeout, an error, or a shutdown
/// (which lets the request in flight finish, then closes at the next request boundary).
pub(crate) fn serve_connection<H: RequestHandler + ?Sized, A: Application>(
    handler: &H,
    stream: TcpStream,
    client: SocketAddr,
    context: ConnectionContext<'_, A>,
) {
    let options = context.options;
    let _ = stream.set_nodelay(true);
    let buffered = !context.received.is_empty();
    let timed = match TimedStream::new(
        stream,
        context.received,
        options.header_timeout,
        options.body_timeout,
    ) {
        Ok(timed) => timed,
        Err(e) => {
            log::debug!(target: "wsgiref::server", "{client}: cannot set timeouts: {e}");
            return;
        }
    };
    let mut rx = vec![0u8; options.receive_buffer.max(1024)];
    let mut memory = OwnedMemory::default();
    let mut conn: Connection<'_, StdIo<TimedStream>> =
        Connection::new(StdIo(timed), &mut rx, memory.memory(), options.config);
    let mut new_wait = true;
    let mut first = buffered;
    loop {
        let pipelined = first || conn.has_buffered_input();
        first = false;
        if context.stopping.load(Ordering::Relaxed) && !pipelined {
            break;
        }
        if new_wait {
            conn.transport_mut()
                .0
                .expect_request(options.idle_timeout, pipelined);
        }
        match conn.serve_one(context.app, context.environ, Some(http_date_now())) {
            Ok(Served::Request(log)) => {
                handler.log_request(&client, &log);
                new_wait = true;
                if conn.is_closed() {
                    break;
                }
            }
            Ok(Served::Rejected {
                error,
                request_line,
            }) => {
                handler.log_refusal(&client, &error, &request_line);
                break;
            }
            Ok(Served::Closed) => break,
            Err(ConnError::Timeout { partial: false }) => {
                // One idle slice passed: keep waiting unless the idle time is used up.
                if conn.transport_mut().0.idle_expired() {
                    break;
                }
                new_wait = false;
            }
            Err(ConnError::Timeout { partial: true }) => {
                log::info!(
                    target: "wsgiref::server",
                    "{client}: request head not received in time; closed (408)"
                );
                break;
            }
            Err(e) => {
                // Client disconnects are routine: logged only at debug level.
                log::debug!(target: "wsgiref::server", "{client}: {e}");
                break;
            }
        }
    }
    let stream = conn.into_inner().0;
    // Half-close: the client reads the last response to its end before it sees EOF.
    let _ = stream.get_ref().shutdown(std::net::Shutdown::Write);
}

/// What became of a connection served one request in blocking mode.
pub(crate) enum OneRequest {
    /// The connection can serve more: its socket and the bytes received past the request.
    KeepOpen(TcpStream, Vec<u8>),
    /// The connection is finished (closed by either side, refused, timed out, failed).
    Closed,
}

/// Serve exactly one request on `stream`, blocking, for an event loop that cannot finish it
/// without waiting (a body larger than its receive buffer, a chunked upload, `Expect:
/// 100-continue`). `received` holds the request's head and the body bytes the loop already
/// read. Each body read may wait `body_timeout` (the head is complete; its deadline no
/// longer applies). The connection goes back to the loop afterwards, so a hand-off lasts one
/// request, not the connection's life.
pub(crate) fn serve_one_request<H: RequestHandler + ?Sized, A: Application>(
    handler: &H,
    stream: TcpStream,
    client: SocketAddr,
    app: &A,
    environ: &wsgiref_core::Environ<'_>,
    options: &super::ServerOptions,
    received: Vec<u8>,
) -> OneRequest {
    let timed = match TimedStream::new(
        stream,
        received,
        options.header_timeout,
        options.body_timeout,
    ) {
        Ok(timed) => timed,
        Err(e) => {
            log::debug!(target: "wsgiref::server", "{client}: cannot set timeouts: {e}");
            return OneRequest::Closed;
        }
    };
    let mut rx = vec![0u8; options.receive_buffer.max(1024)];
    let mut memory = OwnedMemory::default();
    let mut conn: Connection<'_, StdIo<TimedStream>> =
        Connection::new(StdIo(timed), &mut rx, memory.memory(), options.config);
    let served = conn.serve_one(app, environ, Some(http_date_now()));
    let open = match served {
        Ok(Served::Request(log)) => {
            handler.log_request(&client, &log);
            !conn.is_closed()
        }
        Ok(Served::Rejected {
            error,
            request_line,
        }) => {
            handler.log_refusal(&client, &error, &request_line);
            false
        }
        Ok(Served::Closed) => false,
        Err(ConnError::Timeout { .. }) => {
            log::info!(
                target: "wsgiref::server",
                "{client}: request body not received in time; closed"
            );
            false
        }
        Err(e) => {
            log::debug!(target: "wsgiref::server", "{client}: {e}");
            false
        }
    };
    let mut left = conn.buffered_input().to_vec();
    let (stream, rest) = conn.into_inner().0.into_parts();
    if !open {
        let _ = stream.shutdown(std::net::Shutdown::Write);
        return OneRequest::Closed;
    }
    left.extend_from_slice(&rest);
    OneRequest::KeepOpen(stream, left)
}
