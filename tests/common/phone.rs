//! The authnzd app on a phone, as the tests play it: a device key
//! (`device_keys`) registered through the browser-confirmed enrolment,
//! approving the login challenges it reads off a QR code.

use serde_json::{Value, json};

use super::TestServer;
use super::device_keys::{Device, register};

/// A phone's device key and its key id.
pub struct Phone {
    device: Device,
    pub key_id: String,
}

impl Phone {
    /// A phone with a key not registered anywhere yet.
    pub fn unregistered() -> Phone {
        Phone {
            device: Device::new(),
            key_id: String::new(),
        }
    }

    /// Registers its key with the challenge of a QR code's `payload`, as
    /// the app does after scanning it: the key, pending the browser's
    /// confirmation (its id and fingerprint).
    pub async fn register_from(&mut self, s: &TestServer, payload: &str, label: &str) -> Value {
        let c: Value = serde_json::from_str(payload).expect("a JSON payload");
        assert_eq!(c["purpose"], "register", "{c}");
        let made = s
            .ok(
                "pubkey-register",
                json!({"challenge_id": c["challenge_id"],
                       "public_key": self.device.public_key(),
                       "signature": self.device.sign("register", &c),
                       "label": label}),
            )
            .await;
        made["key_id"]
            .as_str()
            .expect("key_id")
            .clone_into(&mut self.key_id);
        made
    }

    /// Approves the login challenge of a QR code's `payload` (JSON).
    pub async fn approve(&self, s: &TestServer, payload: &str) -> Value {
        let c: Value = serde_json::from_str(payload).expect("a JSON payload");
        assert_eq!(c["purpose"], "login", "{c}");
        let signature = self.device.sign("login", &c);
        s.ok(
            "pubkey-login",
            json!({"challenge_id": c["challenge_id"], "key_id": self.key_id,
                   "signature": signature}),
        )
        .await
    }
}

impl TestServer {
    /// A phone key registered for `email` (password `PW`).
    pub async fn with_phone(&self, email: &str) -> Phone {
        let device = Device::new();
        let key_id = register(self, email, &device, "phone").await;
        Phone { device, key_id }
    }
}

/// The text of the one QR code in a PNG (a screenshot, as a phone's camera
/// would see the screen).
pub fn read_qr(png: &std::path::Path) -> String {
    let img = image::open(png).expect("a PNG").to_luma8();
    let mut prepared = rqrr::PreparedImage::prepare(img);
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code in {}", png.display());
    grids[0].decode().expect("the QR code decodes").1
}

/// The text of the QR code drawn as inline SVG in `html` (the markup the
/// page shows: one path of `M{x} {y}h{w}v{h}…` dark rectangles), read by
/// painting it and decoding the picture.
pub fn read_svg_qr(html: &str) -> String {
    let svg = &html[html.find("<svg").expect("an inline SVG")..];
    let number = |after: &str| -> u32 {
        let at = svg.find(after).expect(after) + after.len();
        svg[at..]
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .and_then(|n| n.parse().ok())
            .expect("a number")
    };
    let (w, h) = (number("width=\""), number("height=\""));
    let mut img = image::GrayImage::from_pixel(w, h, image::Luma([255]));
    let d = &svg[svg.find(" d=\"").expect("a path") + 4..];
    let d = &d[..d.find('"').expect("the path's end")];
    for rect in d.split('M').filter(|r| !r.is_empty()) {
        let n: Vec<u32> = rect
            .split(|c: char| !c.is_ascii_digit())
            .filter(|s| !s.is_empty())
            .map(|s| s.parse().expect("a coordinate"))
            .collect();
        let (x, y, rw, rh) = (n[0], n[1], n[2], n[3]);
        for py in y..(y + rh).min(h) {
            for px in x..(x + rw).min(w) {
                img.put_pixel(px, py, image::Luma([0]));
            }
        }
    }
    let mut prepared = rqrr::PreparedImage::prepare(img);
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code");
    grids[0].decode().expect("the QR code decodes").1
}
