import AutoPruneNN

/// IDX (plain and gzip) and CIFAR-10 batch seeds: small valid files, then the hostile cases
/// issue 18 names (truncated, wrong magic, huge declared sizes, streams that inflate far past
/// what the header declares).
enum DataSeeds {
  static func idx(_ seeds: Seeds) throws {
    let images = IDXArray(shape: [2, 3, 3], bytes: (0..<18).map { UInt8($0 * 14) }).encoded()
    let labels = IDXArray(shape: [5], bytes: [0, 1, 9, 3, 4]).encoded()
    try seeds.write("images-2x3x3.idx", images)
    try seeds.write("labels-5.idx", labels)
    try seeds.write("images-2x3x3.idx.gz", try gzip(images))
    try seeds.write("labels-5.idx.gz", try gzip(labels))
    try seeds.write("empty-dimension.idx", IDXArray(shape: [0, 28, 28], bytes: []).encoded())
    try seeds.write("four-dimensions.idx", IDXArray(shape: [1, 1, 2, 2], bytes: [1, 2, 3, 4]).encoded())
    // Hostile.
    try seeds.write("truncated.idx", Array(images.dropLast(5)))
    try seeds.write("truncated-header.idx", Array(images.prefix(9)))
    try seeds.write("wrong-magic.idx", [0x50, 0x4b, 0x03, 0x04] + images.dropFirst(4))
    try seeds.write("wrong-type-float.idx", [0, 0, 0x0d, 3] + images.dropFirst(4))
    try seeds.write("huge-dimensions.idx", [0, 0, 8, 3] + [UInt8](repeating: 0xff, count: 12) + [1, 2, 3])
    try seeds.write("labels-out-of-range.idx", IDXArray(shape: [3], bytes: [0, 10, 255]).encoded())
    let declaredLarge = IDXArray(shape: [60_000, 28, 28], bytes: []).encoded() + [1, 2, 3]
    try seeds.write("declares-60000-images.idx.gz", try gzip(declaredLarge))
    // Declares 16 bytes, inflates to 8 MiB: a bomb the declared size must stop.
    try seeds.write(
      "bomb-8MiB.idx.gz", try gzip(IDXArray(shape: [16], bytes: []).encoded() + [UInt8](repeating: 0, count: 8 << 20)))
    let gz = try gzip(images)
    try seeds.write("gzip-truncated.idx.gz", Array(gz.dropLast(12)))
    try seeds.write("gzip-bad-crc.idx.gz", flipping(gz, at: -8))
    try seeds.write("gzip-header-only.idx.gz", Array(gz.prefix(10)))
    try seeds.write("gzip-two-members.idx.gz", gz + gz)
  }

  static func cifar(_ seeds: Seeds) throws {
    func record(label: UInt8) -> [UInt8] { [label] + (0..<(CIFAR10Format.recordSize - 1)).map { UInt8($0 % 251) } }
    let one = record(label: 6)
    try seeds.write("one-record.bin", one)
    try seeds.write("two-records.bin", record(label: 0) + record(label: 9))
    try seeds.write("one-record.bin.gz", try gzip(one))
    // Hostile.
    try seeds.write("label-10.bin", record(label: 10))
    try seeds.write("empty.bin", [])
    try seeds.write("short-record.bin", Array(one.dropLast()))
    try seeds.write("record-and-a-byte.bin", one + [0])
    try seeds.write("gzip-truncated.bin.gz", Array(try gzip(one).dropLast(10)))
    // 1 MiB of zeros in 1 KB of gzip: within deflate's ratio, not a whole number of records
    // (larger would slow every run that mutates it: 16 MiB takes 60 ms to inflate).
    try seeds.write("gzip-1MiB-zeros.bin.gz", try gzip([UInt8](repeating: 0, count: 1 << 20)))
  }
}
