import AutoPruneNN

/// PNG and JPEG seeds: grey and colour, tiny and odd-sized, and (where libturbojpeg is
/// installed) a colour and a grey JPEG.
enum ImageSeeds {
  static func write(_ seeds: Seeds) throws {
    for (name, w, h, c) in [("grey-5x3", 5, 3, 1), ("rgb-7x4", 7, 4, 3), ("rgb-1x1", 1, 1, 3), ("grey-33x2", 33, 2, 1)] {
      let image = DecodedImage(width: w, height: h, channels: c, pixels: (0..<(w * h * c)).map { UInt8(($0 * 53) % 256) })
      try seeds.write("\(name).png", PNGEncoder.encode(image))
      if let jpeg = TurboJPEG.shared, w > 1 { try seeds.write("\(name).jpg", jpeg.encode(image, quality: 80)) }
    }
  }
}
