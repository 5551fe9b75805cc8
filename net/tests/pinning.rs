//! Pinned mutual authentication over real QUIC on loopback.

use net::{Identity, NetOptions, call, client_endpoint, connect, peer_fingerprint, server_endpoint};
use std::collections::HashSet;
use wire::control::{Request, RequestBody, Response};

async fn serve(
    identity: Identity,
    allowed: HashSet<net::Fingerprint>,
) -> (quinn::Endpoint, std::net::SocketAddr) {
    let ep =
        server_endpoint("127.0.0.1:0".parse().unwrap(), &identity, allowed, &NetOptions::default()).unwrap();
    let addr = ep.local_addr().unwrap();
    let server = ep.clone();
    tokio::spawn(async move {
        while let Some(incoming) = server.accept().await {
            tokio::spawn(async move {
                let Ok(conn) = incoming.await else { return };
                let who = peer_fingerprint(&conn).unwrap();
                while let Ok((mut send, mut recv)) = conn.accept_bi().await {
                    let _: Request = wire::read_frame(&mut recv, 1024).await.unwrap();
                    let pong =
                        Response::Error { kind: wire::control::ErrorKind::Failed, message: who.to_string() };
                    wire::write_frame(&mut send, &pong).await.unwrap();
                    send.finish().unwrap();
                }
            });
        }
    });
    (ep, addr)
}

#[tokio::test]
async fn pinned_client_is_served_and_sees_its_own_fingerprint() {
    let server = Identity::generate("server").unwrap();
    let client = Identity::generate("client").unwrap();
    let (_ep, addr) = serve(server.clone(), HashSet::from([client.fingerprint()])).await;
    let ep = client_endpoint("127.0.0.1:0".parse().unwrap()).unwrap();
    let conn = connect(&ep, &client, addr, server.fingerprint(), &NetOptions::default()).await.unwrap();
    let answer: Response = call(&conn, &Request::new(RequestBody::Ping), 1024).await.unwrap();
    match answer {
        Response::Error { message, .. } => assert_eq!(message, client.fingerprint().to_string()),
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn unpinned_client_is_refused_on_its_first_stream() {
    let server = Identity::generate("server").unwrap();
    let client = Identity::generate("client").unwrap();
    let rogue = Identity::generate("rogue").unwrap();
    let (_ep, addr) = serve(server.clone(), HashSet::from([client.fingerprint()])).await;
    let ep = client_endpoint("127.0.0.1:0".parse().unwrap()).unwrap();
    let result = match connect(&ep, &rogue, addr, server.fingerprint(), &NetOptions::default()).await {
        Err(e) => Err(e.to_string()),
        Ok(conn) => call::<_, Response>(&conn, &Request::new(RequestBody::Ping), 1024)
            .await
            .map_err(|e| e.to_string()),
    };
    assert!(result.is_err(), "a rogue client got an answer: {result:?}");
}

#[tokio::test]
async fn server_with_another_certificate_is_refused() {
    let server = Identity::generate("server").unwrap();
    let impostor = Identity::generate("impostor").unwrap();
    let client = Identity::generate("client").unwrap();
    let (_ep, addr) = serve(impostor, HashSet::from([client.fingerprint()])).await;
    let ep = client_endpoint("127.0.0.1:0".parse().unwrap()).unwrap();
    let err = connect(&ep, &client, addr, server.fingerprint(), &NetOptions::default()).await.unwrap_err();
    assert!(err.to_string().contains("cannot connect"), "{err}");
}
