//! Label images saved as PNG: the cellpose GUI writes a field's masks as
//! `NAME_cp_masks.png` (8- or 16-bit grayscale, 0 background, k for cell k) by default.

use std::path::Path;

use crate::error::{Error, Result};
use crate::grid::Image;

/// The first bytes of every PNG file.
pub const SIGNATURE: [u8; 8] = *b"\x89PNG\r\n\x1a\n";

/// True when the file at `path` starts with the PNG signature.
pub fn is_png(path: &Path) -> bool {
    let mut head = [0u8; 8];
    std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut head))
        .is_ok_and(|()| head == SIGNATURE)
}

/// Reads a grayscale PNG (1, 2, 4, 8 or 16 bits) as whole numbers; a colour PNG, or a
/// damaged one, is an error naming the file.
pub fn read_gray(path: &Path) -> Result<Image<u32>> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, "cannot open", e))?;
    let bad = |problem: String| Error::new(path, problem);
    let mut decoder = png::Decoder::new(std::io::BufReader::new(file));
    // Bit depths below 8 are unpacked to one byte per pixel; 16 stays 16.
    decoder.set_transformations(png::Transformations::EXPAND);
    let mut reader = decoder
        .read_info()
        .map_err(|e| bad(format!("corrupt PNG: {e}")))?;
    let mut buf = vec![0; reader.output_buffer_size()];
    let frame = reader
        .next_frame(&mut buf)
        .map_err(|e| bad(format!("corrupt PNG: {e}")))?;
    if frame.color_type != png::ColorType::Grayscale {
        return Err(bad(format!(
            "a {:?} PNG; a label image is one grayscale channel (0 background, k for cell k)",
            frame.color_type
        )));
    }
    let (w, h) = (frame.width as usize, frame.height as usize);
    let bytes = &buf[..frame.buffer_size()];
    let values: Vec<u32> = match frame.bit_depth {
        png::BitDepth::Sixteen => bytes
            .chunks_exact(2)
            .map(|b| u32::from(u16::from_be_bytes([b[0], b[1]])))
            .collect(),
        _ => bytes.iter().map(|&b| u32::from(b)).collect(),
    };
    Image::new([h, w], values).map_err(|e| bad(format!("corrupt PNG: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(
        path: &Path,
        w: u32,
        h: u32,
        depth: png::BitDepth,
        color: png::ColorType,
        data: &[u8],
    ) {
        let file = std::fs::File::create(path).unwrap();
        let mut encoder = png::Encoder::new(file, w, h);
        encoder.set_color(color);
        encoder.set_depth(depth);
        encoder
            .write_header()
            .unwrap()
            .write_image_data(data)
            .unwrap();
    }

    #[test]
    fn grayscale_pngs_of_8_and_16_bits_read_as_labels() {
        let dir = tempfile::tempdir().unwrap();
        let eight = dir.path().join("m8.png");
        write(
            &eight,
            3,
            2,
            png::BitDepth::Eight,
            png::ColorType::Grayscale,
            &[0, 1, 2, 0, 0, 255],
        );
        assert!(is_png(&eight));
        assert_eq!(read_gray(&eight).unwrap().data(), &[0, 1, 2, 0, 0, 255]);
        // 16-bit, big-endian as PNG stores it: 300 and 65535.
        let sixteen = dir.path().join("m16.png");
        write(
            &sixteen,
            2,
            1,
            png::BitDepth::Sixteen,
            png::ColorType::Grayscale,
            &[1, 44, 255, 255],
        );
        let read = read_gray(&sixteen).unwrap();
        assert_eq!((read.shape(), read.data()), ([1, 2], &[300, 65535][..]));
        let rgb = dir.path().join("rgb.png");
        write(
            &rgb,
            1,
            1,
            png::BitDepth::Eight,
            png::ColorType::Rgb,
            &[1, 2, 3],
        );
        let err = read_gray(&rgb).unwrap_err().to_string();
        assert!(err.contains("rgb.png") && err.contains("Rgb PNG"), "{err}");
        let cut = dir.path().join("cut.png");
        std::fs::write(&cut, &std::fs::read(&eight).unwrap()[..20]).unwrap();
        assert!(
            read_gray(&cut)
                .unwrap_err()
                .to_string()
                .contains("corrupt PNG")
        );
        assert!(!is_png(&dir.path().join("none.png")));
    }
}
