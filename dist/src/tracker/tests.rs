use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use serde_bencode::value::Value;

use super::*;

fn enc(b: &[u8]) -> String {
    percent_encoding::percent_encode(b, percent_encoding::NON_ALPHANUMERIC).to_string()
}

fn query(hash: &InfoHash, port: u16, left: u64, extra: &str) -> String {
    let mut id = [b'x'; 20];
    id[..2].copy_from_slice(&port.to_be_bytes());
    format!(
        "info_hash={}&peer_id={}&port={port}&uploaded=0&downloaded=0&left={left}{extra}",
        enc(hash.as_bytes()),
        enc(&id)
    )
}

fn decode(body: &[u8]) -> HashMap<Vec<u8>, Value> {
    match serde_bencode::from_bytes::<Value>(body).expect("reply is bencoded") {
        Value::Dict(d) => d,
        other => panic!("reply is not a dict: {other:?}"),
    }
}

fn failure_reason(body: &[u8]) -> Option<String> {
    match decode(body).get(b"failure reason".as_slice()) {
        Some(Value::Bytes(b)) => Some(String::from_utf8_lossy(b).into_owned()),
        _ => None,
    }
}

fn compact_peers(body: &[u8]) -> Vec<SocketAddr> {
    let d = decode(body);
    let mut out = Vec::new();
    if let Some(Value::Bytes(b)) = d.get(b"peers".as_slice()) {
        for c in b.chunks(6) {
            let ip = Ipv4Addr::new(c[0], c[1], c[2], c[3]);
            out.push(SocketAddr::new(ip.into(), u16::from_be_bytes([c[4], c[5]])));
        }
    }
    if let Some(Value::Bytes(b)) = d.get(b"peers6".as_slice()) {
        for c in b.chunks(18) {
            let ip = Ipv6Addr::from(<[u8; 16]>::try_from(&c[..16]).unwrap());
            out.push(SocketAddr::new(
                ip.into(),
                u16::from_be_bytes([c[16], c[17]]),
            ));
        }
    }
    out
}

fn int(body: &[u8], key: &str) -> i64 {
    match decode(body).get(key.as_bytes()) {
        Some(Value::Int(i)) => *i,
        other => panic!("{key} is {other:?}"),
    }
}

const SEEDER: &str = "10.99.0.1:6881";
const LOCAL: Option<IpAddr> = Some(IpAddr::V4(Ipv4Addr::LOCALHOST));

/// A tracker that hands out random peers (no stripe trees): BitTorrent's plain behaviour.
fn tracker_with(hash: InfoHash, settings: TrackerSettings) -> Tracker {
    let t = Tracker::new(settings);
    t.set_stripes(0);
    t.add_torrent(hash, vec![SEEDER.parse().unwrap()]);
    t
}

/// Serves `t`'s routes on a loopback port, as the daemon does (with connection info).
async fn serve(t: &Tracker) -> (SocketAddr, tokio::task::JoinHandle<std::io::Result<()>>) {
    let app: axum::Router = t.router();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
    });
    (addr, server)
}

fn local(port: u16) -> SocketAddr {
    SocketAddr::new(Ipv4Addr::LOCALHOST.into(), port)
}

