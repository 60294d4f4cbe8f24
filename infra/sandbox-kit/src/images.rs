//! Product images a sandbox serves: real PNGs of a given size, so a connector that
//! downloads and measures images (TikTok needs at least 300×300) sees true pixels.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

/// A grey `width`×`height` PNG (8-bit greyscale), encoded once per size.
pub fn flat_png(width: u32, height: u32) -> Vec<u8> {
    static ENCODED: LazyLock<Mutex<HashMap<(u32, u32), Vec<u8>>>> = LazyLock::new(Default::default);
    let mut encoded = ENCODED.lock().expect("image cache");
    encoded
        .entry((width, height))
        .or_insert_with(|| {
            let mut bytes = Vec::new();
            let mut encoder = png::Encoder::new(&mut bytes, width, height);
            encoder.set_color(png::ColorType::Grayscale);
            encoder.set_depth(png::BitDepth::Eight);
            let mut writer = encoder.write_header().expect("PNG header encodes");
            writer
                .write_image_data(&vec![0xc8; (width * height) as usize])
                .expect("PNG data encodes");
            writer.finish().expect("PNG ends");
            bytes
        })
        .clone()
}
