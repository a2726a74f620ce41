import AutoPruneNN
import Foundation
import XCTest

/// Batches of an image dataset, normalised.
final class ImageDatasetTests: XCTestCase {
  func testBatchNormalisesPixels() throws {
    let data = ImageDataset(pixels: [0, 255, 51, 102], labels: [1, 2], channels: 1, height: 1, width: 2, classes: 10)
    let norm = Normalization(mean: 0.5, std: 0.5)
    let (x, y) = data.batch([1, 0], normalization: norm)
    XCTAssertEqual(y, [2, 1])
    XCTAssertEqual(x.shape, [2, 1, 1, 2])
    XCTAssertEqual(x.storage[0], 0.2 * 2 - 1, accuracy: 1e-6)
    XCTAssertEqual(x.storage[2], -1, accuracy: 1e-6)
    XCTAssertEqual(x.storage[3], 1, accuracy: 1e-6)
  }
}