#[test]
fn striped_swarms_give_each_node_its_parents_in_join_order() {
    let h = InfoHash([21; 20]);
    let t = Tracker::new(TrackerSettings::default());
    assert_eq!(t.stripes(), DEFAULT_STRIPES);
    t.add_torrent(h, vec![SEEDER.parse().unwrap()]);
    // The first node roots every stripe; asking again changes nothing.
    let first = t.stripe_role(&h, local(1000)).unwrap();
    assert_eq!(first.stripes, 4);
    assert_eq!(first.parents, vec![None; 4]);
    assert_eq!(t.stripe_role(&h, local(1000)).unwrap(), first);
    // Asking joins the swarm (before any announce) and counts as downloading.
    assert_eq!(t.peer_counts(&h).unwrap().downloading, 1);
    for port in 1001..1008 {
        t.stripe_role(&h, local(port)).unwrap();
    }
    // 8 nodes, 4 stripes: node 4 (port 1004) hangs off node 0 in stripe 0, and roots none.
    let role = t.stripe_role(&h, local(1004)).unwrap();
    let trees = StripeTrees::new(8, 4);
    let expected: Vec<Option<SocketAddr>> = trees
        .parents(4)
        .into_iter()
        .map(|p| match p {
            StripeParent::Host => None,
            StripeParent::Node(i) => Some(local(1000 + i as u16)),
        })
        .collect();
    assert_eq!(role.parents, expected);
    assert_eq!(role.parents[0], Some(local(1000)));
    // An announce (with a real peer id) keeps the join order and answers with the host and
    // the node's parents only.
    let body = t.announce_query(&query(&h, 1004, 100, "&event=started"), LOCAL);
    let mut peers = compact_peers(&body);
    assert_eq!(peers.remove(0), SEEDER.parse::<SocketAddr>().unwrap());
    let mut parents: Vec<SocketAddr> = expected.into_iter().flatten().collect();
    parents.sort_unstable();
    parents.dedup();
    peers.sort_unstable();
    assert_eq!(peers, parents);
    assert_eq!(t.stripe_role(&h, local(1004)).unwrap(), role);
    // A node that leaves moves the later ones up.
    t.announce_query(&query(&h, 1000, 100, "&event=stopped"), LOCAL);
    let after = t.stripe_role(&h, local(1001)).unwrap();
    assert_eq!(after.parents[0], None, "node 1 is the first node now");
}

#[test]
fn expected_nodes_fix_the_trees_while_the_cluster_joins() {
    let h = InfoHash([22; 20]);
    let t = Tracker::new(TrackerSettings::default());
    t.add_torrent(h, vec![SEEDER.parse().unwrap()]);
    let node = |i: u16| SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 99, 1, 1 + i as u8)), 6881);
    for i in 0..64 {
        assert!(t.expect_node(&h, node(i).ip()));
    }
    assert!(
        !t.expect_node(&InfoHash([99; 20]), node(0).ip()),
        "not tracked"
    );
    assert_eq!(t.peer_counts(&h).unwrap().starting, 64);
    for i in 0..2 {
        t.stripe_role(&h, node(i)).unwrap();
    }
    // Of 64 nodes, node 1 hangs off node 12 in stripe 0; node 12 has not joined yet, so it
    // goes to node 12's parent, node 0.
    let early = t.stripe_role(&h, node(1)).unwrap();
    assert_eq!(early.parents[0], Some(node(0)));
    // Expecting a member again (a node re-fetching its plan) changes nothing.
    assert!(t.expect_node(&h, node(1).ip()));
    assert_eq!(t.stripe_role(&h, node(1)).unwrap(), early);
    for i in 2..13 {
        t.stripe_role(&h, node(i)).unwrap();
    }
    assert_eq!(
        t.peer_counts(&h).unwrap().starting,
        51,
        "joined nodes are no longer expected"
    );
    assert_eq!(
        t.stripe_role(&h, node(1)).unwrap().parents[0],
        Some(node(12))
    );
    for i in 13..64 {
        t.stripe_role(&h, node(i)).unwrap();
    }
    let all = t.stripe_role(&h, node(1)).unwrap();
    assert_eq!(all.parents[0], Some(node(12)), "kept while the rest joined");
    assert_eq!(all.parents[1], None, "node 1 roots stripe 1");
    // Unannounced, the same 13 nodes make a tree of 13, where node 1 hangs off node 0; it
    // moves again as the others join.
    let h2 = InfoHash([27; 20]);
    t.add_torrent(h2, vec![SEEDER.parse().unwrap()]);
    for i in 0..13 {
        t.stripe_role(&h2, node(i)).unwrap();
    }
    assert_eq!(
        t.stripe_role(&h2, node(1)).unwrap().parents[0],
        Some(node(0))
    );
}

#[test]
fn mesh_swarms_have_no_stripes_and_unknown_images_are_refused() {
    let h = InfoHash([23; 20]);
    let t = tracker_with(h, TrackerSettings::default());
    let role = t.stripe_role(&h, local(1000)).unwrap();
    assert_eq!((role.stripes, role.parents.len()), (0, 0));
    let err = t.stripe_role(&InfoHash([24; 20]), local(1000)).unwrap_err();
    assert!(matches!(err, AnnounceError::UnknownTorrent(_)), "{err}");
}

