import AutoPruneKernels
import XCTest

/// `Im2Col.lower` against its definition, entry by entry, over the geometries its fast paths
/// split on: with and without padding (the zero-bordered scratch plane), strides 1–3, output
/// widths 1–9 (the vector copies of widths 2, 4 and 8 and the loop for the others), square and
/// rectangular images, and batches split over threads.
final class Im2ColTests: XCTestCase {
  func testLoweringMatchesTheDefinition() {
    let cases: [(c: Int, h: Int, w: Int, k: Int, s: Int, p: Int, n: Int)] = [
      (3, 4, 4, 3, 1, 1, 5), (2, 2, 2, 3, 1, 1, 4), (1, 8, 8, 3, 1, 1, 2), (2, 5, 7, 3, 1, 0, 3), (4, 1, 1, 3, 1, 1, 2),
      (2, 6, 9, 5, 1, 2, 3), (3, 9, 6, 3, 2, 1, 2), (1, 7, 7, 1, 3, 0, 1), (2, 3, 10, 2, 1, 3, 2), (5, 16, 16, 3, 1, 1, 3),
    ]
    for t in cases {
      let g = ConvGeometry(channels: t.c, height: t.h, width: t.w, kernelHeight: t.k, kernelWidth: t.k, stride: t.s, padding: t.p)
      let images = (0..<(t.n * t.c * t.h * t.w)).map { Float($0 % 97) + 1 }
      let positions = g.outputPositions
      var cols = [Float](repeating: -1, count: g.patchSize * t.n * positions)
      images.withUnsafeBufferPointer { x in
        cols.withUnsafeMutableBufferPointer { Im2Col.lower(x.baseAddress!, batch: t.n, geometry: g, into: $0.baseAddress!) }
      }
      var wrong = 0
      for n in 0..<t.n { for c in 0..<t.c { for ky in 0..<t.k { for kx in 0..<t.k {
        for oy in 0..<g.outputHeight { for ox in 0..<g.outputWidth {
          let iy = oy * t.s - t.p + ky, ix = ox * t.s - t.p + kx
          let inside = iy >= 0 && iy < t.h && ix >= 0 && ix < t.w
          let expected = inside ? images[((n * t.c + c) * t.h + iy) * t.w + ix] : 0
          let row = (c * t.k + ky) * t.k + kx
          if cols[row * t.n * positions + n * positions + oy * g.outputWidth + ox] != expected { wrong += 1 }
        } }
      } } } }
      XCTAssertEqual(wrong, 0, "entries wrong for \(t)")
    }
  }
}
