//! Optional shared-secret authentication for network links (Redis, WebSockets).
//!
//! A sealed message is `{"workbus_sealed":1,"t":<ms>,"mac":"<hex>","msg":"<Pipecat JSON text>"}`
//! where `mac` is HMAC-SHA256(secret, "<t>.<msg>"). Peers with the same secret accept it when the
//! MAC matches and `t` is within the allowed age; anything else is dropped. Python Pipecat does
//! not seal, so a link with a secret talks to workbus peers only.

use super::{to_text, Json};

const K: [u32; 64] = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
    0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
    0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
    0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

/// SHA-256 (FIPS 180-4).
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let mut h: [u32; 8] = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
    let mut padded = data.to_vec();
    padded.push(0x80);
    while padded.len() % 64 != 56 {
        padded.push(0);
    }
    padded.extend_from_slice(&((data.len() as u64) * 8).to_be_bytes());
    for block in padded.chunks(64) {
        let mut w = [0u32; 64];
        for (i, word) in block.chunks(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16].wrapping_add(s0).wrapping_add(w[i - 7]).wrapping_add(s1);
        }
        let mut v = h;
        for i in 0..64 {
            let s1 = v[4].rotate_right(6) ^ v[4].rotate_right(11) ^ v[4].rotate_right(25);
            let ch = (v[4] & v[5]) ^ (!v[4] & v[6]);
            let t1 = v[7].wrapping_add(s1).wrapping_add(ch).wrapping_add(K[i]).wrapping_add(w[i]);
            let s0 = v[0].rotate_right(2) ^ v[0].rotate_right(13) ^ v[0].rotate_right(22);
            let maj = (v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]);
            let t2 = s0.wrapping_add(maj);
            v = [t1.wrapping_add(t2), v[0], v[1], v[2], v[3].wrapping_add(t1), v[4], v[5], v[6]];
        }
        for (x, y) in h.iter_mut().zip(v) {
            *x = x.wrapping_add(y);
        }
    }
    let mut out = [0u8; 32];
    for (i, x) in h.iter().enumerate() {
        out[i * 4..i * 4 + 4].copy_from_slice(&x.to_be_bytes());
    }
    out
}

/// HMAC-SHA256 (RFC 2104).
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..32].copy_from_slice(&sha256(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| k.iter().map(|b| b ^ byte).collect::<Vec<u8>>();
    let mut inner = pad(0x36);
    inner.extend_from_slice(message);
    let mut outer = pad(0x5c);
    outer.extend_from_slice(&sha256(&inner));
    sha256(&outer)
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn mac(secret: &str, t: f64, msg: &str) -> String {
    hex(&hmac_sha256(secret.as_bytes(), format!("{}.{msg}", t as i64).as_bytes()))
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
    let expected = mac(secret, *t, msg);
    let same = expected.len() == given.len() && expected.bytes().zip(given.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0;
    if !same {
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
    fn sha256_and_hmac_match_the_standard_vectors() {
        assert_eq!(hex(&sha256(b"")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        assert_eq!(hex(&sha256(b"abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        let long = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
        assert_eq!(hex(&sha256(long.as_bytes())), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
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
    }
}
