//! Unit tests of `net_guard`: the address ranges, URLs and the allowlist.

use super::*;

/// `None` when `s` is not an IP address, so a typo in a test table fails the test.
fn public(s: &str) -> Option<bool> {
    s.parse().ok().map(is_public)
}

#[test]
fn internal_ipv4_ranges_are_not_public() {
    for ip in [
        "0.0.0.0",
        "0.1.2.3",
        "10.0.0.1",
        "10.255.255.255",
        "100.64.0.1",
        "100.127.255.254",
        "127.0.0.1",
        "127.8.9.10",
        "169.254.169.254",
        "169.254.0.1",
        "172.16.0.1",
        "172.31.255.255",
        "192.0.0.8",
        "192.0.2.1",
        "192.88.99.1",
        "192.168.0.1",
        "198.18.0.1",
        "198.19.255.255",
        "198.51.100.7",
        "203.0.113.9",
        "224.0.0.1",
        "239.255.255.250",
        "240.0.0.1",
        "255.255.255.255",
    ] {
        assert_eq!(public(ip), Some(false), "{ip} must be refused");
    }
}

#[test]
fn public_ipv4_addresses_pass() {
    for ip in [
        "8.8.8.8",
        "142.250.79.10",
        "9.255.255.255",
        "11.0.0.0",
        "100.63.255.255",
        "100.128.0.0",
        "172.15.255.255",
        "172.32.0.0",
        "192.167.255.255",
        "192.169.0.0",
        "198.17.255.255",
        "198.20.0.0",
        "223.255.255.255",
    ] {
        assert_eq!(public(ip), Some(true), "{ip} is public");
    }
}

#[test]
fn internal_ipv6_ranges_and_mapped_forms_are_not_public() {
    for ip in [
        "::",
        "::1",
        "::127.0.0.1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "::ffff:169.254.169.254",
        "::ffff:192.168.1.1",
        "64:ff9b::127.0.0.1",
        "64:ff9b::a9fe:a9fe",
        "64:ff9b:1::1",
        "100::1",
        "fc00::1",
        "fd12:3456::1",
        "fe80::1",
        "febf::1",
        "fec0::1",
        "ff02::1",
        "ff0e::1",
        "2001:db8::1",
        "2001::1",
        "2002:7f00:1::1",
        "3fff::1",
    ] {
        assert_eq!(public(ip), Some(false), "{ip} must be refused");
    }
}

#[test]
fn public_ipv6_addresses_pass() {
    for ip in [
        "2800:3f0:4001:80e::200a",
        "2a00:1450:4001:82a::200a",
        "2606:4700::1111",
        "::ffff:8.8.8.8",
        "64:ff9b::808:808",
    ] {
        assert_eq!(public(ip), Some(true), "{ip} is public");
    }
}

fn strict(hosts: &[&str]) -> Policy {
    Policy {
        allow_insecure: false,
        allowed_hosts: hosts.iter().map(|h| h.to_string()).collect(),
    }
}

#[test]
fn urls_need_https_a_host_and_no_credentials() {
    let p = strict(&[]);
    assert_eq!(p.check_url("no url").err(), Some(Refusal::NotUrl));
    assert_eq!(
        p.check_url("http://fcm.googleapis.com/x").err(),
        Some(Refusal::NotHttps)
    );
    assert_eq!(
        p.check_url("ftp://a.example/").err(),
        Some(Refusal::NotHttps)
    );
    assert_eq!(
        p.check_url("https://u:p@fcm.googleapis.com/x").err(),
        Some(Refusal::Credentials)
    );
    assert!(p
        .check_url("https://fcm.googleapis.com/fcm/send/abc")
        .is_ok());
}

#[test]
fn ip_literals_in_any_spelling_are_checked() {
    let p = strict(&[]);
    for url in [
        "https://127.0.0.1/",
        "https://2130706433/",
        "https://0x7f.1/",
        "https://017700000001/",
        "https://[::1]:8443/",
        "https://[::ffff:169.254.169.254]/",
        "https://169.254.169.254/latest/meta-data",
        "https://10.0.0.1/",
    ] {
        assert!(
            matches!(p.check_url(url), Err(Refusal::NotPublic(_))),
            "{url} must be refused"
        );
    }
    assert!(p.check_url("https://8.8.8.8/").is_ok());
}

#[test]
fn the_allowlist_matches_hosts_and_their_subdomains() {
    let p = strict(&[
        "fcm.googleapis.com",
        "*.notify.windows.com",
        ".push.apple.com",
    ]);
    for ok in [
        "https://fcm.googleapis.com/fcm/send/x",
        "https://FCM.googleapis.com./fcm/send/x",
        "https://wns2-bn3p.notify.windows.com/w/?token=x",
        "https://web.push.apple.com/x",
    ] {
        assert!(p.check_url(ok).is_ok(), "{ok} is allowed");
    }
    for no in [
        "https://evilfcm.googleapis.com/x",
        "https://fcm.googleapis.com.evil.example/x",
        "https://notify.windows.com.evil.example/x",
        "https://8.8.8.8/x",
    ] {
        assert!(
            matches!(p.check_url(no), Err(Refusal::NotAllowed(_))),
            "{no} is outside the allowlist"
        );
    }
}

#[test]
fn the_insecure_test_setting_lets_loopback_http_through() {
    let p = Policy {
        allow_insecure: true,
        allowed_hosts: vec![],
    };
    assert!(p.check_url("http://127.0.0.1:8080/push/1").is_ok());
}

#[tokio::test]
async fn a_name_resolving_to_loopback_is_refused() -> Result<(), Box<dyn std::error::Error>> {
    let refused = strict(&[]).check_endpoint("https://localhost/push").await;
    assert!(matches!(refused, Err(Refusal::NotPublic(_))), "{refused:?}");
    let addrs = PublicOnly.resolve("localhost".parse()?).await;
    assert!(
        addrs.is_err(),
        "the resolver gives no address for localhost"
    );
    Ok(())
}
