//! Optional shared-secret authentication for network links (Redis, WebSockets).
//!
//! A sealed message is `{"workbus_sealed":1,"t":<ms>,"mac":"<hex>","msg":"<Pipecat JSON text>"}`
//! where `mac` is HMAC-SHA256(secret, "<t>.<msg>"). Peers with the same secret accept it when the
//! MAC matches and `t` is within the allowed age; anything else is dropped. Python Pipecat does
//! not seal, so a link with a secret talks to workbus peers only.

use super::{to_text, Json};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// HMAC-SHA256 (RFC 2104), by the RustCrypto crates.
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(message);
    mac.finalize().into_bytes().into()
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn signed(t: f64, msg: &str) -> String {
    format!("{}.{msg}", t as i64)
}

fn mac(secret: &str, t: f64, msg: &str) -> String {
    hex(&hmac_sha256(secret.as_bytes(), signed(t, msg).as_bytes()))
}

/// `text` as bytes if it is lowercase hex.
fn unhex(text: &str) -> Option<Vec<u8>> {
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    text.as_bytes().chunks(2).map(|pair| Some(digit(pair[0])? << 4 | digit(*pair.get(1)?)?)).collect()
}

/// Wraps Pipecat JSON text for a link with a secret.
pub fn seal(secret: &str, msg: &str, now_ms: f64) -> String {
    let t = now_ms.floor();
    let sealed = Json::Obj(vec![
        ("workbus_sealed".into(), Json::Num(1.0)),
        ("t".into(), Json::Num(t)),
        ("mac".into(), Json::Str(mac(secret, t, msg))),
        ("msg".into(), Json::Str(msg.to_string())),
    ]);
    to_text(&sealed, &|n| format!("{}", n as i64))
}

/// The message text inside a sealed wrapper, if its MAC matches and it is at most
/// `max_age_ms` old (or ahead of our clock by as much); otherwise why it is refused.
pub fn open(secret: &str, sealed: &Json, now_ms: f64, max_age_ms: f64) -> Result<String, String> {
    let (Some(Json::Num(t)), Some(Json::Str(given)), Some(Json::Str(msg))) = (sealed.get("t"), sealed.get("mac"), sealed.get("msg")) else {
        return Err("unauthenticated message (this link needs a shared secret)".into());
    };
    let mut expected = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    expected.update(signed(*t, msg).as_bytes());
    // In constant time (the crate's comparison).
    let authentic = unhex(given).is_some_and(|given| expected.verify_slice(&given).is_ok());
    if !authentic {
        return Err("message with a wrong authentication code".into());
    }
    if (now_ms - t).abs() > max_age_ms {
        return Err("authenticated message too old (or from a clock too far off)".into());
    }
    Ok(msg.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_the_standard_vectors() {
        // RFC 4231 test cases 1 and 2
        assert_eq!(hex(&hmac_sha256(&[0x0b; 20], b"Hi There")), "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
        assert_eq!(hex(&hmac_sha256(b"Jefe", b"what do ya want for nothing?")), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
        // a key longer than a block is hashed first (RFC 4231 case 6)
        let key = [0xaa; 131];
        assert_eq!(
            hex(&hmac_sha256(&key, b"Test Using Larger Than Block-Size Key - Hash Key First")),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    fn tree(text: &str) -> Json {
        // sealed text is flat: parse it with the test's own tiny reader
        let v: Vec<(String, Json)> = text.trim_matches(|c| c == '{' || c == '}').split(",\"").map(|kv| {
            let (k, v) = kv.split_once("\":").unwrap();
            let k = k.trim_matches('"').to_string();
            let j = if let Some(s) = v.strip_prefix('"') { Json::Str(s.trim_end_matches('"').replace("\\\"", "\"")) } else { Json::Num(v.parse().unwrap()) };
            (k, j)
        }).collect();
        Json::Obj(v)
    }

    #[test]
    fn sealed_messages_open_only_with_the_secret_in_time() {
        let sealed = seal("s3cret", "hello", 1_000_000.0);
        let json = tree(&sealed);
        assert_eq!(open("s3cret", &json, 1_000_500.0, 60_000.0), Ok("hello".into()));
        assert!(open("other", &json, 1_000_500.0, 60_000.0).unwrap_err().contains("wrong authentication"));
        assert!(open("s3cret", &json, 2_000_000.0, 60_000.0).unwrap_err().contains("too old"));
        let mut forged = json.clone();
        if let Json::Obj(f) = &mut forged {
            f[3].1 = Json::Str("tampered".into());
        }
        assert!(open("s3cret", &forged, 1_000_500.0, 60_000.0).is_err());
        assert!(open("s3cret", &Json::Obj(vec![]), 0.0, 1.0).unwrap_err().contains("unauthenticated"));
        // a code that is not lowercase hex of the right length is wrong, never a panic
        let Json::Str(good) = json.get("mac").unwrap().clone() else { panic!() };
        for bad in [good.to_uppercase(), good[1..].to_string(), format!("{good}0"), format!("{}zz", &good[2..]), String::new(), "é".repeat(32)] {
            let mut with = json.clone();
            if let Json::Obj(f) = &mut with {
                f[2].1 = Json::Str(bad.clone());
            }
            assert!(open("s3cret", &with, 1_000_500.0, 60_000.0).unwrap_err().contains("wrong authentication"), "{bad}");
        }
    }
}
