//! A real nmap scan (`-sT -sV` with the ssl-cert, http-server-header and http-title scripts)
//! of three fake edge devices this test runs on loopback addresses: a DrayTek-like web
//! interface, a FortiGate-like TLS portal (openssl s_server with a FortiGate-style
//! certificate) and a MikroTik-like host with SSH and telnet banners.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use lasthop_audit::ActionKind;
use lasthop_audit::inventory::Inventory;

use crate::{actions_of, audit, has};

fn tool(name: &str) -> bool {
    let found = Command::new(name).arg("--version").output().is_ok()
        || Command::new(name).arg("version").output().is_ok();
    if !found {
        assert!(std::env::var_os("CI").is_none(), "{name} is needed in CI (apt install {name})");
        eprintln!("skipping: {name} is not installed");
    }
    found
}

/// Serves `respond` to every connection on `address:0`; returns the port.
fn serve(address: &str, respond: fn(&mut std::net::TcpStream)) -> u16 {
    let listener = TcpListener::bind((address, 0)).expect("loopback listener");
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut stream = stream;
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                respond(&mut stream);
            });
        }
    });
    port
}

fn draytek_web(s: &mut std::net::TcpStream) {
    // A web server speaks only when spoken to: answering nmap's silent probe would make the
    // reply look like a banner.
    let mut buf = [0u8; 4096];
    let n = match s.read(&mut buf) {
        Ok(n) if n > 0 => n,
        _ => return,
    };
    let request = String::from_utf8_lossy(&buf[..n]);
    let is_request = ["GET ", "HEAD ", "POST ", "OPTIONS "].iter().any(|m| request.starts_with(m));
    let (status, body) = if is_request {
        ("200 OK", "<html><head><title>Vigor Login Page</title></head><body>login</body></html>")
    } else {
        ("400 Bad Request", "<html><head><title>400 Bad Request</title></head></html>")
    };
    let _ = write!(
        s,
        "HTTP/1.1 {status}\r\nServer: DrayTek/Vigor2960 UPnP/1.0 miniupnpd/1.0\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

fn mikrotik_ssh(s: &mut std::net::TcpStream) {
    let _ = s.write_all(b"SSH-2.0-ROSSSH\r\n");
    let mut buf = [0u8; 1024];
    let _ = s.read(&mut buf);
}

fn mikrotik_telnet(s: &mut std::net::TcpStream) {
    // DO terminal-type, window-size, X-display, new-environ: a telnet server's opening.
    let _ = s.write_all(b"\xff\xfd\x18\xff\xfd\x20\xff\xfd\x23\xff\xfd\x27");
    let mut buf = [0u8; 1024];
    let _ = s.read(&mut buf);
    let _ = s.write_all(b"\r\nMikroTik v6.40.5 (stable)\r\nLogin: ");
    let _ = s.read(&mut buf);
}

/// `openssl s_server` with a certificate shaped like a FortiGate's factory one.
fn fortigate_tls(dir: &Path) -> (Child, u16) {
    let key = dir.join("key.pem");
    let cert = dir.join("cert.pem");
    let made = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj"])
        .arg("/C=US/ST=California/L=Sunnyvale/O=Fortinet/OU=FortiGate/CN=FGT60F0000000001")
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl runs");
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    // A free port: bind, read it, release it for openssl.
    let port = TcpListener::bind(("127.0.0.3", 0)).unwrap().local_addr().unwrap().port();
    let child = Command::new("openssl")
        .args(["s_server", "-quiet", "-www", "-accept"])
        .arg(format!("127.0.0.3:{port}"))
        .arg("-cert")
        .arg(&cert)
        .arg("-key")
        .arg(&key)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("openssl s_server starts");
    // Wait until it listens.
    for _ in 0..50 {
        if std::net::TcpStream::connect(("127.0.0.3", port)).is_ok() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    (child, port)
}

#[test]
fn a_real_nmap_scan_of_loopback_devices_is_identified_and_audited() {
    if !tool("nmap") || !tool("openssl") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let web = serve("127.0.0.2", draytek_web);
    let (mut tls, tls_port) = fortigate_tls(dir.path());
    let ssh = serve("127.0.0.4", mikrotik_ssh);
    let telnet = serve("127.0.0.4", mikrotik_telnet);
    let xml = dir.path().join("scan.xml");
    let ports = format!("{web},{tls_port},{ssh},{telnet}");
    // Only the three loopback addresses this test listens on, only the ports it opened.
    let scan = Command::new("nmap")
        .args(["-n", "-Pn", "-sT", "-sV", "-T4", "--version-intensity", "7", "-p", &ports])
        .args(["--script", "ssl-cert,http-server-header,http-title", "-oX"])
        .arg(&xml)
        .args(["127.0.0.2", "127.0.0.3", "127.0.0.4"])
        .output()
        .expect("nmap runs");
    let _ = tls.kill();
    let _ = tls.wait();
    assert!(scan.status.success(), "{}", String::from_utf8_lossy(&scan.stderr));
    let keep = std::env::var_os("LASTHOP_ARTIFACTS").map(std::path::PathBuf::from);
    if let Some(dir) = keep {
        let _ = std::fs::create_dir_all(&dir);
        let _ = std::fs::copy(&xml, dir.join("nmap-loopback-scan.xml"));
    }

    let mut inventory = Inventory::default();
    inventory.read_file(&xml);
    assert!(inventory.problems.is_empty(), "{:?}", inventory.problems);
    assert_eq!(inventory.devices.len(), 3, "{:#?}", inventory.devices);
    // As if the scan had been made from the internet: these are the devices' WAN faces.
    let reports = audit(&inventory.devices, true);
    let by_address =
        |a: &str| reports.iter().find(|r| r.device.address.as_deref() == Some(a)).unwrap();

    let vigor = by_address("127.0.0.2");
    assert_eq!(vigor.identity.vendor.as_deref(), Some("draytek"), "{:#?}", vigor.identity);
    assert!(vigor.identity.products.iter().any(|p| p == "vigor2960"), "{:#?}", vigor.identity);
    assert_eq!(vigor.identity.class, "router");
    let name = vigor.device.name.clone();
    assert!(
        has(&reports, &name, ActionKind::RestrictManagement),
        "{:?}",
        actions_of(&reports, &name)
    );
    assert!(
        has(&reports, &name, ActionKind::Replace),
        "the Vigor 2960 is past end of life: {:?}",
        actions_of(&reports, &name)
    );

    let forti = by_address("127.0.0.3");
    assert_eq!(forti.identity.vendor.as_deref(), Some("fortinet"), "{:#?}", forti.identity);
    assert!(forti.identity.products.iter().any(|p| p == "fortios"), "{:#?}", forti.identity);
    assert!(
        forti
            .device
            .services
            .iter()
            .any(|s| s.certificate_subject.as_deref().is_some_and(|c| c.contains("OU=FortiGate")))
    );
    let name = forti.device.name.clone();
    let actions = actions_of(&reports, &name);
    assert!(has(&reports, &name, ActionKind::EnableMfa), "{actions:?}");
    // No version from a certificate: FortiOS's known-exploited CVEs are to be checked.
    assert!(actions.iter().any(|a| a == "check version CVE-2018-13379"), "{actions:?}");

    let mikrotik = by_address("127.0.0.4");
    assert_eq!(mikrotik.identity.vendor.as_deref(), Some("mikrotik"), "{:#?}", mikrotik.identity);
    assert!(mikrotik.identity.products.iter().any(|p| p == "routeros"), "{:#?}", mikrotik.identity);
    let name = mikrotik.device.name.clone();
    let actions = actions_of(&reports, &name);
    assert!(actions.iter().any(|a| a == "check version CVE-2018-14847"), "{actions:?}");
    assert!(
        has(&reports, &name, ActionKind::RestrictManagement),
        "SSH on the internet: {actions:?}"
    );
    assert!(
        mikrotik
            .actions
            .iter()
            .any(|a| a.kind == ActionKind::DisableService && a.title.contains("telnet")),
        "{actions:?}"
    );
}