#[tokio::test]
async fn stripes_over_http_answer_json_and_name_bad_queries() {
    let h = InfoHash([25; 20]);
    let t = Tracker::new(TrackerSettings::default());
    t.add_torrent(h, vec![SEEDER.parse().unwrap()]);
    let (addr, server) = serve(&t).await;
    let client = reqwest::Client::new();
    let get = |q: String| {
        let client = client.clone();
        async move {
            let r = client
                .get(format!("http://{addr}/stripes?{q}"))
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    let (status, body) = get(format!("info_hash={}&port=7000", h.to_hex())).await;
    assert_eq!(status, 200, "{body}");
    let role: StripeRole = serde_json::from_str(&body).unwrap();
    assert_eq!(role.parents, vec![None; 4]);
    assert_eq!(
        t.stripe_role(&h, local(7000)).unwrap(),
        role,
        "keyed by the caller's IP"
    );
    for (q, status, names) in [
        ("port=7000".to_string(), 400, "info_hash"),
        ("info_hash=xyz&port=7000".to_string(), 400, "info_hash"),
        (format!("info_hash={}", h.to_hex()), 400, "port"),
        (format!("info_hash={}&port=0", h.to_hex()), 400, "port"),
        (format!("info_hash={}&port=70000", h.to_hex()), 400, "port"),
        (
            format!("info_hash={}&port=1", "ab".repeat(20)),
            404,
            "unknown info_hash",
        ),
        (
            format!("info_hash={}&port=7000&known=zz", h.to_hex()),
            400,
            "known",
        ),
        (
            format!("info_hash={}&port=7000&known=ab&wait=soon", h.to_hex()),
            400,
            "wait",
        ),
        (
            format!("info_hash={}&port=7000&known=ab&wait=-1", h.to_hex()),
            400,
            "wait",
        ),
    ] {
        let (got, body) = get(q.clone()).await;
        assert_eq!(got, status, "{q}: {body}");
        assert!(body.contains(names), "{q}: {body}");
    }
    server.abort();
}

#[tokio::test]
async fn a_long_poll_answers_when_the_role_changes_and_not_before() {
    let h = InfoHash([26; 20]);
    let t = Tracker::new(TrackerSettings::default());
    t.add_torrent(h, vec![SEEDER.parse().unwrap()]);
    let (addr, server) = serve(&t).await;
    let alone = t.stripe_role(&h, local(7000)).unwrap();
    let url = format!(
        "http://{addr}/stripes?info_hash={}&port=7000&known={}&wait=20",
        h.to_hex(),
        alone.digest()
    );
    let poll = tokio::spawn(async move {
        let body = reqwest::get(url).await.unwrap().text().await.unwrap();
        serde_json::from_str::<StripeRole>(&body).unwrap()
    });
    // Nothing has changed: the poll is held.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!poll.is_finished(), "answered before anything changed");
    // A second node joins and roots stripe 1 (its class): the first now gets stripe 1 from
    // it instead of from the host.
    t.stripe_role(&h, local(7001)).unwrap();
    let changed = tokio::time::timeout(Duration::from_secs(5), poll)
        .await
        .expect("the poll was not woken by the join")
        .unwrap();
    assert_ne!(changed, alone);
    assert_eq!(changed.parents[1], Some(local(7001)));
    assert_eq!(changed, t.stripe_role(&h, local(7000)).unwrap());
    // A stale digest is answered at once; an unchanged role after the wait.
    let stale = t
        .stripe_role_change(
            &h,
            local(7000),
            Some(&alone.digest()),
            Duration::from_secs(20),
        )
        .await
        .unwrap();
    assert_eq!(stale, changed);
    let held = std::time::Instant::now();
    let same = t
        .stripe_role_change(
            &h,
            local(7000),
            Some(&changed.digest()),
            Duration::from_millis(200),
        )
        .await
        .unwrap();
    assert_eq!(same, changed);
    assert!(held.elapsed() >= Duration::from_millis(200));
    server.abort();
}

#[test]
fn replies_always_include_the_host_seeder_and_cap_numwant() {
    let h = InfoHash([7; 20]);
    let t = tracker_with(
        h,
        TrackerSettings {
            max_peers: 5,
            ..TrackerSettings::default()
        },
    );
    for port in 1000..1020 {
        t.announce_query(&query(&h, port, 100, "&event=started"), LOCAL);
    }
    let body = t.announce_query(&query(&h, 2000, 100, "&numwant=200"), LOCAL);
    let peers = compact_peers(&body);
    assert_eq!(peers.len(), 5, "numwant is capped by max_peers");
    assert_eq!(peers[0], SEEDER.parse::<SocketAddr>().unwrap());
    assert!(
        !peers.contains(&"127.0.0.1:2000".parse().unwrap()),
        "never the asker itself"
    );
    assert_eq!(int(&body, "incomplete"), 21);
    assert_eq!(int(&body, "complete"), 1);
    assert_eq!(int(&body, "interval"), 30);
    assert_eq!(
        t.peer_counts(&h),
        Some(PeerCounts {
            downloading: 21,
            seeding: 0,
            ..PeerCounts::default()
        })
    );

    // A small numwant still gets the seeder.
    let body = t.announce_query(&query(&h, 2000, 100, "&numwant=1"), LOCAL);
    assert_eq!(
        compact_peers(&body),
        vec![SEEDER.parse::<SocketAddr>().unwrap()]
    );
}

#[test]
fn stopped_removes_at_once_and_completed_counts() {
    let h = InfoHash([8; 20]);
    let t = tracker_with(h, TrackerSettings::default());
    t.announce_query(&query(&h, 1, 100, "&event=started"), LOCAL);
    t.announce_query(&query(&h, 2, 100, "&event=started"), LOCAL);
    t.announce_query(&query(&h, 2, 0, "&event=completed"), LOCAL);
    assert_eq!(
        t.peer_counts(&h),
        Some(PeerCounts {
            downloading: 1,
            seeding: 1,
            ..PeerCounts::default()
        })
    );
    t.announce_query(&query(&h, 1, 100, "&event=stopped"), LOCAL);
    assert_eq!(
        t.peer_counts(&h),
        Some(PeerCounts {
            downloading: 0,
            seeding: 1,
            ..PeerCounts::default()
        })
    );
    let scrape = t.scrape_query(&format!("info_hash={}", enc(h.as_bytes())));
    let files = match decode(&scrape).remove(b"files".as_slice()) {
        Some(Value::Dict(f)) => f,
        other => panic!("files: {other:?}"),
    };
    let stats = match files.get(h.as_bytes().as_slice()) {
        Some(Value::Dict(s)) => s.clone(),
        other => panic!("stats: {other:?}"),
    };
    assert_eq!(stats.get(b"complete".as_slice()), Some(&Value::Int(2)));
    assert_eq!(stats.get(b"downloaded".as_slice()), Some(&Value::Int(1)));
    assert_eq!(stats.get(b"incomplete".as_slice()), Some(&Value::Int(0)));
}

#[test]
fn peers_expire_after_twice_the_interval() {
    let h = InfoHash([9; 20]);
    let t = tracker_with(
        h,
        TrackerSettings {
            interval: Duration::from_millis(100),
            min_interval: Duration::from_millis(50),
            max_peers: 50,
        },
    );
    t.announce_query(&query(&h, 1, 100, ""), LOCAL);
    std::thread::sleep(Duration::from_millis(120));
    assert_eq!(
        t.peer_counts(&h).unwrap().downloading,
        1,
        "still within 2 x interval"
    );
    std::thread::sleep(Duration::from_millis(120));
    assert_eq!(
        t.peer_counts(&h).unwrap().downloading,
        0,
        "expired after 2 x interval"
    );
}

#[test]
fn ipv6_peers_come_back_in_peers6_and_mapped_v4_is_v4() {
    let h = InfoHash([10; 20]);
    let t = tracker_with(h, TrackerSettings::default());
    t.announce_query(&query(&h, 1, 100, ""), Some("fd99::5".parse().unwrap()));
    t.announce_query(
        &query(&h, 2, 100, ""),
        Some("::ffff:10.99.0.7".parse().unwrap()),
    );
    let body = t.announce_query(&query(&h, 3, 100, ""), LOCAL);
    let mut peers = compact_peers(&body);
    peers.sort();
    let mut want: Vec<SocketAddr> = vec![
        SEEDER.parse().unwrap(),
        "10.99.0.7:2".parse().unwrap(),
        "[fd99::5]:1".parse().unwrap(),
    ];
    want.sort();
    assert_eq!(peers, want);
}

#[test]
fn non_compact_reply_lists_dictionaries() {
    let h = InfoHash([11; 20]);
    let t = tracker_with(h, TrackerSettings::default());
    t.announce_query(&query(&h, 1, 100, ""), LOCAL);
    let body = t.announce_query(&query(&h, 2, 100, "&compact=0"), LOCAL);
    match decode(&body).get(b"peers".as_slice()) {
        Some(Value::List(l)) => {
            assert_eq!(l.len(), 2);
            assert!(l.iter().all(|p| matches!(p, Value::Dict(d) if d.contains_key(b"ip".as_slice()) && d.contains_key(b"port".as_slice()))));
        }
        other => panic!("peers: {other:?}"),
    }
}

#[test]
fn unknown_torrents_and_settings_changes() {
    let h = InfoHash([12; 20]);
    let t = tracker_with(h, TrackerSettings::default());
    let reason =
        failure_reason(&t.announce_query(&query(&InfoHash([13; 20]), 1, 1, ""), LOCAL)).unwrap();
    assert!(reason.contains("unknown info_hash"), "{reason}");
    t.set_settings(TrackerSettings {
        interval: Duration::from_secs(120),
        min_interval: Duration::from_secs(60),
        max_peers: 3,
    });
    let body = t.announce_query(&query(&h, 1, 1, ""), LOCAL);
    assert_eq!(int(&body, "interval"), 120);
    assert_eq!(int(&body, "min interval"), 60);
    assert!(t.remove_torrent(&h));
    assert!(failure_reason(&t.announce_query(&query(&h, 1, 1, ""), LOCAL)).is_some());
    assert_eq!(t.peer_counts(&h), None);
}

#[tokio::test]
async fn malformed_http_announces_get_bencoded_failures_not_500() {
    let h = InfoHash([14; 20]);
    let t = tracker_with(h, TrackerSettings::default());
    let (addr, server) = serve(&t).await;
    let client = reqwest::Client::new();
    let id = enc(b"-LU0001-abcdefghijkl");
    let hash = enc(h.as_bytes());
    let cases = [
        (format!("peer_id={id}&port=6881"), "info_hash"),
        (
            format!("info_hash={}&peer_id={id}&port=6881", enc(&[1; 21])),
            "info_hash",
        ),
        (
            format!("info_hash={hash}&peer_id=short&port=6881"),
            "peer_id",
        ),
        (format!("info_hash={hash}&peer_id={id}&port=99999"), "port"),
        (format!("info_hash={hash}&peer_id={id}&port=abc"), "port"),
        (format!("info_hash={hash}&peer_id={id}"), "port"),
        (
            format!("info_hash={hash}&peer_id={id}&port=1&left=-5"),
            "left",
        ),
        ("%%%".to_string(), "info_hash"),
        (String::new(), "info_hash"),
    ];
    for (q, field) in cases {
        let resp = client
            .get(format!("http://{addr}/announce?{q}"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "query {q}");
        let body = resp.bytes().await.unwrap();
        let reason = failure_reason(&body).unwrap_or_else(|| panic!("no failure for {q}"));
        assert!(reason.contains(field), "query {q}: {reason}");
    }
    let ok = client
        .get(format!(
            "http://{addr}/announce?info_hash={hash}&peer_id={id}&port=6881&left=5"
        ))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(failure_reason(&ok), None);
    assert_eq!(
        compact_peers(&ok),
        vec![SEEDER.parse::<SocketAddr>().unwrap()]
    );
    let scrape = client
        .get(format!("http://{addr}/scrape?info_hash=abc"))
        .send()
        .await
        .unwrap();
    assert_eq!(scrape.status(), 200);
    assert!(failure_reason(&scrape.bytes().await.unwrap()).is_some());
    assert_eq!(
        t.peer_counts(&h),
        Some(PeerCounts {
            downloading: 1,
            seeding: 0,
            ..PeerCounts::default()
        })
    );
    server.abort();
}
